"""Fixtures for the ingest tests (fetcher, parser, normalize)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from bot.core.ingest import Fetcher, FetchPolicy, ParserPool
from tests.feedserver import FeedServer, feed_server  # re-exported fixture

FIXTURES = Path(__file__).parent / "fixtures"
FETCHED_AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def fetched_at() -> datetime:
    return FETCHED_AT


@pytest_asyncio.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    """A fetcher allowed to reach the local feed server (allow_private_networks=True)."""
    policy = FetchPolicy(allow_private_networks=True, total_timeout=5.0, connect_timeout=2.0)
    async with Fetcher(policy) as f:
        yield f


__all__ = [
    "FETCHED_AT",
    "FeedServer",
    "RecordingMetrics",
    "SteppingClock",
    "feed_server",
    "fixture_bytes",
]


class SteppingClock:
    """A settable clock: tests move time on by hand (leases, schedules, retention)."""

    def __init__(self, start: datetime = FETCHED_AT) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**kwargs)


class RecordingMetrics:
    """bot.core.ingest.refresher.IngestMetrics that remembers what it was told."""

    def __init__(self) -> None:
        from collections import Counter

        self.polled: Counter[str] = Counter()
        self.failed = 0
        self.stored: Counter[str] = Counter()

    def feed_polled(self, result: str) -> None:
        self.polled[result] += 1

    def feed_failed(self) -> None:
        self.failed += 1

    def stories_stored(self, kind: str, count: int) -> None:
        self.stored[kind] += count


@pytest.fixture
def thread_parser() -> Iterator[ParserPool]:
    """The real parse+normalize code on threads: same results, no process start-up per test."""
    executor = ThreadPoolExecutor(max_workers=2)
    yield ParserPool(executor=executor)
    executor.shutdown(wait=True)
