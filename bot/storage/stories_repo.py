"""SQL for storing normalized stories (invariants 1, 2, 4) and pruning old ones.

Per fetched document, in one transaction and with two lookups:

1. the document's keys in ``story_keys`` for this feed (joined to the story's content hash):
   a known key is unchanged, or updated in place when its hash changed (never a new row, so
   never re-announced: watermarks are ids); a tombstone (story_id NULL) is left alone forever;
2. the canonical URLs of the unknown keys in ``stories``: a hit is the same story reached
   through another feed (or a re-keyed item), linked with one more ``story_keys`` row;
3. everything else is inserted, oldest first, so ids (the brief watermark) follow the feed.

Two workers may store the same article from two feeds at once; the loser hits the unique
canonical URL (or key) and the whole document is retried once, when step 2 finds the winner.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.models import NormalizedStory
from bot.core.normalize import SearchText, search_text_for
from bot.storage.bookmarks_repo import prunable_story_ids
from bot.storage.locks import story_writes_shared
from bot.storage.models import Bookmark, Story, StoryKey, StoryTag

log = logging.getLogger(__name__)

_CHUNK = 500  # bound parameters per IN (...): well under SQLite's and asyncpg's limits
_URL_MAX = 2048
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class StoreResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0  # known from another feed (same canonical URL): one story, two keys
    new_ids: tuple[int, ...] = ()


@dataclass
class _Plan:
    inserts: list[tuple[int, NormalizedStory]] = field(default_factory=list)
    links: list[tuple[str, int]] = field(default_factory=list)  # (key, existing story id)
    updates: list[tuple[int, int, NormalizedStory]] = field(default_factory=list)
    unchanged: int = 0
    linked: int = 0


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
                    return await self._store(s, feed_id, stories, texts, now, backfill)
            except IntegrityError:
                if attempt == 2:
                    raise
                log.info("story store raced another worker; retrying", extra={"feed": feed_id})
        raise AssertionError("unreachable")

    async def _store(
        self,
        s: AsyncSession,
        feed_id: int,
        stories: Sequence[NormalizedStory],
        texts: list[SearchText],
        now: datetime,
        backfill: bool,
    ) -> StoreResult:
        plan = await self._plan(s, feed_id, stories)
        new_ids = await self._insert(s, feed_id, plan, texts, now, backfill)
        if plan.links:
            await s.execute(
                insert(StoryKey),
                [
                    {"feed_id": feed_id, "key": key, "story_id": sid, "first_seen_at": now}
                    for key, sid in plan.links
                ],
            )
        if plan.updates:
            await self._update(s, plan.updates, texts, now)
        return StoreResult(
            new=len(new_ids),
            updated=len(plan.updates),
            unchanged=plan.unchanged,
            linked=plan.linked,
            new_ids=tuple(new_ids),
        )

    async def _plan(
        self, s: AsyncSession, feed_id: int, stories: Sequence[NormalizedStory]
    ) -> _Plan:
        plan = _Plan()
        known: dict[str, tuple[int | None, str | None, int | None]] = {}
        keys = [st.key for st in stories]
        for part in _chunks(keys):
            rows = await s.execute(
                select(StoryKey.key, StoryKey.story_id, Story.content_hash, Story.feed_id)
                .outerjoin(Story, Story.id == StoryKey.story_id)
                .where(StoryKey.feed_id == feed_id, StoryKey.key.in_(part))
            )
            for row in rows.all():
                known[row[0]] = (row[1], row[2], row[3])
        fresh: list[tuple[int, NormalizedStory]] = []
        for index, story in enumerate(stories):
            if story.key not in known:
                fresh.append((index, story))
                continue
            known_id, known_digest, known_owner = known[story.key]
            if (
                known_id is not None
                and known_owner == feed_id
                and known_digest != story.content_hash
            ):
                plan.updates.append((index, known_id, story))
            else:
                # Tombstones stay tombstones; another feed's story is that feed's to update.
                plan.unchanged += 1
        urls = sorted({u for _, st in fresh if (u := _url(st.canonical_url))})
        by_url: dict[str, tuple[int, str, int]] = {}
        for part in _chunks(urls):
            rows = await s.execute(
                select(Story.canonical_url, Story.id, Story.content_hash, Story.feed_id).where(
                    Story.canonical_url.in_(part)
                )
            )
            for hit_url, hit_id, hit_digest, hit_owner in rows.all():
                if hit_url is not None and hit_id is not None:
                    by_url[hit_url] = (hit_id, hit_digest, hit_owner)
        claimed: dict[str, int] = {}  # canonical URL -> index of the fresh story inserting it
        for index, story in fresh:
            url = _url(story.canonical_url)
            if url is not None and url in by_url:
                hit_id, hit_digest, hit_owner = by_url[url]
                plan.links.append((story.key, hit_id))
                if hit_owner == feed_id and hit_digest != story.content_hash:
                    plan.updates.append((index, hit_id, story))
                elif hit_owner == feed_id:
                    plan.unchanged += 1
                else:
                    plan.linked += 1
                continue
            if url is not None and url in claimed:
                # Two keys, one article in the same document: link the second to the first.
                plan.links.append((story.key, -claimed[url] - 1))  # resolved after insert
                plan.unchanged += 1
                continue
            if url is not None:
                claimed[url] = index
            plan.inserts.append((index, story))
        return plan

    async def _insert(
        self,
        s: AsyncSession,
        feed_id: int,
        plan: _Plan,
        texts: list[SearchText],
        now: datetime,
        backfill: bool,
    ) -> list[int]:
        if not plan.inserts:
            return []
        # Oldest first, so ids follow publication within one document; documents list newest
        # first, so among equal dates the later position is the older item.
        ordered = sorted(plan.inserts, key=lambda p: (p[1].published_at, -p[0]))
        rows = [
            {
                **_columns(st, texts[i], now),
                "feed_id": feed_id,
                "first_seen_at": now,
                "backfill": backfill,
            }
            for i, st in ordered
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
        id_of = {index: sid for (index, _), sid in zip(ordered, ids, strict=True)}
        plan.links = [(k, id_of[-sid - 1] if sid < 0 else sid) for k, sid in plan.links]
        await s.execute(
            insert(StoryKey),
            [
                {"feed_id": feed_id, "key": st.key, "story_id": id_of[i], "first_seen_at": now}
                for i, st in ordered
            ],
        )
        tag_rows = [{"story_id": id_of[i], "tag": t} for i, st in ordered for t in _tags(st)]
        if tag_rows:
            await s.execute(insert(StoryTag), tag_rows)
        return ids

    async def _update(
        self,
        s: AsyncSession,
        updates: list[tuple[int, int, NormalizedStory]],
        texts: list[SearchText],
        now: datetime,
    ) -> None:
        seen: set[int] = set()
        for index, sid, story in updates:
            if sid in seen:
                continue
            seen.add(sid)
            await s.execute(
                update(Story)
                .where(Story.id == sid)
                .values(**_columns(story, texts[index], now))
                .execution_options(synchronize_session=False)
            )
            await s.execute(delete(StoryTag).where(StoryTag.story_id == sid))
            tags = [{"story_id": sid, "tag": t} for t in _tags(story)]
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
