"""The only SQL of full-text search: FTS5 on SQLite, tsvector + GIN on PostgreSQL.

The index is created by migration 0002 and maintained by the database itself (triggers on
SQLite, a generated column on PostgreSQL), so this module only reads.

Bounded work per query: a word found in 10% of a million stories must not mean scoring
100,000 rows. So relevance ranking looks at the ``window`` (default 1000) newest matching
stories, newest by id (arrival order, the same order briefs use), and ``total`` is exact only
below that (None means "more than window"). Both backends pick that same candidate set:
FTS5 walks its doclists newest rowid first and stops; PostgreSQL, whose GIN index has no
order, narrows by id-bucket lexemes that the generated column adds ("#<id // 1000>").

Who may see what: a server sees the stories of the shared feeds (catalog, OPML) and of the
custom feeds it added itself, never another server's (a private feed's URL can carry a
token); a DM sees the shared feeds only; the operator's CLI sees everything. The rule is SQL
inside the candidate scan, so the ranking window holds the newest *visible* matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, TextClause, bindparam, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.search.fts import fts5_any, fts5_expression, tsquery_any, tsquery_expression
from bot.core.search.query import ParsedQuery
from bot.storage.briefs_repo import SHARED
from bot.storage.models import Feed, Story, StoryKey
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
        self._guild_id = guild_id
        self._all_feeds = all_feeds

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
        rule, rule_params = self._feed_rule()
        where, params = _filters(
            query, dialect="sqlite", driver_alias="stories_fts", dates_by_join=wide, feed_rule=rule
        )
        params |= rule_params
        where.clauses.extend(self._visible("stories_fts.rowid", rule, query))
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
        """The ``window`` newest matching ids: scan id buckets from the newest down until
        the window is full (GIN intersects the bucket lexemes with the words, so only real
        matches are read from the table). The first step reads one bucket; each next step
        is sized from the matches per bucket seen so far, so a common word fills the window
        in two or three round trips and a rare one widens quickly."""
        rule, rule_params = self._feed_rule()
        where, params = _filters(query, dialect="postgresql", driver_alias="s", feed_rule=rule)
        params |= rule_params
        where.clauses.extend(self._visible("s.id", rule, query))
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

    async def _newest(self, query: ParsedQuery, *, limit: int, offset: int) -> RankedIds:
        """Operators only (source:, after:...): the newest stories that pass them."""
        dialect = self.dialect
        rule, rule_params = self._feed_rule()
        where, params = _filters(query, dialect=dialect, driver_alias="s", feed_rule=rule)
        params |= rule_params
        clauses = [*where.clauses, *self._visible("s.id", rule, query)]
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

    def _feed_rule(self) -> tuple[str | None, dict[str, Any]]:
        """The feeds this audience may see, as a condition on ``feeds AS f`` (with its
        parameters); None for the operator, who sees them all."""
        if self._all_feeds:
            return None, {}
        params: dict[str, Any] = {f"shared_{i}": origin for i, origin in enumerate(SHARED)}
        rule = f"f.origin IN ({', '.join(f':shared_{i}' for i in range(len(SHARED)))})"
        if self._guild_id is not None:
            params["guild_id"] = self._guild_id
            rule = f"({rule} OR f.added_by_guild_id = :guild_id)"
        return rule, params

    @staticmethod
    def _visible(story_id: str, rule: str | None, query: ParsedQuery) -> list[str]:
        """The visibility rule as a WHERE clause on the row id ``story_id``: some feed linked
        to the story in ``story_keys`` is one the audience may see. The feed ids come from
        one uncorrelated subquery (feeds are few); each candidate costs one probe of
        ``ix_story_keys_story_id``. Not needed with ``source:``, which applies the rule."""
        if rule is None or query.sources:
            return []
        return [
            "EXISTS (SELECT 1 FROM story_keys AS k "
            f"WHERE k.story_id = {story_id} "
            f"AND k.feed_id IN (SELECT f.id FROM feeds AS f WHERE {rule}))"
        ]

    def _visible_feed(self) -> ColumnElement[bool]:
        shared = Feed.origin.in_(SHARED)
        if self._guild_id is None:
            return shared
        return or_(shared, Feed.added_by_guild_id == self._guild_id)

    def _result(self, rows: Sequence[Any], found: int) -> RankedIds:
        return RankedIds(
            ids=[int(r[0]) for r in rows],
            scores=[float(r[1]) for r in rows],
            total=found if found < self._window else None,
        )

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
                Feed.origin,
                Feed.added_by_guild_id,
            )
            .join(Feed, Feed.id == Story.feed_id)
            .where(Story.id.in_(list(ids)))
        )
        out: dict[int, StoryText] = {}
        hidden: list[int] = []
        for row in (await self._session.execute(stmt)).all():
            owner_visible = (
                self._all_feeds
                or row[9] in SHARED
                or (self._guild_id is not None and row[10] == self._guild_id)
            )
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
            .where(StoryKey.story_id.in_(hidden), self._visible_feed())
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
    query: ParsedQuery,
    *,
    dialect: str,
    driver_alias: str,
    dates_by_join: bool = False,
    feed_rule: str | None = None,
) -> tuple[_Where, dict[str, Any]]:
    """WHERE clauses for the operators. ``driver_alias`` names the row id being scanned;
    ``feed_rule`` (a condition on ``feeds AS f``) limits ``source:`` to visible feeds."""
    params: dict[str, Any] = {}
    # Conditions answerable from indexes alone (story_keys' primary key, published_at).
    indexed: list[str] = []
    if query.sources:
        # A source is every feed that carries the story (story_keys), not only the one that
        # stored it first; and only feeds the audience may see: another server's private
        # feed key must find nothing, not even a story visible through a shared feed.
        names = ", ".join(f":source_{i}" for i in range(len(query.sources)))
        params |= {f"source_{i}": key for i, key in enumerate(query.sources)}
        feeds = f"lower(f.key) IN ({names})" + (f" AND {feed_rule}" if feed_rule else "")
        indexed.append(
            "id IN (SELECT k.story_id FROM story_keys AS k "
            f"WHERE k.feed_id IN (SELECT f.id FROM feeds AS f WHERE {feeds}))"
        )
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
