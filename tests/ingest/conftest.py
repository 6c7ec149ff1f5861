"""Fixtures for the ingest tests (fetcher, parser, normalize)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from bot.core.fetcher import Fetcher, FetchPolicy
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


__all__ = ["FETCHED_AT", "FeedServer", "feed_server", "fixture_bytes"]
