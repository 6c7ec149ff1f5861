"""Ranked full-text candidates on SQLite (FTS5, built by migration 0002).

FTS5 walks its doclists newest rowid first, so "the ``window`` newest matches" is a scan that
stops early; bm25() is computed for those rows only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.search import ParsedQuery
from bot.core.search.fts import fts5_expression
from bot.storage.search_sql import Audience, RankedIds, filters, run

# A date filter matching at least this many stories is checked per match without id bounds.
WIDE_DATE_RANGE = 20_000
# bm25 column weights (search_title, search_body): a title hit counts ten body hits.
FTS5_WEIGHTS = (10.0, 1.0)


class SqliteRanker:
    def __init__(self, session: AsyncSession, audience: Audience, *, window: int) -> None:
        self._session = session
        self._audience = audience
        self._window = window

    async def ranked(self, query: ParsedQuery, *, limit: int, offset: int) -> RankedIds:
        wide, low, high = await self._date_span(query)
        dated = query.after is not None or query.before is not None
        if dated and not query.sources and not wide and low is None:
            return RankedIds(ids=[], scores=[], total=0)  # no story in the date range
        rule, rule_params = self._audience.feed_rule()
        where, params = filters(
            query,
            dialect="sqlite",
            driver_alias="stories_fts",
            dates_by_join=dated and not query.sources,
            feed_rule=rule,
            id_set_cte="ids",
        )
        params |= rule_params
        clauses = ["stories_fts MATCH :match", *where.clauses]
        clauses.extend(self._audience.visible("stories_fts.rowid", rule, query, dialect="sqlite"))
        if low is not None:
            clauses.append("stories_fts.rowid BETWEEN :low_id AND :high_id")
            params |= {"low_id": low, "high_id": high}
        ctes = []
        if where.id_set is not None:
            # The set's lowest and highest ids bound the FTS5 scan itself (a rowid range
            # FTS5 seeks to): a source of recent stories only, or a source within dates,
            # reads its part of the word's doclist rather than all of it.
            # (After the set's own clause: SQLite re-checks FTS5's rowid bounds per row,
            # so the cheaper test that rejects most rows goes first.)
            ctes.append(f"ids AS MATERIALIZED ({where.id_set})")
            clauses.append(_within("ids"))
        params |= {
            "match": fts5_expression(query.terms, query.excluded),
            "window": self._window,
            "limit": limit,
            "offset": offset,
        }
        bm25 = "-bm25(stories_fts, {}, {})".format(*FTS5_WEIGHTS)
        # bm25() first counts, over the whole index, the rows holding each phrase of the
        # MATCH, excluded ones too, although these add exactly 0 to every score (no match
        # holds them). So with exclusions the candidates are scored in a second scan
        # matching the wanted phrases only, over the candidates' own id range: the same
        # scores without reading an excluded word's whole doclist. (Not with source:,
        # whose candidates spread over the whole doclist.)
        rescore = bool(query.excluded) and not query.sources
        # The candidates: FTS5 yields matches in descending rowid order and stops at the
        # window; bm25() is computed for those rows only. MATERIALIZED keeps bm25() inside
        # the FTS5 scan (it cannot be evaluated elsewhere); CROSS JOIN pins FTS5 as driver.
        join = "CROSS JOIN stories AS s ON s.id = stories_fts.rowid" if where.needs_join else ""
        ctes.append(f"""cands AS MATERIALIZED (
                SELECT stories_fts.rowid AS id, {"NULL" if rescore else bm25} AS score
                FROM stories_fts {join}
                WHERE {" AND ".join(clauses)}
                ORDER BY stories_fts.rowid DESC
                LIMIT :window
            )""")
        ranked = "cands"
        if rescore:
            params["wanted"] = fts5_expression(query.terms)
            ctes.append(f"""scored AS MATERIALIZED (
                SELECT stories_fts.rowid AS id, {bm25} AS score
                FROM stories_fts
                WHERE stories_fts MATCH :wanted
                  AND +stories_fts.rowid IN (SELECT id FROM cands) AND {_within("cands")}
            )""")
            ranked = "scored"
        # The page: only candidates scoring at least the (offset + limit)-th best score can
        # be on it (score orders first), so only those are read from stories for the
        # tie-breaks, not the whole window.
        sql = f"""
            WITH {", ".join(ctes)}
            SELECT s.id, r.score, (SELECT count(*) FROM cands) AS n
            FROM {ranked} AS r CROSS JOIN stories AS s ON s.id = r.id
            WHERE r.score >= (
                SELECT min(score) FROM (
                    SELECT score FROM {ranked} ORDER BY score DESC LIMIT :limit + :offset
                )
            )
            ORDER BY r.score DESC, s.published_at DESC, s.id DESC
            LIMIT :limit OFFSET :offset
        """
        rows = await run(self._session, sql, params)
        found = int(rows[0][2]) if rows else await self._count(sql, params)
        return RankedIds.of(rows, found, window=self._window)

    async def _date_span(self, query: ParsedQuery) -> tuple[bool, int | None, int | None]:
        """For a date filter without ``source:``: whether it spans many stories, and if not,
        the lowest and highest id in it. A wide range is checked per newest-first match
        (the window fills with recent stories at once); a narrow one bounds the FTS5 scan
        by those ids, so a few matches in it do not mean reading every older match too.
        (With ``source:`` the dates join the source's set of ids instead.)"""
        if query.sources or (query.after is None and query.before is None):
            return False, None, None
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
            "SELECT count(*), min(id), max(id) FROM (SELECT id FROM stories "
            f"WHERE {' AND '.join(bounds)} LIMIT :cap) AS c"
        )
        count, low, high = (await run(self._session, sql, params))[0]
        if int(count) >= WIDE_DATE_RANGE:
            return True, None, None
        return False, low, high

    async def _count(self, sql: str, params: dict[str, Any]) -> int:
        """Candidates when the page came back empty (offset past the end, or no match)."""
        head = sql.split("SELECT s.id", 1)[0]
        count_sql = f"{head} SELECT count(*) FROM cands"
        return int((await run(self._session, count_sql, params))[0][0])


def _within(cte: str) -> str:
    """The FTS5 rowid range from the lowest to the highest id in ``cte``. An empty ``cte``
    gives the empty range 1..0 (FTS5 would read a NULL bound as no bound at all)."""
    return (
        f"stories_fts.rowid BETWEEN coalesce((SELECT min(id) FROM {cte}), 1) "
        f"AND coalesce((SELECT max(id) FROM {cte}), 0)"
    )
