"""SQL for storing normalized stories (invariants 1, 2, 4) and pruning old ones.

Per fetched document (or per batch of documents of different feeds, see ``store_many``), in
one transaction and with two lookups:

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

import json
import logging
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import Table, delete, exists, insert, select, text, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.ingest.normalize import SearchText, candidate_keys, search_text_for
from bot.core.models import NormalizedStory
from bot.storage.bookmarks_repo import prunable_story_ids
from bot.storage.locks import story_writes_shared
from bot.storage.models import Bookmark, Story, StoryKey, StoryTag

log = logging.getLogger(__name__)

_CHUNK = 500  # bound parameters per IN (...): well under SQLite's and asyncpg's limits
_URL_MAX = 2048
_T = TypeVar("_T")
# Core tables, not the ORM entities: ORM bulk inserts re-map every row's attributes, which
# cost more than the database's own work on a cold ingest of 20,000 stories.
_STORIES = cast(Table, Story.__table__)
_KEYS = cast(Table, StoryKey.__table__)
_TAGS = cast(Table, StoryTag.__table__)

_NOT_JSON_SAFE = re.compile("[\x00\ud800-\udfff]")


_KNOWN_COLUMNS = """
    SELECT k.feed_id, k."key", k.story_id, s.content_hash, s.feed_id, s.canonical_url
"""
_KNOWN_SQLITE = text(
    _KNOWN_COLUMNS
    + """
    FROM json_each(:wanted) AS w
    JOIN story_keys AS k
      ON k.feed_id = json_extract(w.value, '$[0]') AND k."key" = json_extract(w.value, '$[1]')
    LEFT JOIN stories AS s ON s.id = k.story_id
    """
)
_KNOWN_POSTGRES = text(
    _KNOWN_COLUMNS
    + """
    FROM unnest(CAST(:feed_ids AS BIGINT[]), CAST(:keys AS TEXT[])) AS w(feed_id, "key")
    JOIN story_keys AS k ON k.feed_id = w.feed_id AND k."key" = w."key"
    LEFT JOIN stories AS s ON s.id = k.story_id
    """
)


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


@dataclass(frozen=True, slots=True)
class Document:
    """One fetched document of one feed, as ``store_many`` takes it."""

    feed_id: int
    stories: Sequence[NormalizedStory]
    now: datetime
    # Search text per story (parallel to ``stories``), e.g. from the parser workers.
    search: Sequence[SearchText] | None = None
    # The feed's first successful fetch: new stories are archived, never announced.
    backfill: bool = False


# eq=False: items are hashed by identity, so the ids they are given can be keyed by item.
@dataclass(slots=True, eq=False)
class _Item:
    """What storing one item of a document writes."""

    index: int  # position in the document (and in the search texts)
    story: NormalizedStory
    outcome: str  # NEW | UPDATED | UNCHANGED | LINKED
    target: int | None = None  # the existing story it is (None: inserted here, or a tombstone)
    joins: _Item | None = None  # or: the NEW item (of this batch) that inserts its story
    add_key: bool = False  # a story_keys row for story.key (NEW items always get one)
    canonical: str | None = None  # UPDATED: the canonical URL to write
    previous: str | None = None  # UPDATED: the canonical URL the story had


@dataclass(eq=False)
class _Plan:
    doc: Document
    texts: list[SearchText]
    items: list[_Item] = field(default_factory=list)  # the items that write something
    unchanged: int = 0  # known items with nothing to write
    updating: set[int] = field(default_factory=set)  # one update per story, the first item's


class _Known(NamedTuple):  # a NamedTuple: one per known key on every store, cheap to build
    story_id: int | None  # None: a tombstone
    digest: str | None
    owner: int | None
    canonical: str | None


class _Holder(NamedTuple):
    """The story holding a canonical URL: stored, or to be inserted by an earlier document of
    the same batch (``item``)."""

    story_id: int | None
    digest: str | None
    owner: int
    item: _Item | None = None


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


def _inserts(plan: _Plan) -> list[_Item]:
    return _oldest_first([it for it in plan.items if it.outcome == NEW])


def _key_target(item: _Item, id_of: dict[_Item, int]) -> int | None:
    if item.outcome == NEW:
        return id_of[item]
    if item.joins is not None:
        return id_of[item.joins]
    return item.target


def _key_row(plan: _Plan, item: _Item, id_of: dict[_Item, int]) -> dict[str, Any]:
    return {
        "feed_id": plan.doc.feed_id,
        "key": item.story.key,
        "story_id": _key_target(item, id_of),
        "first_seen_at": plan.doc.now,
    }


def _result(plan: _Plan, written: list[_Item], new_ids: list[int]) -> StoreResult:
    outcomes = Counter(it.outcome for it in written)
    return StoreResult(
        new=len(new_ids),
        updated=outcomes[UPDATED],
        unchanged=plan.unchanged + outcomes[UNCHANGED],
        linked=outcomes[LINKED],
        new_ids=tuple(new_ids),
    )


def _texts(doc: Document) -> list[SearchText]:
    if doc.search is None:
        return [search_text_for(s) for s in doc.stories]
    if len(doc.search) != len(doc.stories):
        raise ValueError("search must be parallel to stories")
    return list(doc.search)


async def _open_for_savepoints(s: AsyncSession) -> None:
    """pysqlite begins its transaction lazily, at the first write. A SAVEPOINT before that
    opens a transaction of its own, which RELEASE then commits: atomicity gone. A no-op write
    makes it begin the real one first. PostgreSQL needs nothing."""
    if s.get_bind().dialect.name == "sqlite":
        await s.execute(text("DELETE FROM story_keys WHERE 0"))


def _publish(plan: _Plan, holders: dict[str, _Holder]) -> None:
    """What a planned document does to canonical URLs, for the documents planned after it:
    the URLs its new stories take, and those its updates give up or move to."""
    owner = plan.doc.feed_id
    for it in plan.items:
        if it.outcome == NEW:
            url = _url(it.story.canonical_url)
            if url is not None:
                holders[url] = _Holder(None, it.story.content_hash, owner, it)
        elif it.outcome == UPDATED:
            if it.previous is not None and it.previous != it.canonical:
                holders.pop(it.previous, None)
            if it.canonical is not None:
                holders[it.canonical] = _Holder(it.target, it.story.content_hash, owner)


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
        return await self._store_one(Document(feed_id, stories, now, search, backfill))

    async def store_many(self, docs: Sequence[Document]) -> list[StoreResult | Exception]:
        """Documents of different feeds in one transaction, each with the outcome it would
        have had stored on its own right after the ones before it (an article two of them
        carry is inserted by the first and linked by the second). A batch costs a handful of
        statements where a document costs a handful each: what a cold ingest of a thousand
        feeds spends its time on.

        Returns each document's result, or the exception that stopped it. When the database
        refuses a row of the batch, every document is stored again on its own (``store``), so
        an odd item or a race with another worker costs its document a retry and nothing more.
        Any other error (locked, disconnected) is every document's: trying each one again
        would only wait that many times longer for the same answer.
        """
        results: list[StoreResult | Exception] = [StoreResult() for _ in docs]
        todo: list[int] = []
        for i, doc in enumerate(docs):
            try:
                _texts(doc)
            except ValueError as exc:
                results[i] = exc
                continue
            if doc.stories:
                todo.append(i)
        if len({docs[i].feed_id for i in todo}) != len(todo) or len(todo) <= 1:
            # Two documents of one feed see each other's keys: plain order is simplest.
            for i in todo:
                results[i] = await self._store_one_or_error(docs[i])
            return results
        try:
            async with self.sessions.begin() as s:
                # Before any id is drawn: the brief planner waits for us (see locks.py).
                await story_writes_shared(s)
                plans = await self._plan(s, [docs[i] for i in todo])
                stored = await self._write(s, plans)
        except Exception as exc:
            if not _refused(exc):
                for i in todo:
                    results[i] = exc
                return results
            log.info(
                "story batch refused (raced another worker?); storing its documents one by one",
                extra={"documents": len(todo), "error": _why(exc)},
            )
            for i in todo:
                results[i] = await self._store_one_or_error(docs[i])
            return results
        for i, result in zip(todo, stored, strict=True):
            results[i] = result
        return results

    async def _store_one_or_error(self, doc: Document) -> StoreResult | Exception:
        try:
            return await self.store(
                doc.feed_id, doc.stories, doc.now, search=doc.search, backfill=doc.backfill
            )
        except Exception as exc:
            return exc

    async def _store_one(self, doc: Document) -> StoreResult:
        if not doc.stories:
            return StoreResult()
        _texts(doc)  # fail early on a mismatched search, before any SQL
        for attempt in (1, 2):
            try:
                async with self.sessions.begin() as s:
                    # Before any id is drawn: the brief planner waits for us (see locks.py).
                    await story_writes_shared(s)
                    [plan] = await self._plan(s, [doc])
                    if attempt == 1:
                        return (await self._write(s, [plan]))[0]
                    # Planned again, so a race with another worker is resolved by now: the
                    # batch again, then, if the database still refuses it, item by item.
                    await _open_for_savepoints(s)
                    try:
                        async with s.begin_nested():
                            return (await self._write(s, [plan]))[0]
                    except Exception as exc:
                        if not _refused(exc):
                            raise
                        log.warning(
                            "story batch refused; storing item by item",
                            extra={"feed": doc.feed_id, "error": _why(exc)},
                        )
                    return await self._write_each(s, plan)
            except Exception as exc:
                if attempt == 2 or not _refused(exc):
                    raise
                log.info(
                    "story store refused (raced another worker?); planning again",
                    extra={"feed": doc.feed_id, "error": _why(exc)},
                )
        raise AssertionError("unreachable")

    # -- planning -----------------------------------------------------------------------------

    async def _plan(self, s: AsyncSession, docs: Sequence[Document]) -> list[_Plan]:
        """Plans for documents of distinct feeds: two lookups for all of them, then each
        document planned in order against what the ones before it will have written."""
        plans: list[_Plan] = []
        wanted: list[list[tuple[int, NormalizedStory, tuple[str, ...]]]] = []
        for doc in docs:
            plan = _Plan(doc, _texts(doc))
            plans.append(plan)
            wanted.append(self._wanted(plan))

        pairs = [
            (plan.doc.feed_id, key)
            for plan, doc_wanted in zip(plans, wanted, strict=True)
            for _, _, keys in doc_wanted
            for key in keys
        ]
        known = await self._known(s, pairs)
        fresh: list[list[tuple[int, NormalizedStory]]] = []
        moves: list[list[_Item]] = []
        for plan, doc_wanted in zip(plans, wanted, strict=True):
            doc_fresh, doc_moves = self._by_key(plan, doc_wanted, known)
            fresh.append(doc_fresh)
            moves.append(doc_moves)

        urls = {u for doc_fresh in fresh for _, st in doc_fresh if (u := _url(st.canonical_url))}
        urls.update(
            u for doc_moves in moves for it in doc_moves if (u := _url(it.story.canonical_url))
        )
        holders = await self._holders(s, urls)
        for plan, doc_fresh, doc_moves in zip(plans, fresh, moves, strict=True):
            self._by_url(plan, doc_fresh, doc_moves, holders)
            _publish(plan, holders)
        return plans

    def _wanted(self, plan: _Plan) -> list[tuple[int, NormalizedStory, tuple[str, ...]]]:
        """The items to look up, each with its candidate keys (a repeated key: first item)."""
        feed_id = plan.doc.feed_id
        candidates = [candidate_keys(st) for st in plan.doc.stories]
        # A candidate two items share identifies neither (a guid repeated in the document).
        # candidate_keys lists each key of one item once.
        shared = Counter(key for keys in candidates for key in keys)
        wanted: list[tuple[int, NormalizedStory, tuple[str, ...]]] = []
        taken: set[str] = set()
        for index, (story, keys) in enumerate(zip(plan.doc.stories, candidates, strict=True)):
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
        return wanted

    async def _known(
        self, s: AsyncSession, pairs: list[tuple[int, str]]
    ) -> dict[tuple[int, str], _Known]:
        """``story_keys`` rows (with their story's hash, owner and URL) for (feed, key) pairs.

        The pairs travel as one parameter (a JSON array on SQLite, two arrays on PostgreSQL)
        joined to the primary key, so both backends look each pair up in the index. Not
        ``feed_id IN (..) AND key IN (..)``: that probes every feed with every key. Not a
        VALUES list either: SQLAlchemy builds and compiles a bound parameter per value, which
        cost more than the rest of planning a batch."""
        known: dict[tuple[int, str], _Known] = {}
        unique = list(dict.fromkeys(pairs))
        if s.get_bind().dialect.name == "sqlite":
            # SQLite's JSON cuts a string at NUL and mangles lone surrogates, so keys holding
            # either (normalize never makes one; other callers might) are asked for as they are.
            odd = [pair for pair in unique if _NOT_JSON_SAFE.search(pair[1])]
            for fid, key in odd:
                row = (
                    await s.execute(
                        select(
                            StoryKey.story_id,
                            Story.content_hash,
                            Story.feed_id,
                            Story.canonical_url,
                        )
                        .outerjoin(Story, Story.id == StoryKey.story_id)
                        .where(StoryKey.feed_id == fid, StoryKey.key == key)
                    )
                ).first()
                if row is not None:
                    known[(fid, key)] = _Known(*row)
            unique = [pair for pair in unique if not _NOT_JSON_SAFE.search(pair[1])]
        for part in _chunks(unique):
            if s.get_bind().dialect.name == "sqlite":
                params: dict[str, Any] = {"wanted": json.dumps(part)}
                statement = _KNOWN_SQLITE
            else:
                params = {"feed_ids": [f for f, _ in part], "keys": [k for _, k in part]}
                statement = _KNOWN_POSTGRES
            rows = await s.execute(statement, params)
            for fid, key, sid, digest, owner, canonical in rows.all():
                known[(fid, key)] = _Known(sid, digest, owner, canonical)
        return known

    def _by_key(
        self,
        plan: _Plan,
        wanted: list[tuple[int, NormalizedStory, tuple[str, ...]]],
        known: dict[tuple[int, str], _Known],
    ) -> tuple[list[tuple[int, NormalizedStory]], list[_Item]]:
        """Items known by one of their keys; returns the unknown ones and the updates whose
        canonical URL changes (both settled by URL next)."""
        feed_id = plan.doc.feed_id
        moves: list[_Item] = []
        fresh: list[tuple[int, NormalizedStory]] = []
        for index, story, looked_up in wanted:
            hit = story.key if (feed_id, story.key) in known else None
            if hit is None:
                hit = next((key for key in looked_up[1:] if (feed_id, key) in known), None)
            if hit is None:
                fresh.append((index, story))
                continue
            found = known[(feed_id, hit)]
            other_key = hit != story.key  # known by a key another document gave it
            sid = found.story_id
            if (
                sid is not None
                and found.owner == feed_id
                and found.digest != story.content_hash
                and sid not in plan.updating
            ):
                plan.updating.add(sid)
                item = _Item(
                    index,
                    story,
                    UPDATED,
                    target=sid,
                    add_key=other_key,
                    canonical=found.canonical,
                    previous=found.canonical,
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
        return fresh, moves

    async def _holders(self, s: AsyncSession, urls: set[str]) -> dict[str, _Holder]:
        holders: dict[str, _Holder] = {}
        for part in _chunks(sorted(urls)):
            rows = await s.execute(
                select(Story.canonical_url, Story.id, Story.content_hash, Story.feed_id).where(
                    Story.canonical_url.in_(part)
                )
            )
            for hit_url, hit_id, hit_digest, hit_owner in rows.all():
                if hit_url is not None and hit_id is not None:
                    holders[hit_url] = _Holder(hit_id, hit_digest, hit_owner)
        return holders

    def _by_url(
        self,
        plan: _Plan,
        fresh: list[tuple[int, NormalizedStory]],
        moves: list[_Item],
        holders: dict[str, _Holder],
    ) -> None:
        feed_id = plan.doc.feed_id
        claimed: dict[str, _Item] = {}  # canonical URL -> the item that gives a story it
        for item in moves:
            url = _url(item.story.canonical_url)
            assert url is not None
            holder = holders.get(url)
            if (holder is not None and holder.story_id != item.target) or url in claimed:
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
            holder = holders.get(url) if url is not None else None
            if holder is not None:
                if holder.owner != feed_id:
                    plan.items.append(
                        _Item(
                            index,
                            story,
                            LINKED,
                            target=holder.story_id,
                            joins=holder.item,
                            add_key=True,
                        )
                    )
                elif holder.digest != story.content_hash and holder.story_id not in plan.updating:
                    assert holder.story_id is not None  # only other feeds' items are pending
                    plan.updating.add(holder.story_id)
                    plan.items.append(
                        _Item(
                            index,
                            story,
                            UPDATED,
                            target=holder.story_id,
                            add_key=True,
                            canonical=url,
                            previous=url,
                        )
                    )
                else:
                    plan.items.append(
                        _Item(index, story, UNCHANGED, target=holder.story_id, add_key=True)
                    )
                continue
            if url is not None and url in claimed:
                # Two keys, one article in the same document: link the second to the first.
                first = claimed[url]
                joins = first if first.outcome == NEW else None
                plan.items.append(
                    _Item(index, story, UNCHANGED, target=first.target, joins=joins, add_key=True)
                )
                continue
            item = _Item(index, story, NEW)
            if url is not None:
                claimed[url] = item
            plan.items.append(item)

    # -- writing ------------------------------------------------------------------------------

    async def _write(self, s: AsyncSession, plans: list[_Plan]) -> list[StoreResult]:
        """The plans in a few statements (the usual case). Updates first: a document planned
        after another may insert a URL the other's update gives up."""
        for plan in plans:
            for it in plan.items:
                if it.outcome == UPDATED:
                    await self._update(s, plan, it)
        inserts = [(plan, it) for plan in plans for it in _inserts(plan)]
        ids = await self._insert(s, inserts)
        id_of = {it: sid for (_, it), sid in zip(inserts, ids, strict=True)}
        key_rows = [
            _key_row(plan, it, id_of)
            for plan in plans
            for it in plan.items
            if it.outcome == NEW or it.add_key
        ]
        if key_rows:
            await s.execute(insert(_KEYS), key_rows)
        tag_rows = [{"story_id": id_of[it], "tag": t} for _, it in inserts for t in _tags(it.story)]
        if tag_rows:
            await s.execute(insert(_TAGS), tag_rows)
        return [_result(plan, plan.items, [id_of[it] for it in _inserts(plan)]) for plan in plans]

    async def _write_each(self, s: AsyncSession, plan: _Plan) -> StoreResult:
        """The plan item by item, each under a savepoint: what the database refuses is skipped
        (and logged); the rest is stored. Call _open_for_savepoints first."""
        feed_id = plan.doc.feed_id
        inserts = _inserts(plan)
        others = [it for it in plan.items if it.outcome != NEW]
        id_of: dict[_Item, int] = {}
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
                        [sid] = await self._insert(s, [(plan, it)])
                        id_of[it] = sid
                        tags = [{"story_id": sid, "tag": t} for t in _tags(it.story)]
                        if tags:
                            await s.execute(insert(_TAGS), tags)
                    if it.outcome == NEW or it.add_key:
                        await s.execute(insert(_KEYS), _key_row(plan, it, id_of))
                    if it.outcome == UPDATED:
                        await self._update(s, plan, it)
            except Exception as exc:
                if not _refused(exc):
                    raise
                id_of.pop(it, None)
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
        new_ids = [id_of[it] for it in inserts if it in id_of]
        return _result(plan, written, new_ids)

    async def _insert(self, s: AsyncSession, items: list[tuple[_Plan, _Item]]) -> list[int]:
        """Story rows for ``items`` (in that order); their ids in the same order."""
        if not items:
            return []
        rows = [
            {
                **_columns(it.story, plan.texts[it.index], plan.doc.now),
                "feed_id": plan.doc.feed_id,
                "first_seen_at": plan.doc.now,
                "backfill": plan.doc.backfill,
            }
            for plan, it in items
        ]
        ids: list[int] = []
        sqlite = s.get_bind().dialect.name == "sqlite"
        for part in _chunks(rows, 200):
            # SQLAlchemy can only keep RETURNING in parameter order on SQLite by inserting
            # row by row. Not needed there: one writer holds the lock, and a multi-row VALUES
            # hands out rowids in order, so the sorted ids ARE the parameter order.
            stmt = insert(_STORIES)
            if sqlite:
                result = await s.execute(stmt.returning(_STORIES.c.id), list(part))
                ids.extend(sorted(int(x) for x in result.scalars().all()))
            else:
                result = await s.execute(
                    stmt.returning(_STORIES.c.id, sort_by_parameter_order=True), list(part)
                )
                ids.extend(int(x) for x in result.scalars().all())
        return ids

    async def _update(self, s: AsyncSession, plan: _Plan, item: _Item) -> None:
        assert item.target is not None
        row = _columns(item.story, plan.texts[item.index], plan.doc.now)
        row["canonical_url"] = item.canonical
        await s.execute(
            update(Story)
            .where(Story.id == item.target)
            .values(**row)
            .execution_options(synchronize_session=False)
        )
        await s.execute(delete(StoryTag).where(StoryTag.story_id == item.target))
        tags = [{"story_id": item.target, "tag": t} for t in _tags(item.story)]
        if tags:
            await s.execute(insert(_TAGS), tags)

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
