"""The only SQL of full-text search: FTS5 on SQLite, tsvector + GIN on PostgreSQL.

The index is created by migration 0002 and maintained by the database itself (triggers on
SQLite, a generated column on PostgreSQL), so this module only reads.

Bounded work per query: a word found in 10% of a million stories must not mean scoring
100,000 rows. So relevance ranking looks at the ``window`` (default 1000) newest matching
stories, newest by id (arrival order, the same order briefs use), and ``total`` is exact only
below that (None means "more than window"). Both backends pick that same candidate set:
FTS5 walks its doclists newest rowid first and stops; PostgreSQL, whose GIN index has no
order, narrows by id-bucket lexemes that the generated column adds ("#<id // 1000>").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, TextClause, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.search.fts import fts5_any, fts5_expression, tsquery_any, tsquery_expression
from bot.core.search.query import ParsedQuery
from bot.storage.models import Feed, Story
from bot.storage.types import UTCDateTime

RANK_WINDOW = 1000
# A date filter matching at least this many stories is checked per match, not as an id set.
WIDE_DATE_RANGE = 20_000
# Past this many bucket lexemes in one tsquery, the rest is fetched without buckets.
MAX_BUCKETS_PER_STEP = 64
# Equal to the bucket size in migration 0002's generated column.
PG_ID_BUCKET = 1_000
# bm25 column weights (search_title, search_body): a title hit counts ten body hits.
FTS5_WEIGHTS = (10.0, 1.0)
# ts_rank weights {D, C, B, A}; title is A, body is B. Normalisation 1 divides by
# 1 + log(length) so long articles do not win on bulk alone, as bm25 does on SQLite.
TS_RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
TS_RANK_NORMALIZATION = 1

# Database objects that migration 0002 creates and the ORM models do not describe.
SEARCH_INDEX_TABLES = frozenset(
    {
        "stories_fts",
        "stories_fts_data",
        "stories_fts_idx",
        "stories_fts_docsize",
        "stories_fts_config",
        "stories_fts_content",
    }
)
SEARCH_INDEX_COLUMNS = frozenset({"search_vector"})
SEARCH_INDEX_INDEXES = frozenset({"ix_stories_search_vector"})


def include_name(name: str | None, type_: str, parent_names: Any = None) -> bool:
    """Alembic ``include_name`` hook: leave the search index out of autogenerate/compare."""
    if type_ == "table":
        return name not in SEARCH_INDEX_TABLES
    if type_ == "column":
        return name not in SEARCH_INDEX_COLUMNS
    if type_ == "index":
        return name not in SEARCH_INDEX_INDEXES
    return True


@dataclass(frozen=True)
class RankedIds:
    ids: list[int]
    scores: list[float]
    total: int | None  # None: more than the ranking window


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

    def __init__(self, session: AsyncSession, *, window: int = RANK_WINDOW) -> None:
        self._session = session
        self._window = window

    @property
    def dialect(self) -> str:
        return self._session.get_bind().dialect.name

    async def ranked(self, query: ParsedQuery, *, limit: int, offset: int) -> RankedIds:
        if not query.terms:
            return await self._newest(query, limit=limit, offset=offset)
        if self.dialect == "sqlite":
            return await self._sqlite_ranked(query, limit=limit, offset=offset)
        return await self._postgres_ranked(query, limit=limit, offset=offset)

    async def _run(self, sql: str, params: dict[str, Any]) -> list[Any]:
        return list((await self._session.execute(_typed(text(sql), params), params)).all())

    async def _sqlite_ranked(self, query: ParsedQuery, *, limit: int, offset: int) -> RankedIds:
        wide = await self._sqlite_wide_dates(query)
        where, params = _filters(
            query, dialect="sqlite", driver_alias="stories_fts", dates_by_join=wide
        )
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
        rows = await self._run(sql, params)
        found = int(rows[0][2]) if rows else await self._sqlite_count(sql, params)
        return self._result(rows, found)

    async def _sqlite_wide_dates(self, query: ParsedQuery) -> bool:
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
        return int((await self._run(sql, params))[0][0]) >= WIDE_DATE_RANGE

    async def _sqlite_count(self, sql: str, params: dict[str, Any]) -> int:
        """Candidates when the page came back empty (offset past the end, or no match)."""
        head = sql.split("SELECT s.id", 1)[0]
        count_sql = f"{head} SELECT count(*) FROM cands"
        return int((await self._run(count_sql, params))[0][0])

    async def _postgres_ranked(self, query: ParsedQuery, *, limit: int, offset: int) -> RankedIds:
        ids = await self._postgres_candidates(query)
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
        return self._result([(r[0], r[1]) for r in rows], len(ids))

    async def _postgres_candidates(self, query: ParsedQuery) -> list[int]:
        """The ``window`` newest matching ids: scan id buckets from the newest down,
        1, 2, 4... buckets at a time, until the window is full (GIN intersects the
        bucket lexemes with the words, so only real matches are read from the table)."""
        where, params = _filters(query, dialect="postgresql", driver_alias="s")
        params["match"] = tsquery_expression(query.terms, query.excluded)
        top = (await self._run("SELECT coalesce(max(id), 0) FROM stories", {}))[0][0]
        high = int(top) // PG_ID_BUCKET
        found: list[int] = []
        step = 1
        while high >= 0 and len(found) < self._window:
            low = max(0, high - step + 1)
            if low == 0 or step > MAX_BUCKETS_PER_STEP:
                # The rest in one go: cheaper than a long list of bucket lexemes.
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
            high = low - 1
            step *= 2
        found.sort(reverse=True)
        return found[: self._window]

    async def _newest(self, query: ParsedQuery, *, limit: int, offset: int) -> RankedIds:
        """Operators only (source:, after:...): the newest stories that pass them."""
        dialect = self.dialect
        where, params = _filters(query, dialect=dialect, driver_alias="s")
        clauses = list(where.clauses)
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
        rows = await self._run(sql, params)
        count_sql = (
            f"SELECT count(*) FROM (SELECT 1 FROM stories AS s WHERE {condition} LIMIT :cap) AS c"
        )
        found = int((await self._run(count_sql, params))[0][0])
        return self._result(rows, found)

    def _result(self, rows: Sequence[Any], found: int) -> RankedIds:
        return RankedIds(
            ids=[int(r[0]) for r in rows],
            scores=[float(r[1]) for r in rows],
            total=found if found < self._window else None,
        )

    async def stories(self, ids: Sequence[int]) -> dict[int, StoryText]:
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
            )
            .join(Feed, Feed.id == Story.feed_id)
            .where(Story.id.in_(list(ids)))
        )
        out: dict[int, StoryText] = {}
        for row in (await self._session.execute(stmt)).all():
            out[row[0]] = StoryText(
                id=row[0],
                title=row[1],
                url=row[2] or row[3],
                summary=row[4] or "",
                content_text=row[5] or "",
                published_at=row[6],
                source_key=row[7],
                source_name=row[8],
            )
        return out


@dataclass(frozen=True)
class _Where:
    clauses: list[str]
    needs_join: bool  # some clause reads a column of ``s`` (stories)


def _typed(stmt: TextClause, params: dict[str, Any]) -> TextClause:
    """Date bounds go through UTCDateTime, as the ORM would send them."""
    typed = [bindparam(name, type_=UTCDateTime()) for name in ("after", "before") if name in params]
    return stmt.bindparams(*typed) if typed else stmt


def _like_pattern(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filters(
    query: ParsedQuery, *, dialect: str, driver_alias: str, dates_by_join: bool = False
) -> tuple[_Where, dict[str, Any]]:
    """WHERE clauses for the operators. ``driver_alias`` names the row id being scanned."""
    params: dict[str, Any] = {}
    # Conditions answerable from stories' own indexes (feed_id, published_at).
    indexed: list[str] = []
    if query.sources:
        names = ", ".join(f":source_{i}" for i in range(len(query.sources)))
        params |= {f"source_{i}": key for i, key in enumerate(query.sources)}
        indexed.append(f"feed_id IN (SELECT id FROM feeds WHERE lower(key) IN ({names}))")
    dates: list[str] = []
    if query.after is not None:
        params["after"] = query.after
        dates.append("published_at >= :after")
    if query.before is not None:
        params["before"] = query.before
        dates.append("published_at < :before")
    clauses: list[str] = []
    needs_join = False
    if dates_by_join:
        clauses.extend(f"s.{condition}" for condition in dates)
        needs_join = bool(dates)
    else:
        indexed.extend(dates)
    if indexed and dialect == "sqlite":
        # One set of ids from an index, probed per FTS5 row (FTS5 keeps its newest-first
        # scan); joining each match to stories instead costs a table lookup per match,
        # and the unary + stops SQLite from turning the IN into one FTS5 seek per id.
        subquery = f"SELECT id FROM stories WHERE {' AND '.join(indexed)}"
        clauses.append(f"+{driver_alias}.rowid IN ({subquery})")
    else:
        clauses.extend(f"s.{condition}" for condition in indexed)
    like = "LIKE" if dialect == "sqlite" else "ILIKE"  # SQLite's LIKE ignores ASCII case
    for i, author in enumerate(query.authors):
        params[f"author_{i}"] = _like_pattern(author)
        clauses.append(f"s.author {like} :author_{i} ESCAPE '\\'")
        needs_join = True
    for i, tag in enumerate(query.tags):
        params[f"tag_{i}"] = tag
        clauses.append(
            "EXISTS (SELECT 1 FROM story_tags AS t "
            f"WHERE t.story_id = s.id AND lower(t.tag) = :tag_{i})"
        )
        needs_join = True
    return _Where(clauses=clauses, needs_join=needs_join), params
