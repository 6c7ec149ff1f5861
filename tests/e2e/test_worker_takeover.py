"""Two worker processes on one PostgreSQL; one is SIGKILLed mid-poll and the other takes over.

Real `techbrief run --roles worker` processes polling slow feeds on the local feed server.
The first worker leases every due feed and is killed while it is still fetching them; the
second, started after the lease was taken, gets none of them until the killed worker's leases
run out and then polls them all. Every item ends up stored exactly once, none is lost, and no
feed is ever fetched by two workers at once (the feed server counts concurrent requests).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.storage.engine import create_engine, session_factory
from bot.storage.models import Feed, Story
from tests.e2e.process import BotProcess, child_env, free_port
from tests.e2e.test_kill_midfanout import _until
from tests.fakediscord import FakeDiscord
from tests.feedserver import FeedServer, feed_server, rss_feed

__all__ = ["feed_server"]  # the fixture
pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(90)]

FEEDS = 12
ITEMS = 3
LEASE_S = 6
DELAY_S = 1.5  # per response: with 4 fetches per host at once, a cycle takes ~4.5 s


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(token=f"MTU3NDI1Njk1Njc0NTQ0OTQ3Mw.GxE2eT.{secrets.token_urlsafe(27)}")
    await fake.start()
    yield fake
    await fake.stop()


async def _eventually(
    predicate: Callable[[], Awaitable[bool]], what: str, timeout: float, alive: BotProcess
) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert alive.running, f"techbrief run exited before {what}:\n{alive.output[-4000:]}"
        assert time.monotonic() < deadline, f"{what} not within {timeout}s\n{alive.output[-4000:]}"
        await asyncio.sleep(0.1)


def catalog(path: Path, server: FeedServer) -> Path:
    entries = []
    for n in range(FEEDS):
        entries.append(
            f'[[feed]]\nkey = "blog{n:02d}"\nname = "Blog {n:02d}"\n'
            f'feed_url = "{server.url(f"/blog{n:02d}.xml")}"\n'
            f'site_url = "https://blog{n:02d}.test/"\nlanguage = "en"\ncolor = "#336699"\n'
        )
    path.write_text("\n".join(entries), encoding="utf-8")
    return path


async def test_a_killed_workers_leases_are_taken_over_and_nothing_is_stored_twice(
    fake: FakeDiscord, feed_server: FeedServer, pg_url: str, tmp_path: Path
) -> None:
    paths = [f"/blog{n:02d}.xml" for n in range(FEEDS)]
    for n, path in enumerate(paths):
        body = rss_feed(ITEMS, title=f"Blog {n:02d}", link=f"https://blog{n:02d}.test/")
        feed_server.add(path, body, delay=DELAY_S)
    env = child_env(
        {
            "DISCORD_TOKEN": fake.token,
            "DISCORD_API_BASE": fake.api_base,
            "DATABASE_URL": pg_url,
            "TECHBRIEF_CATALOG__PATH": str(catalog(tmp_path / "feeds.toml", feed_server)),
            "TECHBRIEF_LOG__JSON": "1",
            "TECHBRIEF_FETCH__ALLOW_PRIVATE_NETWORKS": "1",
            "TECHBRIEF_SCHEDULER__TICK_SECONDS": "1",
            "TECHBRIEF_SCHEDULER__LEASE_SECONDS": str(LEASE_S),
        }
    )
    first, second = (
        BotProcess(
            {**env, "TECHBRIEF_HTTP__PORT": str(free_port())}, args=("run", "--roles", "worker")
        )
        for _ in range(2)
    )
    engine = create_engine(pg_url)
    sessions = session_factory(engine)

    async def leases() -> dict[str | None, int]:
        async with sessions() as s:
            rows = await s.execute(
                select(Feed.lease_owner, func.count()).group_by(Feed.lease_owner)
            )
            return {owner: count for owner, count in rows}

    async def stored() -> int:
        async with sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(Story)) or 0)

    try:
        await first.start()
        await _until(
            lambda: sum(feed_server.hits.values()) >= 2, "the first worker polls", 30, alive=first
        )
        held = await leases()
        (owner,) = [o for o in held if o is not None]
        assert held[owner] == FEEDS, held  # it leased every due feed
        await second.start()
        # Mid-poll: some fetches are answered, the rest still wait on the slow server.
        await first.kill()
        assert sum(feed_server.hits.values()) < FEEDS, "the poll finished before the kill"
        orphaned = (await leases()).get(owner, 0)
        assert orphaned > 0, "the killed worker left no lease: nothing to take over"

        async def every_feed_polled() -> bool:
            async with sessions() as s:
                done = await s.scalar(
                    select(func.count())
                    .select_from(Feed)
                    .where(Feed.last_success_at.is_not(None), Feed.lease_owner.is_(None))
                )
            return done == FEEDS

        await _eventually(every_feed_polled, "the second worker polls the orphans", 45, second)
        # Stored exactly once each: FEEDS × ITEMS stories, no two with one link.
        async with sessions() as s:
            links = list(await s.scalars(select(Story.url)))
        assert len(links) == FEEDS * ITEMS == len(set(links)), links
        assert await stored() == FEEDS * ITEMS
        assert all(feed_server.hits[p] >= 1 for p in paths), feed_server.hits
        assert max(feed_server.max_in_flight[p] for p in paths) == 1, feed_server.max_in_flight
        assert await second.stop() == 0
    finally:
        await first.kill()
        await second.kill()
        await engine.dispose()
