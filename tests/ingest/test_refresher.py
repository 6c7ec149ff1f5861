"""Poll cycles against the local feed server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.core.ingest import Fetcher, FetchPolicy, ScheduleLimits
from bot.core.ingest.refresher import (
    FAILED,
    GONE,
    NEW,
    NOT_MODIFIED,
    UNCHANGED,
    UPDATED,
    Refresher,
)
from bot.storage.feeds_repo import FeedsRepository
from bot.storage.models import Story
from bot.storage.stories_repo import StoriesRepository
from tests.feedserver import ATOM, FeedServer, atom_feed, rss_feed
from tests.ingest.conftest import RecordingMetrics, SteppingClock
from tests.ingest.dbhelpers import make_feed

LIMITS = ScheduleLimits(jitter=0.0)


@pytest.fixture
async def quick_fetcher() -> AsyncIterator[Fetcher]:
    policy = FetchPolicy(allow_private_networks=True, total_timeout=1.0, connect_timeout=1.0)
    async with Fetcher(policy) as f:
        yield f


def _refresher(sessions, fetcher, parser, clock, metrics=None) -> Refresher:
    return Refresher(
        FeedsRepository(sessions),
        StoriesRepository(sessions),
        fetcher,
        parser,
        clock=clock,
        limits=LIMITS,
        metrics=metrics,
    )


async def test_a_broken_feed_never_stops_the_others(
    sessions, feed_server: FeedServer, quick_fetcher, thread_parser
):
    repo = FeedsRepository(sessions)
    feed_server.add_feed("/ok.xml", items=3)
    feed_server.add("/atom.xml", atom_feed(2, link="https://atom.test/"), content_type=ATOM)
    feed_server.status("/boom.xml", 500)
    feed_server.add("/slow.xml", rss_feed(1), delay=3.0)
    feed_server.add(
        "/page.html", "<!doctype html><html><body>hi</body></html>", content_type="text/html"
    )
    feed_server.status("/gone.xml", 410)
    for name in ("ok", "atom", "boom", "slow", "page", "gone"):
        path = f"/{name}.html" if name == "page" else f"/{name}.xml"
        await make_feed(repo, name, url=feed_server.url(path))
    clock = SteppingClock()
    metrics = RecordingMetrics()
    refresher = _refresher(sessions, quick_fetcher, thread_parser, clock, metrics)

    report = await refresher.run_due("w1")

    by_key = {o.key: o for o in report.outcomes}
    assert set(by_key) == {"ok", "atom", "boom", "slow", "page", "gone"}
    assert (by_key["ok"].result, by_key["ok"].new) == (NEW, 3)
    assert (by_key["atom"].result, by_key["atom"].new) == (NEW, 2)
    assert by_key["boom"].result == FAILED and "500" in (by_key["boom"].error or "")
    assert by_key["slow"].result == FAILED and "timed out" in (by_key["slow"].error or "")
    assert by_key["page"].result == FAILED and "not a feed" in (by_key["page"].error or "")
    assert by_key["gone"].result == GONE
    assert report.stories_new == 5 and len(report.new_story_ids) == 5
    assert metrics.polled[NEW] == 2 and metrics.failed == 4 and metrics.stored["new"] == 5

    rows = {f.key: f for f in await repo.list_feeds()}
    boom = rows["boom"]
    assert boom.error_count == 1 and boom.last_error and boom.last_status == 500
    assert boom.next_check_at == clock.now + timedelta(minutes=15)
    assert rows["gone"].gone and rows["gone"].last_error
    ok = rows["ok"]
    assert ok.last_success_at == clock.now and ok.etag and ok.body_hash and ok.last_error is None
    # The feed's <ttl>30</ttl> is a floor; its 3 posts in the last week set the rate.
    assert ok.next_check_at == clock.now + timedelta(hours=24)
    assert all(f.next_check_at > clock.now for f in rows.values() if not f.gone)

    # Nothing is due right after a cycle.
    assert (await refresher.run_due("w1")).polled == 0

    # Two days on: the good feed answers 304, the broken one backs off further, 410 stays off.
    clock.advance(days=2)
    hits_gone = feed_server.hits["/gone.xml"]
    second = await refresher.run_due("w1")
    by_key = {o.key: o for o in second.outcomes}
    assert by_key["ok"].result == NOT_MODIFIED
    assert "gone" not in by_key and feed_server.hits["/gone.xml"] == hits_gone
    again = await repo.by_key("boom")
    assert again is not None and again.error_count == 2
    assert again.next_check_at == clock.now + timedelta(minutes=30)
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Story)) == 5


async def test_changed_feed_updates_in_place_and_unchanged_body_is_skipped(
    sessions, feed_server: FeedServer, quick_fetcher, thread_parser
):
    repo = FeedsRepository(sessions)
    feed_server.add("/f.xml", rss_feed(2))  # no validators: body hash decides
    await make_feed(repo, "f", url=feed_server.url("/f.xml"))
    clock = SteppingClock()
    refresher = _refresher(sessions, quick_fetcher, thread_parser, clock)
    first = await refresher.run_due("w", force=True)
    assert first.outcomes[0].result == NEW
    again = await refresher.run_due("w", force=True)
    assert again.outcomes[0].result == NOT_MODIFIED  # same body hash: never parsed
    corrected = rss_feed(2).replace("Summary 0", "Summary zero, corrected")
    feed_server.add("/f.xml", corrected)
    edited = await refresher.run_due("w", force=True)
    assert (edited.outcomes[0].result, edited.outcomes[0].updated) == (UPDATED, 1)
    assert edited.new_story_ids == []
    feed_server.add("/f.xml", corrected.replace("<ttl>30</ttl>", "<ttl>31</ttl>"))
    cosmetic = await refresher.run_due("w", force=True)
    assert cosmetic.outcomes[0].result == UNCHANGED


async def test_two_refreshers_never_fetch_the_same_feed(
    sessions, feed_server: FeedServer, quick_fetcher, thread_parser
):
    repo = FeedsRepository(sessions)
    for i in range(12):
        feed_server.add_feed(f"/{i}.xml", items=2)
        await make_feed(repo, f"k{i}", url=feed_server.url(f"/{i}.xml"))
    clock = SteppingClock()
    a = _refresher(sessions, quick_fetcher, thread_parser, clock)
    b = _refresher(sessions, quick_fetcher, thread_parser, clock)
    a.batch_size = b.batch_size = 5
    ra, rb = await asyncio.gather(a.run_due("a"), b.run_due("b"))
    assert ra.polled + rb.polled == 12
    assert all(feed_server.hits[f"/{i}.xml"] == 1 for i in range(12))


async def test_custom_feeds_go_through_the_ssrf_guard(sessions, feed_server, thread_parser):
    repo = FeedsRepository(sessions)
    feed_server.add_feed("/c.xml")
    await make_feed(repo, "trusted", url=feed_server.url("/c.xml"))
    await make_feed(repo, "custom", origin="custom", guild_id=1, url=feed_server.url("/c.xml?x"))
    async with Fetcher(FetchPolicy(allow_private_networks=False, total_timeout=2.0)) as guarded:
        report = await _refresher(sessions, guarded, thread_parser, SteppingClock()).run_due("w")
    by_key = {o.key: o for o in report.outcomes}
    assert by_key["trusted"].result == NEW
    assert by_key["custom"].result == FAILED and "non-public" in (by_key["custom"].error or "")


async def test_first_fetch_is_backfill_later_stories_are_announced(
    sessions, feed_server: FeedServer, quick_fetcher, thread_parser
):
    repo = FeedsRepository(sessions)
    feed_server.add("/b.xml", rss_feed(2))
    await make_feed(repo, "b", url=feed_server.url("/b.xml"))
    refresher = _refresher(sessions, quick_fetcher, thread_parser, SteppingClock())
    first = await refresher.run_due("w", force=True)
    feed_server.add("/b.xml", rss_feed(3))  # one more item
    second = await refresher.run_due("w", force=True)
    assert (first.stories_new, second.stories_new) == (2, 1)
    async with sessions() as s:
        flags = dict((await s.execute(select(Story.title, Story.backfill))).all())
    assert flags == {"Post 0": True, "Post 1": True, "Post 2": False}
