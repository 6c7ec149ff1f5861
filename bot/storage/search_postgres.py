"""Ranked full-text candidates on PostgreSQL (tsvector + GIN, migrations 0002 and 0003).

A GIN index has no order, so "the ``window`` newest matches" narrows by id buckets that the
generated columns carry ("#<id // 1000>" lexemes in ``search_vector``, negative numbers in
``search_pairs``): GIN intersects the newest buckets with the words (or with a phrase's
hashed word pairs), and only those rows are read from the table.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import BigInteger, Integer, Text, TextClause, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.search import ParsedQuery
from bot.core.search.fts import tsquery_expression
from bot.storage.search_sql import Audience, RankedIds, Where, filters, run
from bot.storage.types import UTCDateTime

# Past this many bucket lexemes in one tsquery, the rest is fetched without buckets (GIN
# reads every entry of an OR: 64 buckets are 64,000 entries).
MAX_BUCKETS_PER_STEP = 64
# Words whose matches are estimated at most this share of the stories are found by their
# per-segment keys; more common ones fill the window from a few fine buckets.
SPARSE_DENSITY = 0.03
# The most buckets a first step reads (four coarse buckets).
FIRST_STEP_MAX = 128
# Matches in all (estimated) that are read in one query rather than bucket by bucket.
FEW_MATCHES = 6_000
# A date range of at least this many stories is not turned into id bounds (see _date_span).
WIDE_DATE_RANGE = 20_000
# Equal to the bucket size in migration 0002's generated column.
PG_ID_BUCKET = 1_000
# Migration 0003: a coarse bucket ("#c<n>", key PG_COARSE_KEY_BASE - n) is this many buckets.
PG_COARSE_BUCKETS = 32
PG_COARSE_KEY_BASE = -(2**29)
# Migration 0006's id segment of the word keys: a coarse bucket.
WORD_SEGMENT = PG_ID_BUCKET * PG_COARSE_BUCKETS
# ts_rank weights {D, C, B, A}; title is A, body is B. Normalisation 1 divides by
# 1 + log(length) so long articles do not win on bulk alone, as bm25 does on SQLite.
TS_RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
TS_RANK_NORMALIZATION = 1
RANK = (
    f"ts_rank('{TS_RANK_WEIGHTS}', s.search_vector, to_tsquery('simple', :match), "
    f"{TS_RANK_NORMALIZATION})"
)
# A visit to a matching row costs about as much as this many ids of a bucket step's buckets
# (measured on 1M stories: about 4 us against 0.1 us).
HEAP_ROW_IN_IDS = 40


# A candidate's score and publication date (the tie-break).
Scored = tuple[float, datetime]


@dataclass
class Candidates:
    ids: list[int]  # the window's newest matching ids, newest first
    scored: dict[int, Scored]  # those already scored (and maybe more)


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
        # Hash and merge joins are off too: for the visibility rule the planner would hash
        # all of story_keys (a million rows) to check a few thousand candidates, where one
        # index probe per candidate is what the scan needs. And every statement is planned
        # for its own values: after five runs of a prepared statement PostgreSQL may
        # switch to a generic plan, which cannot tell a rare word from a common one, nor a
        # narrow id range from the whole table (measured: 70-100 ms instead of 1-5 ms).
        await self._run(
            "SELECT set_config('jit', 'off', true), "
            "set_config('max_parallel_workers_per_gather', '0', true), "
            "set_config('enable_hashjoin', 'off', true), "
            "set_config('enable_mergejoin', 'off', true), "
            "set_config('plan_cache_mode', 'force_custom_plan', true)",
            {},
        )
        found = await self._candidates(query)
        if not found.ids:
            return RankedIds(ids=[], scores=[], total=0)
        unscored = [i for i in found.ids if i not in found.scored]
        if unscored:
            found.scored.update(await self._scores(query, unscored))
        # Best score first, then the newest. (A story pruned since it was found has no
        # score: it is left out.)
        ids = [i for i in found.ids if i in found.scored]
        order = sorted(ids, key=lambda i: (*found.scored[i], i), reverse=True)
        page = [(i, found.scored[i][0]) for i in order[offset : offset + limit]]
        return RankedIds.of(page, len(found.ids), window=self._window)

    async def _scores(self, query: ParsedQuery, ids: list[int]) -> dict[int, Scored]:
        """Score and date of candidates found without them (by the reads of everything
        older, and source:'s linked stories)."""
        params = {"match": tsquery_expression(query.terms, query.excluded), "ids": ids}
        sql = f"SELECT s.id, {RANK}, s.published_at FROM stories AS s WHERE s.id = ANY(:ids)"
        # One array parameter: the statement text stays the same, so it stays prepared.
        stmt = text(sql).bindparams(bindparam("ids", type_=ARRAY(BigInteger())))
        rows = (await self._session.execute(stmt, params)).all()
        return {int(r[0]): (float(r[1]), r[2]) for r in rows}

    async def _pair_keys(self, query: ParsedQuery) -> list[int]:
        """Keys of the adjacent token pairs of the query's phrases (quoted phrases, CJK
        words of 3+ characters), from the server's own key function (migration 0003)."""
        pairs = sorted({f"{a} {b}" for t in query.terms for a, b in pairwise(t.tokens)})
        if not pairs:
            return []
        stmt = text(
            "SELECT DISTINCT tb_search_pair_key(p) FROM unnest(CAST(:pairs AS text[])) AS p"
        ).bindparams(bindparam("pairs", type_=ARRAY(Text())))
        return sorted(int(r[0]) for r in (await self._session.execute(stmt, {"pairs": pairs})))

    async def _candidates(self, query: ParsedQuery) -> Candidates:
        """The ``window`` newest matching ids: scan id buckets from the newest down until
        the window is full, so only real matches are read from the table. Words: GIN
        intersects the bucket lexemes with the words. Phrases: the pair index (migration
        0003) intersects the bucket keys with the phrase's pairs, and only those rows are
        checked in full. Words that are not common go by their per-segment keys instead
        (migration 0006, :meth:`_by_segment`). A first step of words is sized from the
        planner's estimate, each next step from the matches per bucket seen so far."""
        rule, rule_params = self._audience.feed_rule()
        # source: is answered here, not by filters(): GIN intersects the words with the
        # "#f<feed id>" lexemes of migration 0003, and _linked_elsewhere adds the rest.
        where, params = filters(
            replace(query, sources=()),
            dialect="postgresql",
            driver_alias="s",
            dates_by_join=True,
            feed_rule=rule,
        )
        params |= rule_params
        where.clauses.extend(
            self._audience.visible("s.id", rule, query, dialect="postgresql", stored_by="s.feed_id")
        )
        match = tsquery_expression(query.terms, query.excluded)
        params["match"] = match
        linked: list[int] = []
        if query.sources:
            feeds = await self._source_feeds(query, rule, rule_params)
            if not feeds:
                return Candidates([], {})
            params["feeds"] = " | ".join(f"'#f{f}'" for f in feeds)
            linked = await self._linked_elsewhere(feeds, where, params)
        pair_keys = await self._pair_keys(query)
        if pair_keys:
            params["pair_keys"] = pair_keys
        phrase, feeds_only = bool(pair_keys), bool(query.sources)
        top = (await self._run("SELECT coalesce(max(id), 0) FROM stories", {}))[0][0]
        high, bottom = int(top) // PG_ID_BUCKET, 0
        span = await self._date_span(query) if not feeds_only else None
        if span is not None:  # only the buckets that hold stories of the date range
            if span[0] > span[1]:
                return Candidates([], {})  # no story in the date range
            high, bottom = min(high, span[1] // PG_ID_BUCKET), span[0] // PG_ID_BUCKET
        # A source's own lexeme is already narrow (one feed's stories): one query for all.
        # So are few matches in all: reading them all costs less than stepping through
        # bucket after bucket to find a window's worth, as each step reads its buckets'
        # whole posting lists. "Few" by two signs: the planner's estimate (from the
        # statistics ANALYZE keeps of the most common lexemes, so it knows a common word
        # even when the newest stories lack it) and the matches in the newest bucket.
        rest = feeds_only
        estimate = 0.0 if feeds_only else await self._estimate(phrase, params)
        words = _plain_words(query)
        if words and not feeds_only and estimate <= SPARSE_DENSITY * int(top):
            segments = (bottom // PG_COARSE_BUCKETS, high // PG_COARSE_BUCKETS)
            density = max(estimate, 1.0) / max(int(top), 1)
            return await self._by_segment(words, segments, density, where, params)
        few = feeds_only or estimate <= FEW_MATCHES
        # The ids above the scan's start do not count as scanned: the newest bucket is
        # partly filled, and a date range can start the scan lower.
        start = min(int(top), (high + 1) * PG_ID_BUCKET - 1)
        # Words: the first step is sized from the estimate, so two common words that
        # rarely meet take one step rather than five (each step reads its buckets in
        # full). A phrase's estimate (of its pairs' keys) is too rough for that.
        step = 1 if phrase else _first_step(estimate, top=int(top), window=self._window)
        scanned = 0
        found: list[int] = []
        scored: dict[int, Scored] = {}
        while high >= bottom and len(found) < self._window:
            before = len(found)
            low = max(bottom, _step_low(high, step))
            step_params = dict(params)
            fine, coarse = _bucket_cover(low, high)
            at_once = rest or len(fine) + len(coarse) > MAX_BUCKETS_PER_STEP
            if at_once:
                # The rest in one go: few matches, or else cheaper than a long list of
                # bucket lexemes. That long rest of a common word may use parallel
                # workers again.
                if not rest:
                    await self._session.execute(
                        text("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")
                    )
                step_params |= {
                    "below": (high + 1) * PG_ID_BUCKET,
                    "lowest": bottom * PG_ID_BUCKET,
                }
                clauses = [
                    *_matched(phrase, feeds=feeds_only, buckets=False),
                    "s.id < :below",
                    "s.id >= :lowest",
                ]
                low = bottom
            else:
                if pair_keys:
                    step_params["bucket_keys"] = [
                        *(-1 - b for b in fine),
                        *(PG_COARSE_KEY_BASE - c for c in coarse),
                    ]
                else:
                    step_params["buckets"] = " | ".join(
                        [*(f"'#{b}'" for b in fine), *(f"'#c{c}'" for c in coarse)]
                    )
                clauses = _matched(phrase, feeds=feeds_only, buckets=True)
            condition = " AND ".join([*clauses, *where.clauses])
            from_where = f"FROM stories AS s WHERE {condition}"
            if at_once:
                # Everything older may be many rows, of which the window needs few: those
                # are scored afterwards.
                found.extend(await self._ids(from_where, step_params))
            else:
                # A bucket step reads its rows anyway: their scores cost little more here
                # than a second visit to each of them would.
                step_scored = await self._scored(from_where, step_params)
                found.extend(step_scored)
                scored |= step_scored
            scanned += high - low + 1
            high = low - 1
            # Everything older at once when that is cheaper than finding the rest of the
            # window bucket by bucket: the matches still needed cost about needed /
            # density ids of bucket steps, everything older a row visit (HEAP_ROW_IN_IDS
            # ids' worth) for each of its matches. Densities are the ones seen so far.
            scanned_ids = start - low * PG_ID_BUCKET + 1
            density = max(len(found), 1) / scanned_ids
            total = density * int(top)
            needed = self._window - len(found)
            rest = few and total <= FEW_MATCHES and needed > HEAP_ROW_IN_IDS * density * total
            if len(found) == before:  # matches thinned out (past a date range, say)
                step *= 4
            else:
                step = _next_step(step, scanned=scanned, found=len(found), window=self._window)
        # Newest first over both: every match the scan skipped is older than the window's
        # (it stopped with a full window), so the union's newest are the true newest.
        return Candidates(sorted({*found, *linked}, reverse=True)[: self._window], scored)

    async def _by_segment(
        self,
        words: list[str],
        segments: tuple[int, int],
        density: float,
        where: Where,
        params: dict[str, Any],
    ) -> Candidates:
        """The window's newest matches of words that are not common, by the per-segment
        word keys of migration 0006: a step over the newest segments not read yet is one
        GIN intersection of each word's keys for those segments (short lists: only the
        segments' stories with the word), and only those rows are read, checked against
        the tsvector (which also drops hash collisions and applies exclusions) and
        scored. The first step is sized from the estimated ``density`` of matches."""
        bottom, high = segments
        wanted = self._window * 5 / 4
        # At most MAX_BUCKETS_PER_STEP keys per word in one statement, as for buckets.
        step = max(1, min(MAX_BUCKETS_PER_STEP, math.ceil(wanted / (density * WORD_SEGMENT))))
        scanned = 0
        found: list[int] = []
        scored: dict[int, Scored] = {}
        while high >= bottom and len(found) < self._window:
            low = max(bottom, high - step + 1)
            step_params = dict(params)
            clauses = []
            for i, word in enumerate(words):
                step_params[f"word_keys_{i}"] = [
                    word_key(word, g) for g in range(high, low - 1, -1)
                ]
                clauses.append(f"s.search_words && :word_keys_{i}")
            # ts_match_vq, being no operator, keeps the planner off the tsvector index.
            clauses.append("ts_match_vq(s.search_vector, to_tsquery('simple', :match))")
            condition = " AND ".join([*clauses, *where.clauses])
            step_scored = await self._scored(f"FROM stories AS s WHERE {condition}", step_params)
            found.extend(step_scored)
            scored |= step_scored
            scanned += high - low + 1
            high = low - 1
            step = min(
                MAX_BUCKETS_PER_STEP,
                _next_step(step, scanned=scanned, found=len(found), window=self._window),
            )
        return Candidates(sorted(found, reverse=True)[: self._window], scored)

    async def _estimate(self, phrase: bool, params: dict[str, Any]) -> float:
        """The planner's estimate of the rows matching the words (or a phrase's pairs) in
        the whole table: from the statistics ANALYZE keeps of the most common lexemes (and
        array elements), so a common word is known to be common without reading it."""
        (condition,) = _matched(phrase, feeds=False, buckets=False)[:1]
        sql = f"EXPLAIN (FORMAT JSON) SELECT 1 FROM stories AS s WHERE {condition}"
        used = {k: v for k, v in params.items() if k == ("pair_keys" if phrase else "match")}
        plan = (await self._session.execute(_statement(sql, used), used)).scalar_one()
        document = json.loads(plan) if isinstance(plan, str) else plan
        return float(document[0]["Plan"]["Plan Rows"])

    async def _date_span(self, query: ParsedQuery) -> tuple[int, int] | None:
        """The lowest and highest id of the stories in the query's date range, so the scan
        skips the buckets outside it (a dated word would otherwise read every older match
        to learn that none is in range); (1, 0) for an empty range. None without dates, or
        for a range of more than WIDE_DATE_RANGE stories, whose matches fill the window
        soon enough. From the (published_at, id) index alone (migration 0004)."""
        bounds = {"after": ("published_at >= :after", query.after)}
        bounds["before"] = ("published_at < :before", query.before)
        params: dict[str, Any] = {k: v for k, (_, v) in bounds.items() if v is not None}
        if not params:
            return None
        where = " AND ".join(c for c, v in bounds.values() if v is not None)
        params["cap"] = WIDE_DATE_RANGE
        sql = (
            "SELECT count(*), coalesce(min(id), 1), coalesce(max(id), 0) "
            f"FROM (SELECT id FROM stories WHERE {where} LIMIT :cap) AS c"
        )
        count, low, high = (await self._run(sql, params))[0]
        return None if count >= WIDE_DATE_RANGE else (int(low), int(high))

    async def _source_feeds(
        self, query: ParsedQuery, rule: str | None, rule_params: dict[str, Any]
    ) -> list[int]:
        """Ids of the feeds ``source:`` names that this audience may see: another server's
        private feed key must find nothing, not even a story visible through a shared feed."""
        names = {f"source_{i}": key for i, key in enumerate(query.sources)}
        where = f"lower(f.key) IN ({', '.join(f':{n}' for n in names)})"
        if rule is not None:
            where += f" AND {rule}"
        sql = f"SELECT f.id FROM feeds AS f WHERE {where}"
        return sorted(int(r[0]) for r in await self._run(sql, names | rule_params))

    async def _linked_elsewhere(
        self, feeds: list[int], where: Where, params: dict[str, Any]
    ) -> list[int]:
        """Matches that the source feeds carry (story_keys) but another feed stored first,
        so they hold another feed's lexeme. Which stories those are comes from indexes
        (the feeds' story_keys less their own stories, from (feed_id, id) of migration
        0005), so only they are read from the table, not every story of the feeds."""
        elsewhere = (
            "SELECT k.story_id FROM story_keys AS k "
            "WHERE k.feed_id = ANY(:source_feeds) AND k.story_id IS NOT NULL "
            "EXCEPT SELECT o.id FROM stories AS o WHERE o.feed_id = ANY(:source_feeds)"
        )
        clauses = [
            f"s.id IN ({elsewhere})",
            "s.search_vector @@ to_tsquery('simple', :match)",
            *where.clauses,
        ]
        step_params = params | {"source_feeds": feeds}
        return await self._ids(f"FROM stories AS s WHERE {' AND '.join(clauses)}", step_params)

    async def _scored(self, from_where: str, params: dict[str, Any]) -> dict[int, Scored]:
        """Like :meth:`_ids`, with each row's score and date."""
        sql = (
            "SELECT coalesce(array_agg(s.id), '{}'), coalesce(array_agg("
            f"{RANK}), '{{}}'), coalesce(array_agg(s.published_at), '{{}}') {from_where}"
        )
        ids, scores, dates = (await self._session.execute(_statement(sql, params), params)).one()
        return {int(i): (float(r), d) for i, r, d in zip(ids, scores, dates, strict=True)}

    async def _ids(self, from_where: str, params: dict[str, Any]) -> list[int]:
        """``s.id`` of the rows of ``from_where``, as one array: thousands of ids cost one
        row to fetch, not a driver and ORM round of work per id."""
        sql = f"SELECT coalesce(array_agg(s.id), '{{}}') {from_where}"
        return list((await self._session.execute(_statement(sql, params), params)).scalar_one())


def _statement(sql: str, params: dict[str, Any]) -> TextClause:
    """``sql`` with its array and date parameters typed (asyncpg needs to know them)."""
    typed = [
        bindparam(name, type_=type_)
        for name, type_ in (
            ("pair_keys", ARRAY(Integer())),
            ("bucket_keys", ARRAY(Integer())),
            ("source_feeds", ARRAY(BigInteger())),
            ("after", UTCDateTime()),
            ("before", UTCDateTime()),
        )
        if name in params
    ]
    typed += [bindparam(n, type_=ARRAY(Integer())) for n in params if n.startswith("word_keys_")]
    return text(sql).bindparams(*typed)


def _matched(phrase: bool, *, feeds: bool, buckets: bool) -> list[str]:
    """The match conditions of one bucket step (or of the rest, without ``buckets``);
    with ``feeds``, only stories that a source feed stored (its "#f" lexemes)."""
    words = "to_tsquery('simple', :match)"
    if feeds:
        words = f"({words} && CAST(:feeds AS tsquery))"
    if not phrase:
        if buckets:
            words = f"({words} && CAST(:buckets AS tsquery))"
        return [f"s.search_vector @@ {words}"]
    # The pair index finds the rows; ts_match_vq (the function behind @@) then checks each
    # one in full and, being no operator, keeps the planner off the tsvector index, whose
    # bitmap for the phrase's words alone would cover a large part of the table.
    clauses = ["s.search_pairs @> :pair_keys"]
    if buckets:
        clauses.append("s.search_pairs && :bucket_keys")
    clauses.append(f"ts_match_vq(s.search_vector, {words})")
    return clauses


def _step_low(high: int, step: int) -> int:
    """The lowest bucket of a step of ``step`` buckets down from ``high``. Steps of a coarse
    bucket or more end on a coarse boundary, so they (and all later steps) are mostly
    coarse lexemes."""
    low = max(0, high - step + 1)
    if step >= PG_COARSE_BUCKETS:
        low -= low % PG_COARSE_BUCKETS
    return low


def _bucket_cover(low: int, high: int) -> tuple[list[int], list[int]]:
    """Buckets ``low``..``high`` (inclusive) as few lexemes: the coarse buckets wholly inside
    the range, and the fine buckets left over at its ends (newest first, both)."""
    first = -(-low // PG_COARSE_BUCKETS)  # the first coarse bucket starting at or after low
    last = (high + 1) // PG_COARSE_BUCKETS - 1  # the last one ending at or before high
    if first > last:
        return list(range(high, low - 1, -1)), []
    fine = [
        *range(high, (last + 1) * PG_COARSE_BUCKETS - 1, -1),
        *range(first * PG_COARSE_BUCKETS - 1, low - 1, -1),
    ]
    return fine, list(range(last, first - 1, -1))


def _first_step(estimate: float, *, top: int, window: int) -> int:
    """Buckets to read first: enough for the window at the density the planner estimates
    (with a quarter to spare), at most FIRST_STEP_MAX. An estimate that is too high costs
    a few more steps; one too low (correlated words, which it takes for independent)
    costs reading more matches than the window needs, hence the cap."""
    if estimate < 1:
        return FIRST_STEP_MAX
    ids = window * 5 * top / (4 * estimate)
    return max(1, min(FIRST_STEP_MAX, math.ceil(ids / PG_ID_BUCKET)))


def _next_step(step: int, *, scanned: int, found: int, window: int) -> int:
    """Buckets to read next: enough for the rest of the window at the density seen so far
    (with a quarter to spare, as matches are not spread evenly), never more than four
    times the last step, and four times when nothing matched yet. Past
    MAX_BUCKETS_PER_STEP the caller reads the rest."""
    if found == 0:
        return step * 4
    needed = (window - found) * scanned * 5 // (found * 4) + 1
    return max(1, min(needed, step * 4))


def word_key(word: str, segment: int) -> int:
    """Migration 0006's key of ``word`` in id segment ``segment``: the first 32 bits of
    md5("<word>#<segment>"), signed, as tb_search_word_key computes it."""
    digest = hashlib.md5(f"{word}#{segment}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def _plain_words(query: ParsedQuery) -> list[str]:
    """The query's words when each is one whole token (no phrase, no CJK prefix), which
    the per-segment word keys can find; else none."""
    if any(len(t.tokens) != 1 or t.prefix for t in query.terms):
        return []
    return sorted({t.tokens[0] for t in query.terms})
