"""Story storage on SQLite and PostgreSQL: insert once, update in place, link, tombstones, prune."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.storage.feeds_repo import FeedsRepository
from bot.storage.models import Bookmark, Story, StoryKey, StoryTag
from bot.storage.stories_repo import StoriesRepository
from tests.ingest.dbhelpers import T0, make_feed, story


@pytest.fixture
def repos(sessions):
    return FeedsRepository(sessions), StoriesRepository(sessions)


async def _count(sessions, model) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_new_stories_are_inserted_once_oldest_first(repos, sessions):
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    doc = [
        story("c", published=T0 - timedelta(hours=1), tags=("Go", "go", "Rust")),
        story("b", published=T0 - timedelta(hours=2)),
        story("a", published=T0 - timedelta(hours=3)),
    ]
    first = await stories.store(feed.id, doc, T0)
    assert (first.new, first.updated, first.unchanged) == (3, 0, 0)
    assert list(first.new_ids) == sorted(first.new_ids)
    async with sessions() as s:
        titles = list(await s.scalars(select(Story.title).order_by(Story.id)))
        assert titles == ["Title a", "Title b", "Title c"]  # ids follow publication
        tags = sorted(await s.scalars(select(StoryTag.tag)))
        assert tags == ["Go", "Rust"]
        row = (await s.scalars(select(Story).where(Story.title == "Title c"))).one()
        assert row.search_title == "title c" and "body" in row.search_body
    again = await stories.store(feed.id, doc, T0 + timedelta(hours=1))
    assert (again.new, again.updated, again.unchanged, again.new_ids) == (0, 0, 3, ())
    assert await _count(sessions, Story) == 3
    assert await _count(sessions, StoryKey) == 3


async def test_changed_story_is_updated_in_place_not_reannounced(repos, sessions):
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    first = await stories.store(feed.id, [story("a", tags=("old",))], T0)
    edited = story("a", title="Title a (corrected)", body="New body", tags=("new",))
    result = await stories.store(feed.id, [edited], T0 + timedelta(hours=1))
    assert (result.new, result.updated, result.new_ids) == (0, 1, ())
    async with sessions() as s:
        rows = list(await s.scalars(select(Story)))
        assert len(rows) == 1 and rows[0].id == first.new_ids[0]
        assert (
            rows[0].title == "Title a (corrected)" and rows[0].content_hash == edited.content_hash
        )
        assert rows[0].updated_at == T0 + timedelta(hours=1) and rows[0].first_seen_at == T0
        assert rows[0].search_body.startswith("new body")
        assert list(await s.scalars(select(StoryTag.tag))) == ["new"]


async def test_same_canonical_url_from_two_feeds_is_one_story(repos, sessions):
    feeds, stories = repos
    one = await make_feed(feeds, "alpha")
    two = await make_feed(feeds, "beta")
    url = "https://news.example/post?id=1"
    first = await stories.store(one.id, [story("guid-1", canonical=url)], T0)
    second = await stories.store(two.id, [story("other-guid", canonical=url, body="x")], T0)
    assert first.new == 1 and second.new == 0 and second.linked == 1 and second.updated == 0
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Story)) == 1
        links = sorted(
            (fid, sid)
            for fid, sid in (await s.execute(select(StoryKey.feed_id, StoryKey.story_id)))
        )
        assert links == [(one.id, first.new_ids[0]), (two.id, first.new_ids[0])]
    # The second feed repeating it is unchanged, and never updates the first feed's story.
    again = await stories.store(two.id, [story("other-guid", canonical=url, body="y")], T0)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 1)


async def test_duplicate_canonical_inside_one_document(repos, sessions):
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    url = "https://news.example/same"
    result = await stories.store(
        feed.id, [story("k1", canonical=url), story("k2", canonical=url)], T0
    )
    assert result.new == 1
    assert await _count(sessions, StoryKey) == 2


async def test_prune_keeps_bookmarked_and_leaves_tombstones(repos, sessions):
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    old = await stories.store(feed.id, [story("old1"), story("old2")], T0 - timedelta(days=400))
    recent = await stories.store(feed.id, [story("recent")], T0)
    assert old.new == 2
    async with sessions.begin() as s:
        kept_id = await s.scalar(select(StoryKey.story_id).where(StoryKey.key == "old1"))
        s.add(Bookmark(user_id=1, story_id=kept_id, created_at=T0))
    pruned = await stories.prune(seen_before=T0 - timedelta(days=365))
    assert pruned == 1
    async with sessions() as s:
        ids = set(await s.scalars(select(Story.id)))
        assert ids == {kept_id, recent.new_ids[0]}
        tomb = await s.scalar(select(StoryKey.story_id).where(StoryKey.key == "old2"))
        assert tomb is None
        assert await s.scalar(select(func.count()).select_from(StoryKey)) == 3
    # The pruned item reappears in its feed: recognised by its key, never stored again.
    back = await stories.store(feed.id, [story("old2"), story("recent")], T0 + timedelta(days=1))
    assert (back.new, back.updated, back.unchanged) == (0, 0, 2)
    assert await _count(sessions, Story) == 2


async def test_two_workers_storing_the_same_article_concurrently(repos, sessions):
    feeds, stories = repos
    one = await make_feed(feeds, "alpha")
    two = await make_feed(feeds, "beta")
    docs = [story(f"k{i}", canonical=f"https://news.example/{i}") for i in range(20)]
    a, b = await asyncio.gather(
        stories.store(one.id, docs, T0), StoriesRepository(sessions).store(two.id, docs, T0)
    )
    assert a.new + b.new == 20
    assert a.new + a.linked == 20 and b.new + b.linked == 20
    assert await _count(sessions, Story) == 20
    assert await _count(sessions, StoryKey) == 40


async def test_backfill_flag_is_kept_on_insert_and_never_changed_by_updates(repos, sessions):
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    await stories.store(feed.id, [story("old")], T0, backfill=True)
    await stories.store(feed.id, [story("old", body="edited"), story("new")], T0)
    async with sessions() as s:
        flags = dict((await s.execute(select(Story.title, Story.backfill))).all())
    assert flags == {"Title old": True, "Title new": False}
