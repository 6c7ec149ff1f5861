"""Ranked full-text candidates on SQLite (FTS5, built by migration 0002).

FTS5 walks its doclists newest rowid first, so "the ``window`` newest matches" is a scan that
stops early; bm25() is computed for those rows only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.search.fts import fts5_expression
from bot.core.search.query import ParsedQuery
from bot.storage.search_sql import Audience, RankedIds, filters, run

# A date filter matching at least this many stories is checked per match, not as an id set.
WIDE_DATE_RANGE = 20_000
# bm25 column weights (search_title, search_body): a title hit counts ten body hits.
FTS5_WEIGHTS = (10.0, 1.0)


class SqliteRanker:
    def __init__(self, session: AsyncSession, audience: Audience, *, window: int) -> None:
        self._session = session
        self._audience = audience
        self._window = window

    async def ranked(self, query: ParsedQuery, *, limit: int, offset: int) -> RankedIds:
        wide = await self._wide_dates(query)
        rule, rule_params = self._audience.feed_rule()
        where, params = filters(
            query, dialect="sqlite", driver_alias="stories_fts", dates_by_join=wide, feed_rule=rule
        )
        params |= rule_params
        where.clauses.extend(self._audience.visible("stories_fts.rowid", rule, query))
        params |= {
            "match": fts5_expression(query.terms, query.excluded),
            "window": self._window,
            "limit": limit,
            "offset": offset,
        }
        w_title, w_body = FTS5_WEIGHTS
        # The candidates: FTS5 yields matches in descending rowid order and stops at the
        # window; bm25() is computed for those rows only. MATERIALIZED keeps bm25() inside
        # the FTS5 scan (it cannot be evaluated elsewhere); CROSS JOIN pins FTS5 as driver.
        join = "CROSS JOIN stories AS s ON s.id = stories_fts.rowid" if where.needs_join else ""
        sql = f"""
            WITH cands AS MATERIALIZED (
                SELECT stories_fts.rowid AS id,
                       -bm25(stories_fts, {w_title}, {w_body}) AS score
                FROM stories_fts {join}
                WHERE {" AND ".join(["stories_fts MATCH :match", *where.clauses])}
                ORDER BY stories_fts.rowid DESC
                LIMIT :window
            )
            SELECT s.id, cands.score, (SELECT count(*) FROM cands) AS n
            FROM cands CROSS JOIN stories AS s ON s.id = cands.id
            ORDER BY cands.score DESC, s.published_at DESC, s.id DESC
            LIMIT :limit OFFSET :offset
        """
        rows = await run(self._session, sql, params)
        found = int(rows[0][2]) if rows else await self._count(sql, params)
        return RankedIds.of(rows, found, window=self._window)

    async def _wide_dates(self, query: ParsedQuery) -> bool:
        """Whether a date-only filter spans many stories. Then checking each newest-first
        match against its row is cheaper (the window fills with recent stories at once)
        than building the set of every id in the range; a narrow range is the reverse."""
        if query.sources or (query.after is None and query.before is None):
            return False
        bounds = [
            c
            for c, v in (
                ("published_at >= :after", query.after),
                ("published_at < :before", query.before),
            )
            if v is not None
        ]
        params = {"after": query.after, "before": query.before, "cap": WIDE_DATE_RANGE}
        params = {k: v for k, v in params.items() if v is not None}
        sql = (
            "SELECT count(*) FROM (SELECT 1 FROM stories "
            f"WHERE {' AND '.join(bounds)} LIMIT :cap) AS c"
        )
        return int((await run(self._session, sql, params))[0][0]) >= WIDE_DATE_RANGE

    async def _count(self, sql: str, params: dict[str, Any]) -> int:
        """Candidates when the page came back empty (offset past the end, or no match)."""
        head = sql.split("SELECT s.id", 1)[0]
        count_sql = f"{head} SELECT count(*) FROM cands"
        return int((await run(self._session, count_sql, params))[0][0])
