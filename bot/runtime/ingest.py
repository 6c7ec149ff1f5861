"""The ingest pipeline built from settings: fetcher, parser pool, repositories, services.

``build_ingest`` is shared by the composition root (``bot/runtime/container.py``, which adds
the periodic jobs and the shutdown) and by the CLI (`techbrief fetch`, `feeds import`), which
run ingest without Discord. The catalog is synced lazily, once, before the first poll cycle
(the start-up hook of the Refresher), because building happens before the event loop works.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.ingest import Fetcher, FetchPolicy, ParserPool, ScheduleLimits
from bot.core.ingest.feed_service import FeedService
from bot.core.ingest.refresher import CycleReport, IngestMetrics, Refresher, utc_now
from bot.core.models import CatalogFeed
from bot.runtime.metrics import Metrics
from bot.runtime.settings import Settings
from bot.storage.engine import is_sqlite
from bot.storage.feeds_repo import FeedsRepository
from bot.storage.stories_repo import StoriesRepository

log = logging.getLogger(__name__)

DAY_SECONDS = 24 * 3600.0


class PrometheusIngestMetrics:
    """bot.core.ingest.refresher.IngestMetrics on the bot's Prometheus counters."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def feed_polled(self, result: str) -> None:
        self._m.feeds_polled.labels(result=result).inc()

    def feed_failed(self) -> None:
        self._m.feeds_failed.inc()

    def stories_stored(self, kind: str, count: int) -> None:
        self._m.stories_stored.labels(kind=kind).inc(count)


def fetch_policy(settings: Settings) -> FetchPolicy:
    f = settings.fetch
    return FetchPolicy(
        user_agent=f.user_agent_header,
        connect_timeout=f.connect_timeout_s,
        total_timeout=f.total_timeout_s,
        max_body_bytes=int(f.max_body_mb * 1024 * 1024),
        max_redirects=f.max_redirects,
        max_concurrency=f.concurrency,
        max_per_host=f.per_host_concurrency,
        allow_private_networks=f.allow_private_networks,
    )


def schedule_limits(settings: Settings) -> ScheduleLimits:
    return ScheduleLimits(
        min_interval=timedelta(minutes=settings.fetch.min_interval_minutes),
        max_interval=timedelta(
            hours=max(settings.fetch.max_interval_hours, settings.fetch.min_interval_minutes / 60)
        ),
    )


def worker_name() -> str:
    """Lease owner: unique per process, readable in the feeds table."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Ingest:
    """Everything ingest builds, typed (until Services carries these as fields)."""

    fetcher: Fetcher
    parser: ParserPool
    feeds_repo: FeedsRepository
    stories_repo: StoriesRepository
    refresher: Refresher
    feeds: FeedService
    owner: str

    async def poll(self) -> CycleReport:
        report = await self.refresher.run_due(self.owner)
        if report.polled:
            log.info(
                "poll cycle",
                extra={
                    "feeds": report.polled,
                    "new": report.stories_new,
                    "updated": report.stories_updated,
                    "failed": len(report.failures),
                },
            )
        return report

    async def prune(self, story_days: int) -> int:
        cutoff = self.refresher.clock() - timedelta(days=story_days)
        pruned = await self.stories_repo.prune(seen_before=cutoff)
        if pruned:
            log.info("pruned old stories", extra={"stories": pruned, "before": cutoff.isoformat()})
        return pruned


def build_ingest(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    catalog: Sequence[CatalogFeed],
    clock: Callable[[], datetime] = utc_now,
    metrics: IngestMetrics | None = None,
    fetcher: Fetcher | None = None,
    parser: ParserPool | None = None,
) -> Ingest:
    """Build (not start) the ingest objects; ``fetcher``/``parser`` are test seams."""
    fetcher = fetcher or Fetcher(fetch_policy(settings))
    parser = parser or ParserPool(max_workers=settings.fetch.parser_processes or None)
    feeds_repo = FeedsRepository(sessions)
    stories_repo = StoriesRepository(sessions)
    limits = schedule_limits(settings)
    entries = list(catalog)

    async def sync_catalog() -> None:
        synced = await feeds_repo.sync_catalog(entries, clock())
        log.info(
            "catalog synced",
            extra={"added": synced.added, "updated": synced.updated, "off": synced.deactivated},
        )

    refresher = Refresher(
        feeds_repo,
        stories_repo,
        fetcher,
        parser,
        clock=clock,
        limits=limits,
        lease_seconds=settings.scheduler.lease_seconds,
        batch_size=settings.scheduler.feeds_per_tick,
        db_writers=1 if is_sqlite(settings.database.url) else 4,
        metrics=metrics,
        startup=sync_catalog,
    )
    feeds = FeedService(feeds_repo, stories_repo, fetcher, parser, clock=clock, limits=limits)
    return Ingest(fetcher, parser, feeds_repo, stories_repo, refresher, feeds, worker_name())
