"""Story storage on SQLite and PostgreSQL: insert once, update in place, link, tombstones, prune."""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

import pytest
from sqlalchemy import func, select, text

from bot.core.ingest.normalize import normalize_feed
from bot.core.models import NormalizedStory, ParsedEntry, ParsedFeed
from bot.storage.engine import create_engine, session_factory
from bot.storage.feeds_repo import FeedsRepository
from bot.storage.models import Bookmark, Story, StoryKey, StoryTag
from bot.storage.stories_repo import Document, StoreResult, StoriesRepository
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


# -- one odd item never fails the document ------------------------------------------------------


def _entry(**kw: Any) -> ParsedEntry:
    base: dict[str, Any] = {
        "guid": None,
        "link": None,
        "title": "Title",
        "summary_html": "<p>Body</p>",
        "content_html": None,
        "author": None,
    }
    base.update(kw)
    return ParsedEntry(**base)


def _doc(*entries: ParsedEntry) -> tuple[NormalizedStory, ...]:
    parsed = ParsedFeed(title="F", link="https://x.test/", language=None, entries=entries)
    return normalize_feed(parsed, "https://x.test/feed", T0)


def _total(result: StoreResult) -> int:
    return result.new + result.updated + result.unchanged + result.linked


async def test_guid_equal_to_another_items_link_key_does_not_fail_the_feed(repos, sessions):
    # Item 1's guid is item 2's link key: story_keys is unique on (feed, key), whatever kind.
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    odd = [
        _entry(guid="https://x.test/post", link="https://x.test/post-slug", title="First"),
        _entry(link="https://x.test/post", title="Second"),
    ]
    first = await stories.store(feed.id, _doc(*odd), T0)
    assert (first.new, first.unchanged) == (1, 0)
    # Later polls go on storing new posts.
    later = await stories.store(
        feed.id, _doc(_entry(guid="g-new", link="https://x.test/new", title="New"), *odd), T0
    )
    assert (later.new, later.unchanged) == (1, 1)
    assert await _count(sessions, Story) == 2


async def test_repeated_key_in_one_document_is_stored_once(repos, sessions):
    # Not every caller de-duplicates: the store keeps the first item of a key, counts the rest
    # as unchanged, and never hits the unique (feed_id, key).
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    doc = [story("k", title="One"), story("k", title="Two"), story("other")]
    result = await stories.store(feed.id, doc, T0)
    assert (result.new, result.unchanged, _total(result)) == (2, 1, 3)
    async with sessions() as s:
        assert sorted(await s.scalars(select(Story.title))) == ["One", "Title other"]


async def test_item_the_database_cannot_hold_is_skipped_not_the_document(repos, sessions, caplog):
    # A lone surrogate (JSON Feed escapes allow one) can be encoded by neither backend.
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    bad = replace(story("bad"), title="broken \udcff title")
    doc = [story("a"), bad, story("b")]
    with caplog.at_level(logging.WARNING, logger="bot.storage.stories_repo"):
        result = await stories.store(feed.id, doc, T0)
    assert (result.new, result.unchanged, len(result.new_ids)) == (2, 0, 2)
    assert any(getattr(r, "key", None) == "bad" for r in caplog.records)
    async with sessions() as s:
        assert sorted(await s.scalars(select(StoryKey.key))) == ["a", "b"]
        assert sorted(await s.scalars(select(Story.id))) == sorted(result.new_ids)
    # The skipped item is tried again on the next poll (no tombstone): once fixed, it is new.
    fixed = await stories.store(feed.id, [story("a"), story("bad"), story("b")], T0)
    assert (fixed.new, fixed.unchanged) == (1, 2)


async def _poison(sessions, backend: str, title: str) -> None:
    """Make the database refuse (unique violation) any story titled ``title``."""
    async with sessions.begin() as s:
        if backend == "sqlite":
            await s.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON stories "
                    f"WHEN NEW.title = '{title}' BEGIN SELECT RAISE(ABORT, 'poison'); END"
                )
            )
        else:
            await s.execute(
                text(
                    "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.title = '{title}' THEN "
                    "RAISE EXCEPTION 'poison' USING ERRCODE = 'unique_violation'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            await s.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON stories "
                    "FOR EACH ROW EXECUTE FUNCTION poison()"
                )
            )


async def test_conflicting_item_is_skipped_with_what_depends_on_it(repos, sessions, backend):
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    await _poison(sessions, backend, "Title bad")
    old = T0 - timedelta(hours=5)
    doc = [
        story("new", published=T0 - timedelta(hours=1)),
        story("bad", canonical="https://news.example/bad", published=old),
        # Same article as "bad" under another key: joins the story "bad" would have inserted.
        story("bad-too", canonical="https://news.example/bad", published=old),
        story("older", published=T0 - timedelta(hours=9)),
    ]
    result = await stories.store(feed.id, doc, T0)
    assert (result.new, result.updated, result.unchanged, result.linked) == (2, 0, 0, 0)
    async with sessions() as s:
        rows = (await s.execute(select(Story.id, Story.title).order_by(Story.id))).all()
        keys = sorted(await s.scalars(select(StoryKey.key)))
    assert [title for _, title in rows] == ["Title older", "Title new"]  # still oldest first
    assert list(result.new_ids) == [sid for sid, _ in rows]
    assert keys == ["new", "older"]


async def test_item_by_item_fallback_stays_one_transaction(sessions, backend):
    # Savepoints inside the document's transaction, never commits of their own (pysqlite
    # opens its transaction lazily): a crash after the fallback must leave nothing behind.
    class Crashing(StoriesRepository):
        async def _write_each(self, *args: Any) -> StoreResult:
            await super()._write_each(*args)
            raise RuntimeError("crash after the fallback")

    feeds = FeedsRepository(sessions)
    feed = await make_feed(feeds, "alpha")
    await _poison(sessions, backend, "Title bad")
    with pytest.raises(RuntimeError):
        await Crashing(sessions).store(feed.id, [story("good"), story("bad")], T0)
    assert await _count(sessions, Story) == 0
    assert await _count(sessions, StoryKey) == 0


# -- updates never take another story's canonical URL -------------------------------------------


async def test_update_keeps_canonical_url_that_belongs_to_another_story(repos, sessions):
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    other = await make_feed(feeds, "beta")
    await stories.store(
        feed.id, [story("a", canonical="https://n.example/1"), story("b", canonical=None)], T0
    )
    await stories.store(other.id, [story("z", canonical="https://n.example/3")], T0)
    moved = [
        story("a", title="A edited", canonical="https://site.example/b"),  # b's
        story("b", title="B edited", canonical="https://n.example/3"),  # another feed's
    ]
    result = await stories.store(feed.id, moved, T0 + timedelta(hours=1))
    assert (result.new, result.updated, result.unchanged, result.linked) == (0, 2, 0, 0)
    async with sessions() as s:
        rows = dict((await s.execute(select(Story.title, Story.canonical_url))).all())
    assert rows == {
        "A edited": "https://n.example/1",
        "B edited": "https://site.example/b",
        "Title z": "https://n.example/3",
    }
    # Stored with the new content hash: the next poll is unchanged, not another update.
    again = await stories.store(feed.id, moved, T0 + timedelta(hours=2))
    assert (again.updated, again.unchanged) == (0, 2)


async def test_update_to_a_free_canonical_url_moves_and_claims_it(repos, sessions):
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    await stories.store(
        feed.id,
        [story("a", canonical="https://n.example/a"), story("b", canonical="https://n.example/b")],
        T0,
    )
    doc = [
        story("a", title="A moved", canonical="https://n.example/free"),
        # Moving to the same free URL in the same document: the first update has it.
        story("b", title="B moved", canonical="https://n.example/free"),
        # A new key for the article "a" now lives at: the same story, not an insert.
        story("c", canonical="https://n.example/free"),
    ]
    result = await stories.store(feed.id, doc, T0 + timedelta(hours=1))
    assert (result.new, result.updated, result.unchanged, result.linked) == (0, 2, 1, 0)
    async with sessions() as s:
        rows = dict((await s.execute(select(Story.title, Story.canonical_url))).all())
        keys = dict((await s.execute(select(StoryKey.key, StoryKey.story_id))).all())
    assert rows == {"A moved": "https://n.example/free", "B moved": "https://n.example/b"}
    assert keys["c"] == keys["a"]


# -- identity across documents whose usable key kinds differ ------------------------------------

_DATED = T0 - timedelta(days=2)


def _item(name: str, *, guid: str | None = None, title: str | None = None) -> ParsedEntry:
    return _entry(
        guid=guid if guid is not None else f"urn:{name}",
        link=f"https://x.test/{name}",
        title=title or f"Post {name}",
        published=_DATED,
    )


async def _prune_all(stories: StoriesRepository) -> None:
    assert await stories.prune(seen_before=T0 + timedelta(days=1)) > 0


async def test_pruned_story_is_not_reposted_when_guids_become_unusable(repos, sessions):
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    old = [_item("a"), _item("b")]
    first = await stories.store(feed.id, _doc(*old), T0)
    assert first.new == 2
    await _prune_all(stories)  # only tombstone keys (urn:a, urn:b) are left
    # Two new posts share a guid: this document keys every item by link.
    flipped = _doc(*old, _item("c", guid="urn:dup"), _item("d", guid="urn:dup"))
    assert {s.key_kind for s in flipped} == {"link"}
    result = await stories.store(feed.id, flipped, T0 + timedelta(days=2))
    assert (result.new, result.unchanged, _total(result)) == (2, 2, 4)
    async with sessions() as s:
        titles = sorted(await s.scalars(select(Story.title)))
        tombstones = set(await s.scalars(select(StoryKey.key).where(StoryKey.story_id.is_(None))))
    assert titles == ["Post c", "Post d"]
    # The new keys were recorded as tombstones too: the next flip is a plain key hit.
    assert {"https://x.test/a", "https://x.test/b"} <= tombstones
    back = await stories.store(feed.id, _doc(*old), T0 + timedelta(days=3))
    assert (back.new, back.unchanged) == (0, 2)


async def test_pruned_story_is_not_reposted_when_guids_become_usable(repos, sessions):
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    # First seen in documents with a repeated guid: keyed by link.
    first = await stories.store(
        feed.id, _doc(_item("a", guid="urn:dup"), _item("b", guid="urn:dup")), T0
    )
    assert first.new == 2
    await _prune_all(stories)
    # The feed fixes its guids: keyed by guid now, known by the link keys.
    fixed = _doc(_item("a"), _item("b"), _item("c"))
    assert {s.key_kind for s in fixed} == {"guid"}
    result = await stories.store(feed.id, fixed, T0 + timedelta(days=2))
    assert (result.new, result.unchanged) == (1, 2)
    assert await _count(sessions, Story) == 1


async def test_pruned_story_is_not_reposted_when_links_become_usable(repos, sessions):
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    # No guids, every link the home page: keyed by hash (title + date) in this document.
    home = [
        _entry(link="https://x.test/", title="A", published=_DATED),
        _entry(link="https://x.test/", title="B", published=_DATED - timedelta(days=1)),
    ]
    assert {s.key_kind for s in _doc(*home)} == {"hash"}
    assert (await stories.store(feed.id, _doc(*home), T0)).new >= 1
    await _prune_all(stories)
    # The feed gets real links: keyed by link now, known by the hash keys.
    fixed = [
        _entry(link="https://x.test/a", title="A", published=_DATED),
        _entry(link="https://x.test/b", title="B", published=_DATED - timedelta(days=1)),
        _entry(link="https://x.test/c", title="C", published=T0),
    ]
    assert {s.key_kind for s in _doc(*fixed)} == {"link"}
    result = await stories.store(feed.id, _doc(*fixed), T0 + timedelta(days=2))
    assert (result.new, result.unchanged) == (1, 2)


async def test_live_story_found_by_another_key_is_updated_in_place(repos, sessions):
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    first = await stories.store(feed.id, _doc(_item("a", guid="urn:a")), T0)
    edited = _item("a", guid="urn:a", title="Post a, corrected")
    flipped = _doc(edited, _item("c", guid="urn:dup"), _item("d", guid="urn:dup"))
    result = await stories.store(feed.id, flipped, T0 + timedelta(hours=1))
    assert (result.new, result.updated, result.unchanged, result.linked) == (2, 1, 0, 0)
    assert first.new_ids[0] not in result.new_ids
    async with sessions() as s:
        row = (await s.execute(select(Story.id, Story.title).order_by(Story.id))).first()
        keys = dict((await s.execute(select(StoryKey.key, StoryKey.story_id))).all())
    assert row is not None and tuple(row) == (first.new_ids[0], "Post a, corrected")
    assert keys["https://x.test/a"] == keys["urn:a"] == first.new_ids[0]


async def test_candidate_shared_by_two_items_identifies_neither(repos, sessions):
    # A guid two items of one document share cannot say which of them an old key meant:
    # both are stored rather than one new post swallowed as "already seen".
    feeds, stories = repos
    feed = await make_feed(feeds, "alpha")
    await stories.store(feed.id, _doc(_item("a", guid="urn:shared")), T0)
    await _prune_all(stories)
    doc = _doc(_item("b", guid="urn:shared"), _item("c", guid="urn:shared"))
    result = await stories.store(feed.id, doc, T0 + timedelta(days=2))
    assert (result.new, result.unchanged) == (2, 0)


# -- several feeds' documents in one transaction (store_many) ------------------------------------


def _scenario(prefix: str) -> tuple[list[list[NormalizedStory]], list[list[NormalizedStory]]]:
    """(what three feeds A, B, C already hold, their next documents): every way one document
    of a batch can depend on an earlier one."""
    p = f"https://{prefix}.example"

    def s(key: str, url: str, **kw: Any) -> NormalizedStory:
        return story(f"{prefix}-{key}", canonical=f"{p}/{url}", title=kw.pop("title", key), **kw)

    old = T0 - timedelta(days=1)
    before = [
        [s("a1", "1", published=old), s("a2", "2", published=old), s("a3", "3", published=old)],
        [s("b1", "b1", published=old)],
        [],
    ]
    after = [
        [
            s("a1", "1", published=old),  # unchanged
            s("a2", "2-moved", title="a2 moved", published=old),  # edited, gives up /2
            s("a3", "3", title="a3 edited", published=old),  # edited in place
            s("a4", "new", published=T0 - timedelta(hours=2)),
            s("a5", "shared", tags=("x",), published=T0 - timedelta(hours=3)),
        ],
        [
            s("b1", "b1", published=old),  # unchanged
            s("b2", "shared"),  # A inserts it in this batch: linked
            s("b3", "2", published=T0 - timedelta(hours=4)),  # A gave it up: new
            s("b4", "2-moved"),  # A's story moved there: linked
            s("b5", "b5", tags=("y", "Y"), published=T0 - timedelta(hours=5)),
        ],
        [
            s("c1", "b5"),  # B inserts it in this batch: linked
            s("c2", "1"),  # A's old story: linked
            s("c3", "c3"),
        ],
    ]
    return before, after


async def _snapshot(sessions, feed_ids: list[int], results: list[StoreResult]) -> Any:
    """The database as seen from these feeds, with ids replaced by titles (order kept)."""
    role = {fid: i for i, fid in enumerate(feed_ids)}
    async with sessions() as s:
        rows = (
            await s.execute(
                select(Story.id, Story.title, Story.canonical_url, Story.feed_id, Story.backfill)
                .where(Story.feed_id.in_(feed_ids))
                .order_by(Story.id)
            )
        ).all()
        title = {sid: t for sid, t, *_ in rows}
        keys = (
            await s.execute(
                select(StoryKey.feed_id, StoryKey.key, StoryKey.story_id).where(
                    StoryKey.feed_id.in_(feed_ids)
                )
            )
        ).all()
        tags = (await s.execute(select(StoryTag.story_id, StoryTag.tag))).all()
    host = (rows[0][2] or "").split("/")[2]
    return (
        [(t, (url or "").replace(host, "H"), role[fid], bf) for _, t, url, fid, bf in rows],
        sorted((role[fid], key.rsplit("-", 1)[1], title.get(sid)) for fid, key, sid in keys),
        sorted((title[sid], tag) for sid, tag in tags if sid in title),
        [(r.new, r.updated, r.unchanged, r.linked, [title[i] for i in r.new_ids]) for r in results],
    )


class _OneByOneCounted(StoriesRepository):
    """Counts documents stored on their own: store_many falls back to that when refused."""

    alone = 0

    async def store(self, *args: Any, **kw: Any) -> StoreResult:
        self.alone += 1
        return await super().store(*args, **kw)


async def test_store_many_is_storing_the_documents_one_after_another(repos, sessions):
    feeds, _ = repos
    stories = _OneByOneCounted(sessions)
    snapshots = []
    for prefix, batched in (("one-by-one", False), ("batched", True)):
        ids = [(await make_feed(feeds, f"{prefix}-{name}")).id for name in "abc"]
        before, after = _scenario(prefix)
        for fid, doc in zip(ids, before, strict=True):
            if doc:
                await stories.store(fid, doc, T0 - timedelta(hours=6), backfill=True)
        later = T0 + timedelta(hours=1)
        if batched:
            docs = [Document(fid, doc, later) for fid, doc in zip(ids, after, strict=True)]
            stories.alone = 0
            results = await stories.store_many(docs)
            assert stories.alone == 0  # one transaction, not a fallback to one by one
        else:
            results = [
                await stories.store(fid, doc, later) for fid, doc in zip(ids, after, strict=True)
            ]
        assert all(isinstance(r, StoreResult) for r in results)
        snapshots.append(await _snapshot(sessions, ids, cast(list[StoreResult], results)))
    assert snapshots[1] == snapshots[0]
    rows, keys, _, results = snapshots[1]
    assert results == [
        (2, 2, 1, 0, ["a5", "a4"]),
        (2, 0, 1, 2, ["b5", "b3"]),
        (1, 0, 0, 2, ["c3"]),
    ]
    assert ("a2 moved", "https://H/2-moved", 0, True) in rows
    assert ("b3", "https://H/2", 1, False) in rows
    assert (1, "b4", "a2 moved") in keys and (2, "c1", "b5") in keys and (1, "b2", "a5") in keys


async def test_store_many_refused_row_costs_only_its_item(repos, sessions, backend):
    feeds, stories = repos
    one = await make_feed(feeds, "alpha")
    two = await make_feed(feeds, "beta")
    await _poison(sessions, backend, "Title bad")
    results = await stories.store_many(
        [
            Document(one.id, [story("a"), story("bad"), story("b")], T0),
            Document(two.id, [story("c", canonical="https://n.example/c")], T0),
        ]
    )
    assert [(r.new, r.unchanged) for r in cast(list[StoreResult], results)] == [(2, 0), (1, 0)]
    async with sessions() as s:
        assert sorted(await s.scalars(select(StoryKey.key))) == ["a", "b", "c"]


async def test_store_many_reports_errors_per_document(repos, sessions):
    feeds, stories = repos
    one = await make_feed(feeds, "alpha")
    two = await make_feed(feeds, "beta")
    three = await make_feed(feeds, "gamma")
    results = await stories.store_many(
        [
            Document(one.id, [story("a")], T0, search=[]),  # not parallel to the stories
            Document(two.id, [story("b")], T0),
            Document(three.id, [], T0),
            # The same feed again: planned after the first, so its item is known by then.
            Document(two.id, [story("b"), story("d", canonical="https://n.example/d")], T0),
        ]
    )
    assert isinstance(results[0], ValueError)
    assert [(r.new, r.unchanged) for r in cast(list[StoreResult], results[1:])] == [
        (1, 0),
        (0, 0),
        (1, 1),
    ]

    class Broken(StoriesRepository):
        async def _write(self, *args: Any) -> Any:
            raise RuntimeError("disk on fire")

    four = await make_feed(feeds, "delta")
    failed = await Broken(sessions).store_many(
        [Document(three.id, [story("e")], T0), Document(four.id, [story("f")], T0)]
    )
    # Not a refused row: every document fails with it (retrying each would fail again).
    assert [type(r) for r in failed] == [RuntimeError, RuntimeError]
    assert await _count(sessions, Story) == 2


async def test_sqlite_key_lookup_is_exact_for_keys_json_cannot_carry(sqlite_template, tmp_path):
    # SQLite only: PostgreSQL text cannot hold NUL at all. The batch key lookup sends keys as
    # JSON, which SQLite cuts at NUL ("a\x00b" would find "a"); normalize never makes such a
    # key, but the repository takes stories from anyone.
    target = tmp_path / "nul.db"
    shutil.copyfile(sqlite_template, target)
    engine = create_engine(f"sqlite+aiosqlite:///{target}")
    try:
        sessions = session_factory(engine)
        feeds, stories = FeedsRepository(sessions), StoriesRepository(sessions)
        feed = await make_feed(feeds, "alpha")
        odd = story("a\x00b", canonical="https://n.example/odd")
        first = await stories.store(feed.id, [story("a"), odd], T0)
        assert first.new == 2
        again = await stories.store(feed.id, [odd], T0 + timedelta(hours=1))
        assert (again.new, again.updated, again.unchanged) == (0, 0, 1)
    finally:
        await engine.dispose()
