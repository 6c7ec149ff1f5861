"""SQL for storing normalized stories (invariants 1, 2, 4) and pruning old ones.

Storing a fetched document (or a batch of documents of different feeds, see ``store_many``)
is one transaction: ``story_identity.plan_documents`` decides which stored story each item is
(two lookups: keys, then canonical URLs); this module writes the plans, new stories oldest
first, so ids (the brief watermark) follow the feed.

Two workers may store the same article from two feeds at once; the loser hits the unique
canonical URL (or key) and the document is planned again, when the URL lookup finds the
winner. If the database still refuses a row, every item is written under its own savepoint: an
item it refuses is logged and skipped (and tried again on the next poll), and one odd item
never stops a feed.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, exists, insert, text, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.ingest.normalize import SearchText
from bot.core.models import NormalizedStory
from bot.storage.bookmarks_repo import prunable_story_ids
from bot.storage.locks import story_writes_shared
from bot.storage.models import Bookmark, Story, StoryKey, StoryTag
from bot.storage.story_identity import (
    LINKED,
    NEW,
    UNCHANGED,
    UPDATED,
    Document,
    Item,
    Plan,
    chunks,
    fit_url,
    key_row,
    new_items,
    plan_documents,
    search_texts,
)

log = logging.getLogger(__name__)

# Core tables, not the ORM entities: ORM bulk inserts re-map every row's attributes, which
# cost more than the database's own work on a cold ingest of 20,000 stories.
_STORIES = cast(Table, Story.__table__)
_KEYS = cast(Table, StoryKey.__table__)
_TAGS = cast(Table, StoryTag.__table__)

__all__ = ["Document", "StoreResult", "StoriesRepository"]


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


@dataclass(frozen=True, slots=True)
class StoreResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0  # known from another feed (same canonical URL): one story, two keys
    new_ids: tuple[int, ...] = ()


def result_of(plan: Plan, written: list[Item], new_ids: list[int]) -> StoreResult:
    outcomes = Counter(it.outcome for it in written)
    return StoreResult(
        new=len(new_ids),
        updated=outcomes[UPDATED],
        unchanged=plan.unchanged + outcomes[UNCHANGED],
        linked=outcomes[LINKED],
        new_ids=tuple(new_ids),
    )


def _tags(story: NormalizedStory) -> list[str]:
    seen: dict[str, str] = {}
    for tag in story.tags:
        cut = tag[:100]
        seen.setdefault(cut.casefold(), cut)
    return list(seen.values())


def _columns(story: NormalizedStory, search: SearchText, now: datetime) -> dict[str, Any]:
    return {
        "canonical_url": fit_url(story.canonical_url),
        "url": fit_url(story.url),
        "title": story.title,
        "summary": story.summary,
        "content_text": story.content_text,
        "author": story.author[:300] if story.author else None,
        "image_url": fit_url(story.image_url),
        "language": story.language[:16] if story.language else None,
        "published_at": story.published_at,
        "updated_at": now,
        "content_hash": story.content_hash,
        "search_title": search[0],
        "search_body": search[1],
        "kind": story.kind,
        "duration_s": story.duration_s,
        "media_url": fit_url(story.media_url),
    }


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
                search_texts(doc)
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
                plans = await plan_documents(s, [docs[i] for i in todo])
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
        search_texts(doc)  # fail early on a mismatched search, before any SQL
        for attempt in (1, 2):
            try:
                async with self.sessions.begin() as s:
                    # Before any id is drawn: the brief planner waits for us (see locks.py).
                    await story_writes_shared(s)
                    [plan] = await plan_documents(s, [doc])
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

    # -- writing ------------------------------------------------------------------------------

    async def _write(self, s: AsyncSession, plans: list[Plan]) -> list[StoreResult]:
        """The plans in a few statements (the usual case). Updates first: a document planned
        after another may insert a URL the other's update gives up."""
        for plan in plans:
            for it in plan.items:
                if it.outcome == UPDATED:
                    await self._update(s, plan, it)
        inserts = [(plan, it) for plan in plans for it in new_items(plan)]
        ids = await self._insert(s, inserts)
        id_of = {it: sid for (_, it), sid in zip(inserts, ids, strict=True)}
        key_rows = [
            key_row(plan, it, id_of)
            for plan in plans
            for it in plan.items
            if it.outcome == NEW or it.add_key
        ]
        if key_rows:
            await s.execute(insert(_KEYS), key_rows)
        tag_rows = [{"story_id": id_of[it], "tag": t} for _, it in inserts for t in _tags(it.story)]
        if tag_rows:
            await s.execute(insert(_TAGS), tag_rows)
        return [
            result_of(plan, plan.items, [id_of[it] for it in new_items(plan)]) for plan in plans
        ]

    async def _write_each(self, s: AsyncSession, plan: Plan) -> StoreResult:
        """The plan item by item, each under a savepoint: what the database refuses is skipped
        (and logged); the rest is stored. Call _open_for_savepoints first."""
        feed_id = plan.doc.feed_id
        inserts = new_items(plan)
        others = [it for it in plan.items if it.outcome != NEW]
        id_of: dict[Item, int] = {}
        written: list[Item] = []
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
                        await s.execute(insert(_KEYS), key_row(plan, it, id_of))
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
        return result_of(plan, written, new_ids)

    async def _insert(self, s: AsyncSession, items: list[tuple[Plan, Item]]) -> list[int]:
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
        for part in chunks(rows, 200):
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

    async def _update(self, s: AsyncSession, plan: Plan, item: Item) -> None:
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
