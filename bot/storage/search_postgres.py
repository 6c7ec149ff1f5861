"""Ranked full-text candidates on PostgreSQL (tsvector + GIN, built by migration 0002).

A GIN index has no order, so "the ``window`` newest matches" narrows by id-bucket lexemes
that the generated column adds ("#<id // 1000>"): GIN intersects the newest buckets with the
words, and only real matches are read from the table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.search.fts import tsquery_expression
from bot.core.search.query import ParsedQuery
from bot.storage.search_sql import Audience, RankedIds, filters, run

# Past this many bucket lexemes in one tsquery, the rest is fetched without buckets.
MAX_BUCKETS_PER_STEP = 64
# Equal to the bucket size in migration 0002's generated column.
PG_ID_BUCKET = 1_000
# ts_rank weights {D, C, B, A}; title is A, body is B. Normalisation 1 divides by
# 1 + log(length) so long articles do not win on bulk alone, as bm25 does on SQLite.
TS_RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
TS_RANK_NORMALIZATION = 1


class PostgresRanker:
    def __init__(self, session: AsyncSession, audience: Audience, *, window: int) -> None:
        self._session = session
        self._audience = audience
        self._window = window

    async def _run(self, sql: str, params: dict[str, Any]) -> list[Any]:
        return await run(self._session, sql, params)

    async def ranked(self, query: ParsedQuery, *, limit: int, offset: int) -> RankedIds:
        # For this transaction only: a search is a handful of short index probes, for which
        # JIT compilation (10-50 ms whenever a bitmap scan's estimate passes jit_above_cost)
        # and parallel workers (several ms to start each) cost more than the work itself.
        # Except with a phrase: GIN cannot check word positions, so every row holding all
        # the words is re-read, and those long scans gain from workers.
        if not _has_phrase(query):
            await self._run(
                "SELECT set_config('jit', 'off', true), "
                "set_config('max_parallel_workers_per_gather', '0', true)",
                {},
            )
        ids = await self._candidates(query)
        if not ids:
            return RankedIds(ids=[], scores=[], total=0)
        params: dict[str, Any] = {
            "match": tsquery_expression(query.terms, query.excluded),
            "ids": ids,
            "limit": limit,
            "offset": offset,
        }
        sql = f"""
            SELECT s.id,
                   ts_rank('{TS_RANK_WEIGHTS}', s.search_vector,
                           to_tsquery('simple', :match), {TS_RANK_NORMALIZATION}) AS score
            FROM stories AS s
            WHERE s.id = ANY(:ids)
            ORDER BY score DESC, s.published_at DESC, s.id DESC
            LIMIT :limit OFFSET :offset
        """
        # One array parameter: the statement text stays the same, so it stays prepared.
        stmt = text(sql).bindparams(bindparam("ids", type_=ARRAY(BigInteger())))
        rows = list((await self._session.execute(stmt, params)).all())
        return RankedIds.of([(r[0], r[1]) for r in rows], len(ids), window=self._window)

    async def _candidates(self, query: ParsedQuery) -> list[int]:
        """The ``window`` newest matching ids: scan id buckets from the newest down until
        the window is full (GIN intersects the bucket lexemes with the words, so only real
        matches are read from the table). The first step reads one bucket; each next step
        is sized from the matches per bucket seen so far, so a common word fills the window
        in two or three round trips and a rare one widens quickly."""
        rule, rule_params = self._audience.feed_rule()
        where, params = filters(query, dialect="postgresql", driver_alias="s", feed_rule=rule)
        params |= rule_params
        where.clauses.extend(self._audience.visible("s.id", rule, query))
        params["match"] = tsquery_expression(query.terms, query.excluded)
        top = (await self._run("SELECT coalesce(max(id), 0) FROM stories", {}))[0][0]
        high = int(top) // PG_ID_BUCKET
        found: list[int] = []
        step, scanned = 1, 0
        while high >= 0 and len(found) < self._window:
            low = max(0, high - step + 1)
            if low == 0 or step > MAX_BUCKETS_PER_STEP:
                # The rest in one go: cheaper than a long list of bucket lexemes. This one
                # scan can be long (a phrase rechecks every row holding its words), so it
                # may use parallel workers again.
                await self._session.execute(
                    text("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")
                )
                matched = "s.search_vector @@ to_tsquery('simple', :match)"
                params["below"] = (high + 1) * PG_ID_BUCKET
                clauses = [matched, "s.id < :below", *where.clauses]
                low = 0
            else:
                buckets = " | ".join(f"'#{b}'" for b in range(high, low - 1, -1))
                params["buckets"] = buckets
                matched = (
                    "s.search_vector @@ (to_tsquery('simple', :match) && CAST(:buckets AS tsquery))"
                )
                clauses = [matched, *where.clauses]
            sql = f"SELECT s.id FROM stories AS s WHERE {' AND '.join(clauses)}"
            found.extend(int(r[0]) for r in await self._run(sql, dict(params)))
            params.pop("buckets", None)
            params.pop("below", None)
            scanned += high - low + 1
            high = low - 1
            step = _next_step(step, scanned=scanned, found=len(found), window=self._window)
        found.sort(reverse=True)
        return found[: self._window]


def _has_phrase(query: ParsedQuery) -> bool:
    """Whether some term is several tokens (a quoted phrase, a CJK word of 3+ characters),
    which PostgreSQL can only check against the row, not in the GIN index."""
    return any(len(term.tokens) > 1 for term in (*query.terms, *query.excluded))


def _next_step(step: int, *, scanned: int, found: int, window: int) -> int:
    """Buckets to read next: enough for the rest of the window at the density seen so far
    (with a quarter to spare, as matches are not spread evenly), never more than four
    times the last step, and four times when nothing matched yet. Past
    MAX_BUCKETS_PER_STEP the caller reads the rest."""
    if found == 0:
        return step * 4
    needed = (window - found) * scanned * 5 // (found * 4) + 1
    return max(1, min(needed, step * 4))
