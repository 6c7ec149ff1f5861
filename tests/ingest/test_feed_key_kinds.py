"""Invariant 1, per feed: a key kind a document repeats is dropped for that feed for good.

On SQLite and PostgreSQL (the ``sessions`` fixture runs every test on both).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from bot.core.ingest import Fetcher, FetchPolicy, ScheduleLimits
from bot.core.ingest.feed_service import FeedService
from bot.core.ingest.refresher import NEW, UNCHANGED, Refresher
from bot.core.models import NormalizedStory
from bot.storage.feeds_repo import (
    FeedsRepository,
    FeedState,
    NewFeed,
    decode_key_kinds,
    encode_key_kinds,
)
from bot.storage.models import Feed, StoryKey
from bot.storage.stories_repo import StoreResult, StoriesRepository
from tests.feedserver import FeedServer
from tests.ingest.conftest import SteppingClock
from tests.ingest.dbhelpers import T0, make_feed

LIMITS = ScheduleLimits(jitter=0.0)
SITE = "https://blog.test/"


@pytest.fixture
async def quick_fetcher() -> AsyncIterator[Fetcher]:
    policy = FetchPolicy(allow_private_networks=True, total_timeout=2.0, connect_timeout=1.0)
    async with Fetcher(policy) as f:
        yield f


class RecordingStories(StoriesRepository):
    """The real repository, remembering every StoreResult."""

    results: list[StoreResult]

    async def store(
        self, feed_id: int, stories: Sequence[NormalizedStory], now: datetime, **kw: object
    ) -> StoreResult:
        result = await super().store(feed_id, stories, now, **kw)  # type: ignore[arg-type]
        self.results.append(result)
        return result


def _recording(sessions) -> RecordingStories:
    repo = RecordingStories(sessions)
    repo.results = []
    return repo


def _rss(guids: Sequence[str], *, new: str | None = None) -> str:
    """Items i = 0.. with links SITE/post-i and the given guids, dated a day apart; ``new``:
    first a newer item linking to SITE/new under that guid."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
        f"<title>Blog</title><link>{SITE}</link>",
    ]
    if new is not None:
        parts.append(
            f"<item><title>New post</title><link>{SITE}new</link><guid>{new}</guid>"
            f"<pubDate>{format_datetime(T0)}</pubDate><description>New</description></item>"
        )
    for i, guid in enumerate(guids):
        date = format_datetime(T0 - timedelta(days=i + 1))
        parts.append(
            f"<item><title>Post {i}</title><link>{SITE}post-{i}</link><guid>{guid}</guid>"
            f"<pubDate>{date}</pubDate><description>Body {i}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts)


async def _keys(sessions, feed_id: int) -> set[str]:
    async with sessions() as s:
        return set(await s.scalars(select(StoryKey.key).where(StoryKey.feed_id == feed_id)))


def _state(feed_id: int, kinds: frozenset[str], *, ok: bool = True) -> FeedState:
    return FeedState(
        feed_id=feed_id,
        checked_at=T0,
        next_check_at=T0 + timedelta(hours=1),
        status=200 if ok else 500,
        ok=ok,
        unusable_key_kinds=kinds,
    )


def test_kinds_round_trip_through_the_column():
    assert encode_key_kinds(frozenset({"link", "guid"})) == "guid,link"
    assert encode_key_kinds(frozenset()) == ""
    assert decode_key_kinds("guid,link") == {"guid", "link"}
    assert decode_key_kinds("") == decode_key_kinds(None) == frozenset()
    assert decode_key_kinds("link,hash,bogus") == {"link"}  # hash keys can never be lost


async def test_new_feeds_have_no_unusable_kinds(sessions):
    row = await make_feed(FeedsRepository(sessions), "fresh")
    assert row.unusable_key_kinds == frozenset()
    async with sessions() as s:
        assert await s.scalar(select(Feed.unusable_key_kinds)) == ""


async def test_the_set_only_grows(sessions):
    repo = FeedsRepository(sessions)
    feed = await make_feed(repo, "f")
    other = await make_feed(repo, "g")

    async def kinds(feed_id: int) -> frozenset[str]:
        row = await repo.by_id(feed_id)
        assert row is not None
        return row.unusable_key_kinds

    await repo.record([_state(feed.id, frozenset({"guid"}))])
    assert await kinds(feed.id) == {"guid"}
    # A later document that repeats nothing, a failure, or one that repeats the other kind:
    # "guid" is never taken out.
    await repo.record([_state(feed.id, frozenset())])
    await repo.record([_state(feed.id, frozenset(), ok=False)])
    assert await kinds(feed.id) == {"guid"}
    await repo.record([_state(feed.id, frozenset({"link"}))])
    assert await kinds(feed.id) == {"guid", "link"}
    await repo.record([_state(feed.id, frozenset({"guid"})), _state(feed.id, frozenset())])
    assert await kinds(feed.id) == {"guid", "link"}
    # Per feed: the other feed's row was never touched.
    assert await kinds(other.id) == frozenset()
    await repo.record([_state(other.id, frozenset({"link"}))])
    await repo.record([_state(other.id, frozenset({"link"}))])
    assert await kinds(other.id) == {"link"}
    async with sessions() as s:
        stored = dict((await s.execute(select(Feed.key, Feed.unusable_key_kinds))).all())
    assert stored == {"f": "guid,link", "g": "link"}


async def test_add_with_state_stores_the_kinds(sessions):
    repo = FeedsRepository(sessions)
    row = await make_feed(repo, "plain")
    added = await repo.add(
        NewFeed(key="dup", url="https://dup.example/feed.xml", title="Dup", origin="custom"),
        T0,
        state=_state(0, frozenset({"guid"})),
    )
    assert added.unusable_key_kinds == {"guid"}
    assert row.unusable_key_kinds == frozenset()


async def test_repeated_guids_once_mean_link_keys_for_good(
    sessions, feed_server: FeedServer, quick_fetcher, thread_parser
):
    repo = FeedsRepository(sessions)
    stories = _recording(sessions)
    # A blog that first put its home page into every <guid>, then fixed its guids.
    feed_server.add("/blog.xml", _rss([SITE] * 3))
    feed = await make_feed(repo, "blog", url=feed_server.url("/blog.xml"))
    clock = SteppingClock(T0)
    refresher = Refresher(repo, stories, quick_fetcher, thread_parser, clock=clock, limits=LIMITS)

    first = await refresher.run_due("w", force=True)
    assert (first.outcomes[0].result, first.outcomes[0].new) == (NEW, 3)
    row = await repo.by_id(feed.id)
    assert row is not None and row.unusable_key_kinds == {"guid"}
    links = {f"{SITE}post-{i}" for i in range(3)}
    assert await _keys(sessions, feed.id) == links

    fixed = [f"tag:blog.test,2026:{i}" for i in range(3)]
    feed_server.add("/blog.xml", _rss(fixed))
    clock.advance(hours=1)
    second = await refresher.run_due("w", force=True)
    assert stories.results[-1].new == 0 and stories.results[-1].new_ids == ()
    assert second.outcomes[0].result == UNCHANGED and second.new_story_ids == []
    # Still keyed by link: no guid key was added for any stored story (no key flip).
    assert await _keys(sessions, feed.id) == links
    row = await repo.by_id(feed.id)
    assert row is not None and row.unusable_key_kinds == {"guid"}

    # A new post under unique guids is keyed by its link too, and announced once.
    feed_server.add("/blog.xml", _rss(fixed, new="tag:blog.test,2026:new"))
    clock.advance(hours=1)
    third = await refresher.run_due("w", force=True)
    assert (third.outcomes[0].result, third.outcomes[0].new) == (NEW, 1)
    assert stories.results[-1].new == 1
    assert await _keys(sessions, feed.id) == links | {f"{SITE}new"}
    row = await repo.by_id(feed.id)
    assert row is not None and row.unusable_key_kinds == {"guid"}


async def test_add_custom_remembers_what_the_first_document_repeated(
    sessions, feed_server: FeedServer, quick_fetcher, thread_parser
):
    feed_server.add("/dup.xml", _rss([SITE] * 2))
    clock = SteppingClock(T0)
    service = FeedService(
        FeedsRepository(sessions),
        StoriesRepository(sessions),
        quick_fetcher,
        thread_parser,
        clock=clock,
        limits=LIMITS,
    )
    added = await service.add_custom(feed_server.url("/dup.xml"), guild_id=7)
    row = await service.feeds.by_key(added.key)
    assert row is not None and row.unusable_key_kinds == {"guid"}
    assert await _keys(sessions, row.id) == {f"{SITE}post-0", f"{SITE}post-1"}

    # The refresher then polls it with guids fixed: same keys, nothing new.
    feed_server.add("/dup.xml", _rss(["a", "b"]))
    stories = _recording(sessions)
    refresher = Refresher(
        service.feeds, stories, quick_fetcher, thread_parser, clock=clock, limits=LIMITS
    )
    clock.advance(hours=1)
    await refresher.run_due("w", force=True)
    assert stories.results[-1].new == 0
    assert await _keys(sessions, row.id) == {f"{SITE}post-0", f"{SITE}post-1"}
