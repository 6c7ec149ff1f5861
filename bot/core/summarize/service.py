"""Summaries for stored stories: find the ones lacking one, summarize, store — plus the wiring.

``SummaryService.run_pending`` is meant to be called periodically (after each ingest pass or on
a timer). Each call handles one bounded batch, so a large backlog is worked off over several
ticks instead of holding the scheduler. A summary is stored per (story, content hash): a story
is summarized once, and again only when its text changes.

Imported as ``bot.core.summarize.service`` (not re-exported by the package): it depends on
``bot.storage``, which itself imports the package's types, and a re-export would make that a
circular import.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.models import FetchResult
from bot.core.summarize.extractive import ExtractiveSummarizer
from bot.core.summarize.llm import FALLBACK_REASONS, LLMConfig, LLMStats, LLMSummarizer
from bot.core.summarize.teaser import PageFetcher, TeaserConfig, TeaserExpander
from bot.core.summarize.types import Summarizer, SummaryInput
from bot.storage import summaries_repo as repo

log = logging.getLogger(__name__)

METHODS = ("extractive", "llm")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServiceStats:
    """What ``run_pending`` did since start (for logs and metrics)."""

    runs: int = 0
    stored: int = 0
    failed: int = 0
    stale: int = 0  # the story's text changed (or it was deleted) while being summarized


@dataclass(frozen=True, slots=True)
class LLMCounters:
    """LLM counters shaped for the Prometheus metrics ``techbrief_llm_tokens{kind}`` and
    ``techbrief_llm_calls{outcome}``.

    ``calls`` outcomes: ``success`` and the failure reasons ``timeout``, ``http_error``,
    ``invalid_json``, ``invalid_shape`` are requests actually sent; ``cache_hit`` and
    ``budget`` are stories answered without a request (from the cache; budget spent).
    """

    tokens: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)


def llm_counters(snapshot: Mapping[str, int]) -> LLMCounters:
    """``LLMStats.snapshot()`` as metric label -> cumulative value."""
    calls = {"success": snapshot.get("successes", 0), "cache_hit": snapshot.get("cache_hits", 0)}
    for reason in FALLBACK_REASONS:
        calls[reason] = snapshot.get(f"fallback_{reason}", 0)
    return LLMCounters(
        tokens={
            "prompt": snapshot.get("prompt_tokens", 0),
            "completion": snapshot.get("completion_tokens", 0),
        },
        calls=calls,
    )


class SummaryService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        summarizer: Summarizer,
        teaser: TeaserExpander | None = None,
        *,
        batch: int = 50,
        concurrency: int = 4,
        retry_after: timedelta = timedelta(hours=1),
        max_age: timedelta | None = None,
        clock: Callable[[], datetime] = _utc_now,
        llm_stats: LLMStats | None = None,
    ) -> None:
        """``max_age``: only stories first seen within this window (None: every story), so an
        old archive is not backfilled; ``retry_after``: how long a story that failed is left
        alone, so a story that always fails cannot take a place in every batch."""
        if batch < 1 or concurrency < 1:
            raise ValueError("batch and concurrency must be >= 1")
        self._sessions = sessions
        self.summarizer = summarizer
        self.teaser = teaser
        self._batch = batch
        self._concurrency = concurrency
        self._retry_after = retry_after
        self._max_age = max_age
        self._clock = clock
        if llm_stats is None and isinstance(summarizer, LLMSummarizer):
            llm_stats = summarizer.stats
        self._llm_stats = llm_stats
        self._published = LLMCounters()
        self._backoff: dict[int, datetime] = {}  # story id -> retry not before
        self._lock = asyncio.Lock()
        self.stats = ServiceStats()

    async def run_pending(self) -> int:
        """Summarize one batch of stories lacking a summary; returns how many were stored.

        Overlapping calls (a slow tick meeting the next one) return 0 at once instead of
        summarizing — and possibly paying for — the same stories twice.
        """
        if self._lock.locked():
            return 0
        async with self._lock:
            self.stats.runs += 1
            now = self._clock()
            self._backoff = {sid: t for sid, t in self._backoff.items() if t > now}
            seen_after = now - self._max_age if self._max_age is not None else None
            async with self._sessions() as s:
                pending = await repo.stories_needing_summary(
                    s, limit=self._batch, skip_ids=self._backoff.keys(), seen_after=seen_after
                )
            if not pending:
                return 0
            gate = asyncio.Semaphore(self._concurrency)

            async def one(story: repo.PendingStory) -> bool:
                async with gate:
                    return await self._summarize_one(story)

            done = await asyncio.gather(*(one(p) for p in pending))
            return sum(done)

    async def _summarize_one(self, story: repo.PendingStory) -> bool:
        try:
            source = SummaryInput(
                title=story.title,
                text=story.text,
                url=story.url,
                language=story.language,
                kind=story.kind,
            )
            if self.teaser is not None:
                source = await self.teaser.expand(source)  # never raises: keeps the feed text
            summary = await self.summarizer.summarize(source)
            async with self._sessions.begin() as s:
                current = await repo.store_summary(
                    s,
                    story_id=story.id,
                    content_hash=story.content_hash,
                    method=summary.method,
                    data=summary.to_dict(),
                    now=self._clock(),
                )
        except IntegrityError:
            # The story was pruned while we worked on it: nothing to store, nothing to retry.
            self.stats.stale += 1
            log.debug("story %s vanished before its summary was stored", story.id)
            return False
        except Exception:  # one bad story must not stop the batch; back off from it instead
            self.stats.failed += 1
            self._backoff[story.id] = self._clock() + self._retry_after
            log.warning("summarizing story %s failed", story.id, exc_info=True)
            return False
        if not current:
            self.stats.stale += 1  # its text changed meanwhile; the next run takes the new one
            return False
        self.stats.stored += 1
        return True

    # -- metrics ---------------------------------------------------------------------------

    def llm_stats_snapshot(self) -> dict[str, int] | None:
        """``LLMStats.snapshot()`` (cumulative), or None when summaries are extractive."""
        return self._llm_stats.snapshot() if self._llm_stats is not None else None

    def llm_counter_increments(self) -> LLMCounters:
        """What the LLM counters grew by since the previous call (empty when not using one).

        Prometheus ``Counter``s only go up by increments; this keeps the last published values
        so the caller can ``.inc()`` by exactly the difference. Call it from one place only.
        """
        snapshot = self.llm_stats_snapshot()
        if snapshot is None:
            return LLMCounters()
        now = llm_counters(snapshot)
        before = self._published
        self._published = now
        return LLMCounters(
            tokens={k: v - before.tokens.get(k, 0) for k, v in now.tokens.items()},
            calls={k: v - before.calls.get(k, 0) for k, v in now.calls.items()},
        )


# -- composition -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SummaryServiceConfig:
    """Plain values for :func:`build_summary_service` (mirrors the ``[summary]`` settings)."""

    method: str = "extractive"  # "extractive" | "llm"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)  # never in logs or reprs
    llm_timeout_s: float = 30.0
    llm_daily_token_budget: int = 200_000
    teaser_fetch: bool = True
    teaser_min_words: int = 120
    teaser_daily_budget: int = 500
    batch: int = 50
    concurrency: int = 4
    max_age: timedelta | None = None


def build_summary_service(
    config: SummaryServiceConfig,
    *,
    sessions: async_sessionmaker[AsyncSession],
    http: aiohttp.ClientSession | None = None,
    page_fetcher: PageFetcher | None = None,
    executor: Executor | None = None,
    clock: Callable[[], datetime] = _utc_now,
) -> SummaryService:
    """The service as configured: database-backed cache and budgets, optional LLM and teaser.

    Misconfiguration fails here, at startup, rather than as a silent fallback later: "llm"
    needs a base URL, a model and an aiohttp session; teaser fetching needs a page fetcher
    (wire the SSRF-guarded one, e.g. ``page_bytes(fetcher.fetch_page)``).
    """
    if config.method not in METHODS:
        raise ValueError(f"summary method must be one of {METHODS}, not {config.method!r}")
    extractive = ExtractiveSummarizer(executor=executor)
    summarizer: Summarizer = extractive
    llm_stats: LLMStats | None = None
    if config.method == "llm":
        if not config.llm_base_url or not config.llm_model:
            raise ValueError("summary method 'llm' needs llm_base_url and llm_model")
        if http is None:
            raise ValueError("summary method 'llm' needs an aiohttp session")
        llm = LLMSummarizer(
            http,
            LLMConfig(
                base_url=config.llm_base_url,
                model=config.llm_model,
                api_key=config.llm_api_key or None,
                timeout=config.llm_timeout_s,
            ),
            fallback=extractive,
            budget=repo.DbDailyBudget(
                sessions, repo.LLM_TOKENS, config.llm_daily_token_budget, clock=clock
            ),
            cache=repo.DbSummaryCache(sessions, clock=clock),
        )
        summarizer, llm_stats = llm, llm.stats
    teaser: TeaserExpander | None = None
    if config.teaser_fetch:
        if page_fetcher is None:
            raise ValueError("teaser_fetch needs a page fetcher (or set teaser_fetch = false)")
        teaser = TeaserExpander(
            page_fetcher,
            TeaserConfig(min_words=config.teaser_min_words),
            budget=repo.DbDailyBudget(
                sessions, repo.TEASER_PAGES, config.teaser_daily_budget, clock=clock
            ),
            executor=executor,
        )
    return SummaryService(
        sessions,
        summarizer,
        teaser,
        batch=config.batch,
        concurrency=config.concurrency,
        max_age=config.max_age,
        clock=clock,
        llm_stats=llm_stats,
    )


def page_bytes(fetch_page: Callable[[str], Awaitable[FetchResult]]) -> PageFetcher:
    """Adapt ``Fetcher.fetch_page`` (a ``FetchResult``) to the teaser's bytes-returning fetcher.

    Non-2xx answers already raise ``HTTPStatusError`` there, which the teaser's robots.txt
    handling relies on; a result without a body is an empty page.
    """

    async def fetch(url: str) -> bytes:
        result = await fetch_page(url)
        return result.body or b""

    return fetch
