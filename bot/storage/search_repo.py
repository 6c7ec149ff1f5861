"""Full-text search reads: ranked story ids for a parsed query, and the text to show.

The index is created by migration 0002 and maintained by the database itself (triggers on
SQLite, a generated column on PostgreSQL), so search only reads.

Bounded work per query: a word found in 10% of a million stories must not mean scoring
100,000 rows. So relevance ranking looks at the ``window`` (default 1000) newest matching
stories, newest by id (arrival order, the same order briefs use), and ``total`` is exact only
below that (None means "more than window"). Both backends pick that same candidate set
(bot.storage.search_sqlite, bot.storage.search_postgres); who may see which story is
bot.storage.search_sql.Audience.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.search import ParsedQuery
from bot.core.search.fts import fts5_any, tsquery_any
from bot.storage.models import Feed, Story, StoryKey
from bot.storage.search_postgres import PostgresRanker
from bot.storage.search_sql import Audience, RankedIds, filters, run
from bot.storage.search_sqlite import SqliteRanker

RANK_WINDOW = 1000

__all__ = ["RANK_WINDOW", "RankedIds", "SearchRepository", "StoryText"]


@dataclass(frozen=True)
class StoryText:
    id: int
    title: str
    url: str | None
    summary: str
    content_text: str
    published_at: datetime
    source_key: str
    source_name: str


class SearchRepository:
    """Ranked story ids for a parsed query, and the text to show for them."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        guild_id: int | None,
        all_feeds: bool = False,
        window: int = RANK_WINDOW,
    ) -> None:
        """``guild_id``: the server asking (None: a DM, shared feeds only); ``all_feeds``:
        the operator, who sees every feed (``guild_id`` is then ignored)."""
        self._session = session
        self._window = window
        self._audience = Audience(guild_id=guild_id, all_feeds=all_feeds)

    @property
    def dialect(self) -> str:
        return self._session.get_bind().dialect.name

    async def ranked(self, query: ParsedQuery, *, limit: int, offset: int) -> RankedIds:
        if not query.terms:
            return await self._newest(query, limit=limit, offset=offset)
        ranker = SqliteRanker if self.dialect == "sqlite" else PostgresRanker
        return await ranker(self._session, self._audience, window=self._window).ranked(
            query, limit=limit, offset=offset
        )

    async def _newest(self, query: ParsedQuery, *, limit: int, offset: int) -> RankedIds:
        """Operators only (source:, after:...): the newest stories that pass them."""
        dialect = self.dialect
        rule, rule_params = self._audience.feed_rule()
        where, params = filters(query, dialect=dialect, driver_alias="s", feed_rule=rule)
        params |= rule_params
        clauses = [
            *where.clauses,
            *self._audience.visible("s.id", rule, query, dialect=dialect, stored_by="s.feed_id"),
        ]
        if query.excluded:
            if dialect == "sqlite":
                params["excluded"] = fts5_any(query.excluded)
                clauses.append(
                    "s.id NOT IN (SELECT rowid FROM stories_fts WHERE stories_fts MATCH :excluded)"
                )
            else:
                params["excluded"] = tsquery_any(query.excluded)
                clauses.append("NOT (s.search_vector @@ to_tsquery('simple', :excluded))")
        condition = " AND ".join(clauses) or "1 = 1"
        params |= {"limit": limit, "offset": offset, "cap": self._window + 1}
        sql = f"""
            SELECT s.id, 0.0 AS score FROM stories AS s WHERE {condition}
            ORDER BY s.published_at DESC, s.id DESC
            LIMIT :limit OFFSET :offset
        """
        rows = await run(self._session, sql, params)
        count_sql = (
            f"SELECT count(*) FROM (SELECT 1 FROM stories AS s WHERE {condition} LIMIT :cap) AS c"
        )
        found = int((await run(self._session, count_sql, params))[0][0])
        return RankedIds.of(rows, found, window=self._window)

    async def stories(self, ids: Sequence[int]) -> dict[int, StoryText]:
        """Title, text and source of ``ids``. The source shown is the feed that stored the
        story unless this audience may not see that feed (a story another server's custom
        feed found first, visible here through a shared feed): then a feed it may see, and
        the canonical URL rather than the link as the private feed gave it."""
        if not ids:
            return {}
        stmt = (
            select(
                Story.id,
                Story.title,
                Story.url,
                Story.canonical_url,
                Story.summary,
                Story.content_text,
                Story.published_at,
                Feed.key,
                Feed.title,
                self._audience.visible_feed().label("owner_visible"),
            )
            .join(Feed, Feed.id == Story.feed_id)
            .where(Story.id.in_(list(ids)))
        )
        out: dict[int, StoryText] = {}
        hidden: list[int] = []
        for row in (await self._session.execute(stmt)).all():
            owner_visible = bool(row[9])
            if not owner_visible:
                hidden.append(row[0])
            out[row[0]] = StoryText(
                id=row[0],
                title=row[1],
                url=(row[2] or row[3]) if owner_visible else (row[3] or row[2]),
                summary=row[4] or "",
                content_text=row[5] or "",
                published_at=row[6],
                source_key=row[7],
                source_name=row[8],
            )
        if hidden:
            await self._relabel(out, hidden)
        return out

    async def _relabel(self, out: dict[int, StoryText], hidden: list[int]) -> None:
        """Name a visible linked feed for stories whose own feed is not visible."""
        stmt = (
            select(StoryKey.story_id, Feed.key, Feed.title)
            .join(Feed, Feed.id == StoryKey.feed_id)
            .where(StoryKey.story_id.in_(hidden), self._audience.visible_feed())
            .order_by(StoryKey.story_id, Feed.id)
        )
        relabelled: set[int] = set()
        for story_id, key, title in (await self._session.execute(stmt)).all():
            if story_id is None or story_id in relabelled:
                continue
            relabelled.add(story_id)
            out[story_id] = replace(out[story_id], source_key=key, source_name=title)
        for story_id in set(hidden) - relabelled:  # unlinked since ranking: show nothing
            del out[story_id]
