"""SQL for storing normalized stories (invariants 1, 2, 4) and pruning old ones.

Per fetched document, in one transaction and with two lookups:

1. every candidate key of the document's items in ``story_keys`` for this feed, joined to the
   story's content hash. An item's own key comes first, then the guid, link and hash keys that
   another document of the feed may have given it (which kinds are usable is decided per
   document, so keys can flip between fetches); a candidate two items of this document share
   identifies neither and is not used. A known item is unchanged, or updated in place when its
   hash changed (never a new row, so never re-announced: watermarks are ids); a tombstone
   (story_id NULL) is left alone forever. An item known only by another of its keys gets its
   own key as one more row for the same story, or tombstone;
2. the canonical URLs of the unknown items, and the new canonical URLs of updated stories, in
   ``stories``: a hit is the same story reached through another feed (or a re-keyed item),
   linked with one more ``story_keys`` row; an update whose new canonical URL belongs to
   another story keeps its old one;
3. everything else is inserted, oldest first, so ids (the brief watermark) follow the feed.

Two workers may store the same article from two feeds at once; the loser hits the unique
canonical URL (or key) and the document is planned again, when step 2 finds the winner. If the
database still refuses a row, every item is written under its own savepoint: an item it refuses
is logged and skipped (and tried again on the next poll), and one odd item never stops a feed.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import delete, exists, insert, select, text, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.models import NormalizedStory
from bot.core.normalize import SearchText, candidate_keys, search_text_for
from bot.storage.bookmarks_repo import prunable_story_ids
from bot.storage.locks import story_writes_shared
from bot.storage.models import Bookmark, Story, StoryKey, StoryTag

log = logging.getLogger(__name__)

_CHUNK = 500  # bound parameters per IN (...): well under SQLite's and asyncpg's limits
_URL_MAX = 2048
_T = TypeVar("_T")


def _refused(exc: BaseException) -> bool:
    """The database refusing one row's data (a unique key, a value it cannot hold): that item
    is skipped. Anything else (locked, disconnected, a bug) fails the document, polled again.

    asyncpg's data errors arrive as plain DBAPIError, so PostgreSQL's SQLSTATE class decides
    (22 data exception, 23 integrity constraint); sqlite3 raises a bare UnicodeEncodeError for
    a lone surrogate, which no column can hold.
    """
    if isinstance(exc, (IntegrityError, DataError, UnicodeError)):
        return True
    if isinstance(exc, DBAPIError) and not exc.connection_invalidated:
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(state, str) and state[:2] in ("22", "23")
    return False


def _why(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc)[:300]


NEW, UPDATED, UNCHANGED, LINKED = "new", "updated", "unchanged", "linked"


@dataclass(frozen=True, slots=True)
class StoreResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0  # known from another feed (same canonical URL): one story, two keys
    new_ids: tuple[int, ...] = ()


@dataclass(slots=True)
class _Item:
    """What storing one item of the document writes."""

    index: int  # position in the document (and in the search texts)
    story: NormalizedStory
    outcome: str  # NEW | UPDATED | UNCHANGED | LINKED
    target: int | None = None  # the existing story it is (None: inserted here, or a tombstone)
    joins: int | None = None  # or: the index of the item of this document that inserts it
    add_key: bool = False  # a story_keys row for story.key (NEW items always get one)
    canonical: str | None = None  # UPDATED: the canonical URL to write


@dataclass
class _Plan:
    items: list[_Item] = field(default_factory=list)  # the items that write something
    unchanged: int = 0  # known items with nothing to write


class _Known(NamedTuple):  # a NamedTuple: one per known key on every store, cheap to build
    story_id: int | None  # None: a tombstone
    digest: str | None
    owner: int | None
    canonical: str | None


def _chunks(items: Sequence[_T], size: int = _CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _url(value: str | None) -> str | None:
    # Longer URLs do not fit the column; a cut canonical URL would merge different stories.
    return value if value and len(value) <= _URL_MAX else None


def _tags(story: NormalizedStory) -> list[str]:
    seen: dict[str, str] = {}
    for tag in story.tags:
        cut = tag[:100]
        seen.setdefault(cut.casefold(), cut)
    return list(seen.values())


def _columns(story: NormalizedStory, search: SearchText, now: datetime) -> dict[str, Any]:
    return {
        "canonical_url": _url(story.canonical_url),
        "url": _url(story.url),
        "title": story.title,
        "summary": story.summary,
        "content_text": story.content_text,
        "author": story.author[:300] if story.author else None,
        "image_url": _url(story.image_url),
        "language": story.language[:16] if story.language else None,
        "published_at": story.published_at,
        "updated_at": now,
        "content_hash": story.content_hash,
        "search_title": search[0],
        "search_body": search[1],
    }


def _oldest_first(items: list[_Item]) -> list[_Item]:
    # Oldest first, so ids follow publication within one document; documents list newest
    # first, so among equal dates the later position is the older item.
    return sorted(items, key=lambda it: (it.story.published_at, -it.index))


def _key_target(item: _Item, id_of: dict[int, int]) -> int | None:
    if item.outcome == NEW:
        return id_of[item.index]
    if item.joins is not None:
        return id_of[item.joins]
    return item.target


def _result(plan: _Plan, written: list[_Item], new_ids: list[int]) -> StoreResult:
    outcomes = Counter(it.outcome for it in written)
    return StoreResult(
        new=len(new_ids),
        updated=outcomes[UPDATED],
        unchanged=plan.unchanged + outcomes[UNCHANGED],
        linked=outcomes[LINKED],
        new_ids=tuple(new_ids),
    )


async def _open_for_savepoints(s: AsyncSession) -> None:
    """pysqlite begins its transaction lazily, at the first write. A SAVEPOINT before that
    opens a transaction of its own, which RELEASE then commits: atomicity gone. A no-op write
    makes it begin the real one first. PostgreSQL needs nothing."""
    if s.get_bind().dialect.name == "sqlite":
        await s.execute(text("DELETE FROM story_keys WHERE 0"))


class StoriesRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def store(
        self,
        feed_id: int,
        stories: Sequence[NormalizedStory],
        now: datetime,
        *,
        search: Sequence[SearchText] | None = None,
        backfill: bool = False,
    ) -> StoreResult:
        """Store one document's stories for one feed. ``search`` (parallel to ``stories``)
        is the precomputed search text, e.g. from the parser workers. ``backfill``: this is
        the feed's first successful fetch, so its new stories are archived and searchable but
        never announced (invariant 3; briefs skip ``stories.backfill``)."""
        if not stories:
            return StoreResult()
        if search is not None and len(search) != len(stories):
            raise ValueError("search must be parallel to stories")
        texts = list(search) if search is not None else [search_text_for(s) for s in stories]
        for attempt in (1, 2):
            try:
                async with self.sessions.begin() as s:
                    # Before any id is drawn: the brief planner waits for us (see locks.py).
                    await story_writes_shared(s)
                    plan = await self._plan(s, feed_id, stories)
                    if attempt == 1:
                        return await self._write(s, feed_id, plan, texts, now, backfill)
                    # Planned again, so a race with another worker is resolved by now: the
                    # batch again, then, if the database still refuses it, item by item.
                    await _open_for_savepoints(s)
                    try:
                        async with s.begin_nested():
                            return await self._write(s, feed_id, plan, texts, now, backfill)
                    except Exception as exc:
                        if not _refused(exc):
                            raise
                        log.warning(
                            "story batch refused; storing item by item",
                            extra={"feed": feed_id, "error": _why(exc)},
                        )
                    return await self._write_each(s, feed_id, plan, texts, now, backfill)
            except Exception as exc:
                if attempt == 2 or not _refused(exc):
                    raise
                log.info(
                    "story store refused (raced another worker?); planning again",
                    extra={"feed": feed_id, "error": _why(exc)},
                )
        raise AssertionError("unreachable")

    # -- planning -----------------------------------------------------------------------------

    async def _plan(
        self, s: AsyncSession, feed_id: int, stories: Sequence[NormalizedStory]
    ) -> _Plan:
        plan = _Plan()
        candidates = [candidate_keys(st) for st in stories]
        # A candidate two items share identifies neither (a guid repeated in the document).
        # candidate_keys lists each key of one item once.
        shared = Counter(key for keys in candidates for key in keys)
        wanted: list[tuple[int, NormalizedStory, tuple[str, ...]]] = []
        taken: set[str] = set()
        for index, (story, keys) in enumerate(zip(stories, candidates, strict=True)):
            if story.key in taken:
                # story_keys holds one row per (feed, key): the first item keeps the key.
                log.info(
                    "story key repeated in one document; keeping the first",
                    extra={"feed": feed_id, "key": story.key[:200]},
                )
                plan.unchanged += 1
                continue
            taken.add(story.key)
            if len(keys) > 1:
                keys = (keys[0], *[k for k in keys[1:] if shared[k] == 1])
            wanted.append((index, story, keys))

        known: dict[str, _Known] = {}
        lookup = list({key: None for _, _, keys in wanted for key in keys})
        for part in _chunks(lookup):
            found_rows = await s.execute(
                select(
                    StoryKey.key,
                    StoryKey.story_id,
                    Story.content_hash,
                    Story.feed_id,
                    Story.canonical_url,
                )
                .outerjoin(Story, Story.id == StoryKey.story_id)
                .where(StoryKey.feed_id == feed_id, StoryKey.key.in_(part))
            )
            for key, sid, digest, owner, canonical in found_rows.all():
                known[key] = _Known(sid, digest, owner, canonical)

        updating: set[int] = set()  # one update per story, the first item's
        moves: list[_Item] = []  # updates whose canonical URL changes
        fresh: list[tuple[int, NormalizedStory]] = []
        for index, story, looked_up in wanted:
            hit = story.key if story.key in known else None
            if hit is None:
                hit = next((key for key in looked_up[1:] if key in known), None)
            if hit is None:
                fresh.append((index, story))
                continue
            found = known[hit]
            other_key = hit != story.key  # known by a key another document gave it
            sid = found.story_id
            if (
                sid is not None
                and found.owner == feed_id
                and found.digest != story.content_hash
                and sid not in updating
            ):
                updating.add(sid)
                item = _Item(
                    index, story, UPDATED, target=sid, add_key=other_key, canonical=found.canonical
                )
                plan.items.append(item)
                if _url(story.canonical_url) not in (None, found.canonical):
                    moves.append(item)
                else:
                    item.canonical = _url(story.canonical_url)
            elif other_key:
                # Tombstones stay tombstones; another feed's story is that feed's to update.
                plan.items.append(_Item(index, story, UNCHANGED, target=sid, add_key=True))
            else:
                plan.unchanged += 1

        urls = {u for _, st in fresh if (u := _url(st.canonical_url))}
        urls.update(u for it in moves if (u := _url(it.story.canonical_url)))
        by_url: dict[str, tuple[int, str, int]] = {}
        for part in _chunks(sorted(urls)):
            rows = await s.execute(
                select(Story.canonical_url, Story.id, Story.content_hash, Story.feed_id).where(
                    Story.canonical_url.in_(part)
                )
            )
            for hit_url, hit_id, hit_digest, hit_owner in rows.all():
                if hit_url is not None and hit_id is not None:
                    by_url[hit_url] = (hit_id, hit_digest, hit_owner)

        claimed: dict[str, _Item] = {}  # canonical URL -> the item that gives a story it
        for item in moves:
            url = _url(item.story.canonical_url)
            assert url is not None
            holder = by_url.get(url)
            if (holder is not None and holder[0] != item.target) or url in claimed:
                # The unique canonical URL is another story's: keep the old one.
                log.info(
                    "updated story keeps its canonical URL: the new one is another story's",
                    extra={"feed": feed_id, "story": item.target, "url": url[:300]},
                )
                continue
            item.canonical = url
            claimed[url] = item
        for index, story in fresh:
            url = _url(story.canonical_url)
            if url is not None and url in by_url:
                hit_id, hit_digest, hit_owner = by_url[url]
                if hit_owner != feed_id:
                    plan.items.append(_Item(index, story, LINKED, target=hit_id, add_key=True))
                elif hit_digest != story.content_hash and hit_id not in updating:
                    updating.add(hit_id)
                    plan.items.append(
                        _Item(index, story, UPDATED, target=hit_id, add_key=True, canonical=url)
                    )
                else:
                    plan.items.append(_Item(index, story, UNCHANGED, target=hit_id, add_key=True))
                continue
            if url is not None and url in claimed:
                # Two keys, one article in the same document: link the second to the first.
                first = claimed[url]
                joins = first.index if first.outcome == NEW else None
                plan.items.append(
                    _Item(index, story, UNCHANGED, target=first.target, joins=joins, add_key=True)
                )
                continue
            item = _Item(index, story, NEW)
            if url is not None:
                claimed[url] = item
            plan.items.append(item)
        return plan

    # -- writing ------------------------------------------------------------------------------

    async def _write(
        self,
        s: AsyncSession,
        feed_id: int,
        plan: _Plan,
        texts: list[SearchText],
        now: datetime,
        backfill: bool,
    ) -> StoreResult:
        """The whole plan in a few statements (the usual case)."""
        inserts = _oldest_first([it for it in plan.items if it.outcome == NEW])
        ids = await self._insert(s, feed_id, inserts, texts, now, backfill)
        id_of = {it.index: sid for it, sid in zip(inserts, ids, strict=True)}
        key_rows = [
            {
                "feed_id": feed_id,
                "key": it.story.key,
                "story_id": _key_target(it, id_of),
                "first_seen_at": now,
            }
            for it in plan.items
            if it.outcome == NEW or it.add_key
        ]
        if key_rows:
            await s.execute(insert(StoryKey), key_rows)
        tag_rows = [
            {"story_id": id_of[it.index], "tag": t} for it in inserts for t in _tags(it.story)
        ]
        if tag_rows:
            await s.execute(insert(StoryTag), tag_rows)
        for it in plan.items:
            if it.outcome == UPDATED:
                await self._update(s, it, texts, now)
        return _result(plan, plan.items, ids)

    async def _write_each(
        self,
        s: AsyncSession,
        feed_id: int,
        plan: _Plan,
        texts: list[SearchText],
        now: datetime,
        backfill: bool,
    ) -> StoreResult:
        """The plan item by item, each under a savepoint: what the database refuses is skipped
        (and logged); the rest is stored. Call _open_for_savepoints first."""
        inserts = _oldest_first([it for it in plan.items if it.outcome == NEW])
        others = [it for it in plan.items if it.outcome != NEW]
        id_of: dict[int, int] = {}
        written: list[_Item] = []
        for it in [*inserts, *others]:
            if it.joins is not None and it.joins not in id_of:
                log.warning(
                    "story key skipped: the story it joins was refused",
                    extra={"feed": feed_id, "key": it.story.key[:200]},
                )
                continue
            try:
                async with s.begin_nested():
                    if it.outcome == NEW:
                        [sid] = await self._insert(s, feed_id, [it], texts, now, backfill)
                        id_of[it.index] = sid
                        tags = [{"story_id": sid, "tag": t} for t in _tags(it.story)]
                        if tags:
                            await s.execute(insert(StoryTag), tags)
                    if it.outcome == NEW or it.add_key:
                        await s.execute(
                            insert(StoryKey),
                            {
                                "feed_id": feed_id,
                                "key": it.story.key,
                                "story_id": _key_target(it, id_of),
                                "first_seen_at": now,
                            },
                        )
                    if it.outcome == UPDATED:
                        await self._update(s, it, texts, now)
            except Exception as exc:
                if not _refused(exc):
                    raise
                id_of.pop(it.index, None)
                log.warning(
                    "story skipped: the database refused it",
                    extra={
                        "feed": feed_id,
                        "key": it.story.key[:200],
                        "title": it.story.title[:200],
                        "error": _why(exc),
                    },
                )
                continue
            written.append(it)
        new_ids = [id_of[it.index] for it in inserts if it.index in id_of]
        return _result(plan, written, new_ids)

    async def _insert(
        self,
        s: AsyncSession,
        feed_id: int,
        items: list[_Item],
        texts: list[SearchText],
        now: datetime,
        backfill: bool,
    ) -> list[int]:
        """Story rows for ``items`` (in that order); their ids in the same order."""
        if not items:
            return []
        rows = [
            {
                **_columns(it.story, texts[it.index], now),
                "feed_id": feed_id,
                "first_seen_at": now,
                "backfill": backfill,
            }
            for it in items
        ]
        ids: list[int] = []
        sqlite = s.get_bind().dialect.name == "sqlite"
        for part in _chunks(rows, 200):
            # SQLAlchemy can only keep RETURNING in parameter order on SQLite by inserting
            # row by row. Not needed there: one writer holds the lock, and a multi-row VALUES
            # hands out rowids in order, so the sorted ids ARE the parameter order.
            # render_nulls: otherwise the ORM drops None columns and splits the batch
            # whenever image/author presence alternates.
            stmt = insert(Story).execution_options(render_nulls=True)
            if sqlite:
                result = await s.execute(stmt.returning(Story.id), list(part))
                ids.extend(sorted(int(x) for x in result.scalars().all()))
            else:
                result = await s.execute(
                    stmt.returning(Story.id, sort_by_parameter_order=True), list(part)
                )
                ids.extend(int(x) for x in result.scalars().all())
        return ids

    async def _update(
        self, s: AsyncSession, item: _Item, texts: list[SearchText], now: datetime
    ) -> None:
        assert item.target is not None
        values = _columns(item.story, texts[item.index], now)
        values["canonical_url"] = item.canonical
        await s.execute(
            update(Story)
            .where(Story.id == item.target)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await s.execute(delete(StoryTag).where(StoryTag.story_id == item.target))
        tags = [{"story_id": item.target, "tag": t} for t in _tags(item.story)]
        if tags:
            await s.execute(insert(StoryTag), tags)

    # -- retention ----------------------------------------------------------------------------

    async def prune(self, *, seen_before: datetime, batch: int = 1000) -> int:
        """Delete story content first seen before ``seen_before``, except bookmarked stories.

        Keys survive as tombstones (story_id NULL), so a pruned item that reappears in its feed
        is recognised and not posted again. Batched so a first prune of a big archive does not
        hold the write lock for minutes.
        """
        total = 0
        while True:
            async with self.sessions.begin() as s:
                ids = await prunable_story_ids(s, seen_before=seen_before, limit=batch)
                if not ids:
                    return total
                # Re-checked in the DELETE: a bookmark made since the select must win.
                deleted = list(
                    await s.scalars(
                        delete(Story)
                        .where(Story.id.in_(ids), ~exists().where(Bookmark.story_id == Story.id))
                        .returning(Story.id)
                    )
                )
                if deleted:
                    # ON DELETE SET NULL does this already; explicit, so it never depends on
                    # the SQLite foreign_keys pragma being on.
                    await s.execute(
                        update(StoryKey)
                        .where(StoryKey.story_id.in_(deleted))
                        .values(story_id=None)
                        .execution_options(synchronize_session=False)
                    )
                total += len(deleted)
                if len(ids) < batch:
                    return total
