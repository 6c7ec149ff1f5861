"""SQL pieces both full-text backends share: who may see what, and the operators' clauses.

Who may see what (``feed_links``): a server sees the stories of the shared feeds (catalog,
OPML) and of the feeds it follows, never those of a feed only other servers follow (a private
feed's URL can carry a token); a DM sees the shared feeds only; the operator's CLI sees
everything. The rule is SQL inside the candidate scan, so the ranking window holds the newest
*visible* matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, TextClause, bindparam, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.search import ParsedQuery
from bot.storage.feed_links import visible_feed, visible_feed_sql
from bot.storage.types import UTCDateTime


@dataclass(frozen=True)
class RankedIds:
    ids: list[int]
    scores: list[float]
    total: int | None  # None: more than the ranking window

    @classmethod
    def of(cls, rows: Sequence[Any], found: int, *, window: int) -> RankedIds:
        """From (id, score) rows and the number of candidates found."""
        return cls(
            ids=[int(r[0]) for r in rows],
            scores=[float(r[1]) for r in rows],
            total=found if found < window else None,
        )


@dataclass(frozen=True)
class Audience:
    """Who asks: ``guild_id`` (None: a DM, shared feeds only), or with ``all_feeds`` the
    operator, who sees every feed (``guild_id`` is then ignored)."""

    guild_id: int | None
    all_feeds: bool = False

    def feed_rule(self) -> tuple[str | None, dict[str, Any]]:
        """The feeds this audience may see, as a condition on ``feeds AS f`` (with its
        parameters); None for the operator, who sees them all."""
        if self.all_feeds:
            return None, {}
        return visible_feed_sql(self.guild_id)

    @staticmethod
    def visible(
        story_id: str,
        rule: str | None,
        query: ParsedQuery,
        *,
        dialect: str,
        stored_by: str | None = None,
    ) -> list[str]:
        """The visibility rule as a WHERE clause on the row id ``story_id``: the feed that
        stored the story, or some feed linked to it in ``story_keys``, is one the audience
        may see. The feed ids come from one uncorrelated subquery (feeds are few).

        ``stored_by`` names the row's ``feed_id`` when the scan reads the row anyway
        (PostgreSQL): that cheap test goes first, and only the stories it rejects cost a
        probe of ``ix_story_keys_story_id``. Without it (SQLite's FTS5 rowid) the probe
        goes first and only the stories no visible feed carries cost a ``stories`` lookup.
        Not needed with ``source:``, which applies the rule."""
        if rule is None or query.sources:
            return []
        feeds = f"(SELECT f.id FROM feeds AS f WHERE {rule})"
        linked = (
            f"SELECT 1 FROM story_keys AS k WHERE k.story_id = {story_id} AND k.feed_id IN {feeds}"
        )
        if stored_by is not None:
            # OFFSET 0 keeps the EXISTS a probe per story: under an OR, PostgreSQL would
            # otherwise hash every story_keys row of the visible feeds (900,000 rows, 130
            # ms at 1M stories) to answer it for a few hundred candidates.
            fence = " OFFSET 0" if dialect == "postgresql" else ""
            return [f"({stored_by} IN {feeds} OR EXISTS ({linked}{fence}))"]
        linked = f"EXISTS ({linked})"
        owner = f"(SELECT o.feed_id FROM stories AS o WHERE o.id = {story_id})"
        return [f"({linked} OR {owner} IN {feeds})"]

    def visible_feed(self) -> ColumnElement[bool]:
        """The rule of :meth:`feed_rule` as an ORM condition on :class:`Feed`."""
        if self.all_feeds:
            return true()
        return visible_feed(self.guild_id)


async def run(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[Any]:
    """Rows of ``sql`` with ``params``, date bounds typed as the ORM would send them."""
    return list((await session.execute(_typed(text(sql), params), params)).all())


@dataclass(frozen=True)
class Where:
    clauses: list[str]
    needs_join: bool  # some clause reads a column of ``s`` (stories)
    # With ``id_set_cte``: the SELECT (one column, ``id``) that CTE must hold, or None.
    id_set: str | None = None


def _typed(stmt: TextClause, params: dict[str, Any]) -> TextClause:
    typed = [bindparam(name, type_=UTCDateTime()) for name in ("after", "before") if name in params]
    return stmt.bindparams(*typed) if typed else stmt


def _like_pattern(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filters(
    query: ParsedQuery,
    *,
    dialect: str,
    driver_alias: str,
    dates_by_join: bool = False,
    feed_rule: str | None = None,
    id_set_cte: str | None = None,
) -> tuple[Where, dict[str, Any]]:
    """WHERE clauses for the operators. ``driver_alias`` names the row id being scanned;
    ``feed_rule`` (a condition on ``feeds AS f``) limits ``source:`` to visible feeds.

    SQLite with ``id_set_cte``: the conditions answerable from indexes become a set of ids
    that the caller materializes as that CTE (``Where.id_set``); the clause then probes it,
    and the caller may also bound its scan by the set's lowest and highest id."""
    params: dict[str, Any] = {}
    # Conditions answerable from indexes alone (story_keys' primary key, published_at).
    indexed: list[str] = []
    linked: str | None = None  # with source:, the WHERE of its story_keys rows
    if query.sources:
        # A source is every feed that carries the story (story_keys), not only the one that
        # stored it first; and only feeds the audience may see: another server's private
        # feed key must find nothing, not even a story visible through a shared feed.
        names = ", ".join(f":source_{i}" for i in range(len(query.sources)))
        params |= {f"source_{i}": key for i, key in enumerate(query.sources)}
        feeds = f"lower(f.key) IN ({names})" + (f" AND {feed_rule}" if feed_rule else "")
        linked = f"k.feed_id IN (SELECT f.id FROM feeds AS f WHERE {feeds})"
        indexed.append(f"id IN (SELECT k.story_id FROM story_keys AS k WHERE {linked})")
    # (operator, parameter) of each date bound, for a column named where it is used
    dates: list[tuple[str, str]] = []
    if query.after is not None:
        params["after"] = query.after
        dates.append((">=", "after"))
    if query.before is not None:
        params["before"] = query.before
        dates.append(("<", "before"))
    clauses: list[str] = []
    id_set: str | None = None
    needs_join = False
    if dates_by_join:
        # Checked per row of the scan. On PostgreSQL as an expression no index answers:
        # the planner would otherwise AND a few hundred word matches with the date
        # index's entries for the whole range (200,000 for a year of a 1M archive).
        column = (
            "(s.published_at + interval '0 s')" if dialect == "postgresql" else "s.published_at"
        )
        clauses.extend(f"{column} {op} :{name}" for op, name in dates)
        needs_join = bool(dates)
    else:
        indexed.extend(f"published_at {op} :{name}" for op, name in dates)
    if indexed and dialect == "sqlite":
        # One set of ids from an index, probed per FTS5 row (FTS5 keeps its newest-first
        # scan); joining each match to stories instead costs a table lookup per match,
        # and the unary + stops SQLite from turning the IN into one FTS5 seek per id.
        subquery = f"SELECT id FROM stories WHERE {' AND '.join(indexed)}"
        if id_set_cte is None:
            clauses.append(f"+{driver_alias}.rowid IN ({subquery})")
        else:
            # source: alone reads story_keys only: its story ids are stories' ids (a
            # foreign key), and checking each against stories costs a lookup per id.
            id_set = (
                f"SELECT k.story_id AS id FROM story_keys AS k "
                f"WHERE {linked} AND k.story_id IS NOT NULL"
                if linked is not None and len(indexed) == 1
                else subquery
            )
            clauses.append(f"+{driver_alias}.rowid IN {id_set_cte}")
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
    return Where(clauses=clauses, needs_join=needs_join, id_set=id_set), params
