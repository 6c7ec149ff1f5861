"""One poll cycle: lease due feeds -> fetch -> parse (worker processes) -> store -> schedule.

Discord-free and settings-free: the composition root (bot/runtime/ingest.py) builds it. A
broken feed never stops the others (invariant 12): every feed runs in its own try/except and
ends as one :class:`FeedOutcome`. Concurrency is bounded by the fetcher's limits; database
writes go through a small gate (one writer on SQLite, where writers queue anyway and busy-wait
loops would only burn CPU).

Fetch state is written back in groups (one transaction per ~100 feeds, leases released with
it), so a warm cycle over 1,000 unchanged feeds costs a handful of commits, not 1,000. Stories
are written the same way, by the group commit of ``story_writer.StoryWriter``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.core.errors import (
    BackpressureError,
    FetchError,
    HTTPStatusError,
    ParseError,
)
from bot.core.ingest.fetcher import Fetcher
from bot.core.ingest.parser import ParseOutcome
from bot.core.ingest.schedule import (
    WEEK,
    ScheduleLimits,
    Uniform,
    after_backpressure,
    after_failure,
    after_success,
    is_gone,
    posts_last_week,
)
from bot.core.ingest.source_name import display_name, is_host_name
from bot.core.ingest.story_writer import StoryWriter
from bot.core.ingest.types import FeedRow, FeedState
from bot.core.models import FetchResult
from bot.storage.feeds_repo import FeedsRepository
from bot.storage.stories_repo import Document, StoreResult, StoriesRepository

log = logging.getLogger(__name__)

# Outcome kinds, also the `result` label of the feeds_polled metric.
NEW, UPDATED, UNCHANGED, NOT_MODIFIED = "new", "updated", "unchanged", "not_modified"
FAILED, BACKPRESSURE, GONE = "failed", "backpressure", "gone"
_FLUSH_EVERY = 100


def utc_now() -> datetime:
    return datetime.now(UTC)


class IngestMetrics(Protocol):
    """What the refresher reports; the runtime adapts it to Prometheus counters."""

    def feed_polled(self, result: str) -> None: ...
    def feed_failed(self) -> None: ...
    def stories_stored(self, kind: str, count: int) -> None: ...


class NullMetrics:
    def feed_polled(self, result: str) -> None:
        return None

    def feed_failed(self) -> None:
        return None

    def stories_stored(self, kind: str, count: int) -> None:
        return None


class Parser(Protocol):
    """``ParserPool`` (or anything with its ``parse``)."""

    async def parse(
        self,
        body: bytes,
        headers: dict[str, str],
        url: str,
        fetched_at: datetime,
        *,
        keep_entries: bool = False,
        with_search: bool = False,
        unusable: frozenset[str] = frozenset(),
    ) -> ParseOutcome: ...


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    feed_id: int
    key: str
    url: str
    result: str  # NEW | UPDATED | UNCHANGED | NOT_MODIFIED | FAILED | BACKPRESSURE | GONE
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    new_ids: tuple[int, ...] = ()
    status: int | None = None
    error: str | None = None
    next_check_at: datetime | None = None

    @property
    def failed(self) -> bool:
        return self.result in (FAILED, GONE)


@dataclass
class CycleReport:
    started_at: datetime
    finished_at: datetime | None = None
    outcomes: list[FeedOutcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def polled(self) -> int:
        return len(self.outcomes)

    @property
    def stories_new(self) -> int:
        return sum(o.new for o in self.outcomes)

    @property
    def stories_updated(self) -> int:
        return sum(o.updated for o in self.outcomes)

    @property
    def stories_unchanged(self) -> int:
        return sum(o.unchanged for o in self.outcomes)

    @property
    def new_story_ids(self) -> list[int]:
        return sorted(i for o in self.outcomes for i in o.new_ids)

    @property
    def failures(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.failed]


@dataclass(frozen=True, slots=True)
class _Draft:
    """A feed's state to record; ``rate_pending``: the schedule needs the stored post count."""

    state: FeedState
    rate_pending: bool = False
    max_age: float | None = None


OnLeased = Callable[[int], None]
OnDone = Callable[[FeedOutcome], None]


def success_state(
    feed_id: int,
    now: datetime,
    result: FetchResult,
    parsed: ParseOutcome,
    *,
    limits: ScheduleLimits,
    rng: Uniform,
) -> FeedState:
    """A feed's state after a good fetch and parse: validators kept, next check scheduled."""
    # Undated items get fetched_at as their date; they say nothing about posting rate.
    dates = [s.published_at for s in parsed.stories if s.published_at < now]
    return FeedState(
        feed_id=feed_id,
        checked_at=now,
        next_check_at=after_success(
            now,
            posts=posts_last_week(dates, now),
            ttl_minutes=parsed.feed.ttl_minutes,
            max_age=result.max_age,
            limits=limits,
            rng=rng,
        ),
        status=result.status,
        ok=True,
        etag=result.etag,
        last_modified=result.last_modified,
        body_hash=result.body_hash,
        validators=True,
        unusable_key_kinds=parsed.unusable_key_kinds,
        final_url=result.final_url,
    )


class Refresher:
    def __init__(
        self,
        feeds: FeedsRepository,
        stories: StoriesRepository,
        fetcher: Fetcher,
        parser: Parser,
        *,
        clock: Callable[[], datetime] = utc_now,
        limits: ScheduleLimits = ScheduleLimits(),
        rng: Uniform | None = None,
        lease_seconds: float = 300.0,
        batch_size: int = 500,
        concurrency: int | None = None,
        db_writers: int = 1,
        metrics: IngestMetrics | None = None,
        startup: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """``startup`` runs once before the first cycle (catalog sync at start-up)."""
        self.feeds = feeds
        self.stories = stories
        self.fetcher = fetcher
        self.parser = parser
        self.clock = clock
        self.limits = limits
        self.rng: Uniform = rng or random.Random()
        self.lease_for = timedelta(seconds=lease_seconds)
        self.batch_size = batch_size
        self.concurrency = concurrency or fetcher.policy.max_concurrency
        self.metrics: IngestMetrics = metrics or NullMetrics()
        self._writes = asyncio.Semaphore(db_writers)
        # Polls that may still hand a document to the story writer (fetching or parsing).
        self._polling = 0
        self._writer = StoryWriter(stories, self._writes, busy=lambda: self._polling > 0)
        self._startup = startup
        self._started = False
        self._start_lock = asyncio.Lock()
        self._stopping = False
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Idempotent: run the start-up hook and open the fetcher (first cycle does it too)."""
        async with self._start_lock:
            if self._started:
                return
            await self.fetcher.start()
            start_parser = getattr(self.parser, "start", None)
            if start_parser is not None:
                await start_parser()
            if self._startup is not None:
                await self._startup()
            self._started = True

    async def drain(self) -> None:
        """Stop starting feeds; in-flight ones finish (the rest keep their next_check_at)."""
        self._stopping = True
        await self._idle.wait()

    # -- cycles -------------------------------------------------------------------------------

    async def run_due(
        self,
        owner: str,
        *,
        force: bool = False,
        feed_ids: Sequence[int] | None = None,
        on_leased: OnLeased | None = None,
        on_done: OnDone | None = None,
    ) -> CycleReport:
        """Poll every due feed (``force``: every active feed; ``feed_ids``: just those)."""
        await self.start()
        report = CycleReport(started_at=self.clock())
        self._running += 1
        self._idle.clear()
        try:
            one_batch = force or feed_ids is not None
            while not self._stopping:
                leased = await self.feeds.lease_due(
                    owner,
                    self.clock(),
                    lease_for=self.lease_for,
                    limit=None if one_batch else self.batch_size,
                    force=force,
                    feed_ids=feed_ids,
                )
                if not leased:
                    break
                if on_leased is not None:
                    on_leased(len(leased))
                report.outcomes.extend(await self._run_batch(owner, leased, on_done))
                if one_batch or len(leased) < self.batch_size:
                    break
        finally:
            self._running -= 1
            if not self._running:
                self._idle.set()
        report.finished_at = self.clock()
        return report

    async def refresh(self, feed: FeedRow, *, owner: str = "refresh") -> FeedOutcome | None:
        """Poll one feed now, due or not; None when another worker holds its lease."""
        report = await self.run_due(owner, feed_ids=[feed.id])
        return report.outcomes[0] if report.outcomes else None

    async def _run_batch(
        self, owner: str, leased: list[FeedRow], on_done: OnDone | None
    ) -> list[FeedOutcome]:
        gate = asyncio.Semaphore(self.concurrency)
        pending: list[tuple[FeedOutcome, _Draft]] = []
        outcomes: list[FeedOutcome] = []
        skipped: list[int] = []
        flush_lock = asyncio.Lock()

        async def flush() -> None:
            async with flush_lock:
                batch = pending[:]
                del pending[:]
                outcomes.extend(await self._record(batch))

        async def one(feed: FeedRow) -> None:
            async with gate:
                if self._stopping:
                    skipped.append(feed.id)
                    return
                outcome, draft = await self._poll(feed)
            pending.append((outcome, draft))
            if on_done is not None:
                on_done(outcome)
            if len(pending) >= _FLUSH_EVERY:
                await flush()

        await asyncio.gather(*(one(f) for f in leased))
        await flush()
        if skipped:
            await self.feeds.release(owner, skipped)
        return outcomes

    async def _record(self, batch: list[tuple[FeedOutcome, _Draft]]) -> list[FeedOutcome]:
        """Finish the schedules that need stored post counts, then write all states at once."""
        if not batch:
            return []
        need = [o.feed_id for o, d in batch if d.rate_pending]
        now = self.clock()
        counts = await self.feeds.recent_post_counts(need, now - WEEK) if need else {}
        states: list[FeedState] = []
        done: list[FeedOutcome] = []
        for outcome, draft in batch:
            state = draft.state
            if draft.rate_pending:
                next_at = after_success(
                    state.checked_at,
                    posts=counts.get(outcome.feed_id, 0),
                    max_age=draft.max_age,
                    limits=self.limits,
                    rng=self.rng,
                )
                state = replace(state, next_check_at=next_at)
                outcome = replace(outcome, next_check_at=next_at)
            states.append(state)
            done.append(outcome)
        try:
            async with self._writes:
                await self.feeds.record(states)
        except Exception:
            # Leases expire on their own; the next cycle simply polls these feeds again.
            log.exception("could not record fetch state", extra={"feeds": len(states)})
        return done

    # -- one feed -----------------------------------------------------------------------------

    async def _poll(self, feed: FeedRow) -> tuple[FeedOutcome, _Draft]:
        now = self.clock()
        self._polling += 1
        try:
            outcome, draft = await self._poll_unguarded(feed, now)
        except Exception as exc:  # a bug or a database error must not end the cycle
            log.exception("feed poll crashed", extra={"feed": feed.key})
            outcome, draft = self._failure(feed, now, f"internal error: {type(exc).__name__}")
        finally:
            self._polling -= 1
        self.metrics.feed_polled(outcome.result)
        if outcome.failed:
            self.metrics.feed_failed()
        if outcome.new:
            self.metrics.stories_stored("new", outcome.new)
        if outcome.updated:
            self.metrics.stories_stored("updated", outcome.updated)
        return outcome, draft

    async def _poll_unguarded(self, feed: FeedRow, now: datetime) -> tuple[FeedOutcome, _Draft]:
        try:
            result = await self.fetcher.fetch(
                feed.url,
                etag=feed.etag,
                last_modified=feed.last_modified,
                previous_hash=feed.body_hash,
                guarded=not feed.trusted,
            )
        except BackpressureError as exc:
            return self._backpressure(feed, now, exc)
        except HTTPStatusError as exc:
            if is_gone(exc.status):
                return self._gone(feed, now, str(exc))
            return self._failure(feed, now, str(exc), status=exc.status)
        except FetchError as exc:
            return self._failure(feed, now, str(exc))
        if result.body is None:
            return self._not_modified(feed, now, result)
        try:
            parsed = await self.parser.parse(
                result.body,
                result.headers,
                result.final_url,
                now,
                with_search=True,
                # Key kinds lost in earlier documents stay lost: keys never flip back.
                unusable=feed.unusable_key_kinds,
            )
        except ParseError as exc:
            return self._failure(feed, now, f"not a feed: {exc}", status=result.status)
        # This poll has its document: the writer need not wait for it any more.
        self._polling -= 1
        try:
            stored = await self._writer.store(
                Document(
                    feed.id,
                    parsed.stories,
                    now,
                    search=parsed.search,
                    # First successful fetch: archive what the feed had, announce nothing.
                    backfill=feed.last_success_at is None,
                )
            )
        finally:
            self._polling += 1
        return self._stored(feed, now, result, parsed, stored)

    # -- outcome builders ---------------------------------------------------------------------

    def _stored(
        self,
        feed: FeedRow,
        now: datetime,
        result: FetchResult,
        parsed: ParseOutcome,
        stored: StoreResult,
    ) -> tuple[FeedOutcome, _Draft]:
        state = success_state(feed.id, now, result, parsed, limits=self.limits, rng=self.rng)
        if not feed.trusted and is_host_name(feed.title, feed.url):
            # Added without a title (OPML): name it from the feed's own; its key stays.
            name = display_name(parsed.feed.title, feed.url)
            if not is_host_name(name, feed.url):
                state = replace(state, title=name)
        next_at = state.next_check_at
        kind = NEW if stored.new else UPDATED if stored.updated else UNCHANGED
        outcome = FeedOutcome(
            feed_id=feed.id,
            key=feed.key,
            url=feed.url,
            result=kind,
            new=stored.new,
            updated=stored.updated,
            unchanged=stored.unchanged + stored.linked,
            new_ids=stored.new_ids,
            status=result.status,
            next_check_at=next_at,
        )
        return outcome, _Draft(state)

    def _not_modified(
        self, feed: FeedRow, now: datetime, result: FetchResult
    ) -> tuple[FeedOutcome, _Draft]:
        state = FeedState(
            feed_id=feed.id,
            checked_at=now,
            next_check_at=now,  # filled in by _record once the post count is known
            status=result.status,
            ok=True,
            # Servers may rotate validators on a 304; keep the old ones where none came back.
            etag=result.etag or feed.etag,
            last_modified=result.last_modified or feed.last_modified,
            body_hash=result.body_hash or feed.body_hash,
            validators=True,
        )
        outcome = FeedOutcome(
            feed_id=feed.id, key=feed.key, url=feed.url, result=NOT_MODIFIED, status=result.status
        )
        return outcome, _Draft(state, rate_pending=True, max_age=result.max_age)

    def _failure(
        self, feed: FeedRow, now: datetime, error: str, *, status: int | None = None
    ) -> tuple[FeedOutcome, _Draft]:
        next_at = after_failure(
            now, error_count=feed.error_count + 1, limits=self.limits, rng=self.rng
        )
        state = FeedState(
            feed_id=feed.id,
            checked_at=now,
            next_check_at=next_at,
            status=status,
            ok=False,
            error=error,
            count_error=True,
        )
        log.info("feed poll failed", extra={"feed": feed.key, "error": error})
        outcome = FeedOutcome(
            feed_id=feed.id,
            key=feed.key,
            url=feed.url,
            result=FAILED,
            status=status,
            error=error,
            next_check_at=next_at,
        )
        return outcome, _Draft(state)

    def _backpressure(
        self, feed: FeedRow, now: datetime, exc: BackpressureError
    ) -> tuple[FeedOutcome, _Draft]:
        next_at = after_backpressure(
            now, retry_after=exc.retry_after, limits=self.limits, rng=self.rng
        )
        # Not a failure (error_count unchanged), but visible in /feed status.
        state = FeedState(
            feed_id=feed.id,
            checked_at=now,
            next_check_at=next_at,
            status=exc.status,
            ok=False,
            error=str(exc),
        )
        outcome = FeedOutcome(
            feed_id=feed.id,
            key=feed.key,
            url=feed.url,
            result=BACKPRESSURE,
            status=exc.status,
            error=str(exc),
            next_check_at=next_at,
        )
        return outcome, _Draft(state)

    def _gone(self, feed: FeedRow, now: datetime, error: str) -> tuple[FeedOutcome, _Draft]:
        state = FeedState(
            feed_id=feed.id,
            checked_at=now,
            next_check_at=feed.next_check_at,
            status=410,
            ok=False,
            error=error,
            count_error=True,
            gone=True,
        )
        outcome = FeedOutcome(
            feed_id=feed.id, key=feed.key, url=feed.url, result=GONE, status=410, error=error
        )
        return outcome, _Draft(state)
