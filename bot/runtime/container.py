"""The composition root: everything the bot needs, built from settings, closed in reverse order."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from discord.http import HTTPClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.bookmarks.service import BookmarkService
from bot.core.briefs.planning import BriefService
from bot.core.i18n import Localizer
from bot.core.ingest import Fetcher, load_catalog
from bot.core.ingest.feed_service import FeedService
from bot.core.ingest.refresher import Refresher
from bot.core.models import CatalogFeed
from bot.core.search.service import SearchService
from bot.core.share.service import ShareService
from bot.core.summarize import digest_formatter
from bot.core.summarize.service import (
    SummaryService,
    SummaryServiceConfig,
    build_summary_service,
    page_bytes,
)
from bot.runtime.ingest import DAY_SECONDS, Ingest, PrometheusIngestMetrics, build_ingest
from bot.runtime.leadership import SenderLeadership, lock_key
from bot.runtime.metrics import Metrics
from bot.runtime.pacer import BURST, RatePacer
from bot.runtime.publisher import Publisher
from bot.runtime.settings import Settings
from bot.storage.deliveries_repo import DeliveriesRepository
from bot.storage.engine import create_engine, session_factory
from bot.storage.subscriptions_repo import SubscriptionsRepository

log = logging.getLogger(__name__)


Job = tuple[str, float, Callable[[], Awaitable[object]]]
JobFactory = Callable[[Any], list[Job]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    metrics: Metrics
    catalog: list[CatalogFeed]
    clock: Callable[[], datetime] = utc_now
    # Catalogs read once per process; every reply and brief picks its language from it.
    localizer: Localizer = field(default_factory=Localizer)
    exit_stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    briefs: BriefService | None = None
    bookmarks: BookmarkService | None = None
    search: SearchService | None = None
    shares: ShareService | None = None
    refresher: Refresher | None = None
    feeds: FeedService | None = None
    summaries: SummaryService | None = None
    publisher: Publisher | None = None
    discord_http: HTTPClient | None = None  # bound by the Discord client once it exists
    drainers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    background: set[asyncio.Task[int]] = field(default_factory=set)
    job_factories: list[tuple[str, JobFactory]] = field(default_factory=list)
    leadership: SenderLeadership | None = None  # set when this process may be the sender
    # Paces every REST request of this process's Discord client (bot.runtime.client).
    pacer: RatePacer | None = None

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.settings.runtime.roles)

    def add_jobs(self, role: str, factory: JobFactory) -> None:
        """Register periodic jobs that only a process with ``role`` runs."""
        self.job_factories.append((role, factory))

    def jobs(self, bot: Any) -> list[Job]:
        """Periodic jobs every feature registered for this process's roles."""
        roles = self.roles
        return [
            job for role, factory in self.job_factories if role in roles for job in factory(bot)
        ]

    async def drain(self) -> None:
        """Let in-flight work (message sends) finish before the connection closes."""
        for drainer in self.drainers:
            await drainer()

    def require_discord(self) -> HTTPClient:
        if self.discord_http is None:
            raise RuntimeError("no Discord client is bound to the services")
        return self.discord_http

    def bookmark_service(self) -> BookmarkService:
        assert self.bookmarks is not None
        return self.bookmarks

    def feed_service(self) -> FeedService:
        assert self.feeds is not None
        return self.feeds

    def search_service(self) -> SearchService:
        assert self.search is not None
        return self.search

    def share_service(self) -> ShareService:
        assert self.shares is not None
        return self.shares

    def brief_service(self) -> BriefService:
        assert self.briefs is not None
        return self.briefs

    def send_soon(self) -> None:
        """Start sending the outbox now, in the background (an answer must not wait for it).
        A process without the sender role leaves it to the sender's next tick."""
        if self.publisher is None or "sender" not in self.roles:
            return
        if self.leadership is not None and not self.leadership.is_leader:
            return
        task = asyncio.create_task(self.publisher.run_once())
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def deliver_tick(self) -> None:
        """Plan due briefs into the outbox, then send what the outbox holds: only while this
        process holds the sender lock (a standby just tries to take it)."""
        if self.leadership is not None and not await self.leadership.ensure():
            return
        await self.brief_service().plan_due()
        if self.publisher is not None:
            await self.publisher.run_once()

    async def may_send(self) -> bool:
        """Checked before every delivery: a sender that lost its lock stops at once."""
        return self.leadership is None or await self.leadership.ensure()

    async def database_ok(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True


@asynccontextmanager
async def open_services(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now
) -> AsyncIterator[Services]:
    catalog = load_catalog(settings.catalog.file)
    engine = create_engine(
        settings.database.url,
        echo=settings.database.echo,
        pool_size=settings.database.pool_size,
        busy_timeout_ms=settings.database.sqlite_busy_timeout_ms,
    )
    services = Services(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        metrics=Metrics(),
        catalog=catalog,
        clock=clock,
    )
    install_briefs(services)
    ingest = install_ingest(services)
    await install_summaries(services, ingest.fetcher, ingest.parser.executor())
    services.search = SearchService(
        services.sessions, max_query_chars=settings.search.max_query_chars, clock=clock
    )
    services.bookmarks = BookmarkService(
        services.sessions, per_user_cap=settings.bookmarks.per_user_cap, clock=clock
    )
    services.shares = ShareService(
        services.sessions,
        cooldown_seconds=settings.share.cooldown_seconds,
        clock=clock,
        digest_formatter=digest_formatter,
    )
    try:
        async with services.exit_stack:
            yield services
    finally:
        await engine.dispose()


def install_briefs(services: Services) -> None:
    settings = services.settings
    subscriptions = SubscriptionsRepository(services.sessions)
    outbox = DeliveriesRepository(services.sessions)
    services.briefs = BriefService(
        subscriptions,
        outbox,
        clock=services.clock,
        per_source_cap=settings.brief.per_source_cap,
        post_when_empty=settings.brief.post_when_empty,
        digest_formatter=digest_formatter,
        summary_wait=timedelta(seconds=settings.brief.summary_wait_seconds),
        localizer=services.localizer,
    )
    # Not handed to the publisher as well: its requests already wait in the client's session,
    # and a second wait per request would halve the rate.
    services.pacer = RatePacer(settings.discord.rest_rate_per_s, burst=BURST)
    services.publisher = Publisher(
        services.require_discord,
        outbox,
        subscriptions,
        services.metrics,
        services.clock,
        owner=f"{socket.gethostname()}:{os.getpid()}",
        workers=settings.discord.send_workers,
        lease_seconds=settings.scheduler.delivery_lease_seconds,
        may_send=services.may_send,
    )
    if settings.discord.token is not None:
        key = lock_key(settings.discord.token.get_secret_value())
        services.leadership = SenderLeadership(services.engine, key)
        services.exit_stack.push_async_callback(services.leadership.release)
    services.drainers.append(services.publisher.drain)
    services.add_jobs(
        "sender", lambda _bot: [("briefs", settings.scheduler.tick_seconds, services.deliver_tick)]
    )


async def install_summaries(services: Services, fetcher: Fetcher, executor: Executor) -> None:
    """Summaries per story and content hash, computed off the event loop on their own tick.

    The CPU work (sentence scoring, page extraction) runs in the parser processes: in
    threads it held the worker's GIL, so its event loop waited milliseconds to get it back
    after every database write and one worker process could not use a second core."""
    s = services.settings.summary
    http = None
    if s.method == "llm":
        http = await services.exit_stack.enter_async_context(aiohttp.ClientSession())
    summaries = build_summary_service(
        SummaryServiceConfig(
            method=s.method,
            llm_base_url=s.llm_base_url,
            llm_model=s.llm_model,
            llm_api_key=s.llm_api_key.get_secret_value() if s.llm_api_key else None,
            llm_timeout_s=s.llm_timeout_s,
            llm_daily_token_budget=s.llm_daily_token_budget,
            teaser_fetch=s.teaser_fetch,
            teaser_min_words=s.teaser_min_words,
            teaser_daily_budget=s.teaser_daily_budget,
        ),
        sessions=services.sessions,
        http=http,
        # The SSRF-guarded path: article links come from feeds, so they are untrusted.
        page_fetcher=page_bytes(fetcher.fetch_page),
        executor=executor,
        clock=services.clock,
    )
    services.summaries = summaries
    metrics = services.metrics

    async def tick() -> None:
        await summaries.run_pending()
        counters = summaries.llm_counter_increments()
        for kind, n in counters.tokens.items():
            if n:
                metrics.llm_tokens.labels(kind=kind).inc(n)
        for outcome, n in counters.calls.items():
            if n:
                metrics.llm_calls.labels(outcome=outcome).inc(n)

    services.add_jobs(
        "worker", lambda _bot: [("summaries", services.settings.scheduler.tick_seconds, tick)]
    )


def install_ingest(services: Services) -> Ingest:
    """Build ingest, expose it on ``services``, register shutdown and the periodic jobs."""
    ingest = build_ingest(
        services.settings,
        services.sessions,
        catalog=services.catalog,
        clock=services.clock,
        metrics=PrometheusIngestMetrics(services.metrics),
    )
    services.refresher = ingest.refresher
    services.feeds = ingest.feeds
    # Exit stack: LIFO, so the fetcher closes before the parser pool goes away.
    services.exit_stack.callback(ingest.parser.close)
    services.exit_stack.push_async_callback(ingest.fetcher.close)
    services.drainers.append(ingest.refresher.drain)
    story_days = services.settings.retention.story_days
    tick = services.settings.scheduler.tick_seconds

    def jobs(_bot: Any) -> list[tuple[str, float, Callable[[], Awaitable[object]]]]:
        return [
            ("poll", tick, ingest.poll),
            ("prune", DAY_SECONDS, lambda: ingest.prune(story_days)),
        ]

    services.add_jobs("worker", jobs)
    return ingest
