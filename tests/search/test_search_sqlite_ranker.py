"""SQLite's ranker against a brute-force oracle: every FTS5 match scored once, then the rules
applied in Python. The ranker's plan shortcuts (a source's ids read from story_keys alone, the
FTS5 scan bounded by the lowest and highest id of a source or of a narrow date range, queries
with exclusions scored by a second scan of their wanted words only, only the best-scoring
candidates read from stories for the page) must not change a single id, score or total:
cross-linked stories, another server's feeds, a key left without its story, ids out of
publishing order, equal scores across a page boundary."""

from __future__ import annotations

import itertools
import random
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.search import ParsedQuery, parse_query
from bot.core.search.fts import fts5_expression
from bot.storage import search_sqlite
from bot.storage.engine import create_engine, session_factory
from bot.storage.models import Feed, FeedLink, Story, StoryKey
from bot.storage.search_sql import Audience, RankedIds
from bot.storage.search_sqlite import FTS5_WEIGHTS, SqliteRanker
from tests.search.helpers import NOW, add_feed, add_story

Sessions = async_sessionmaker[AsyncSession]

GUILD_A, GUILD_B = 111, 222
WORDS = ["alpha", "beta", "gamma", "delta", "kappa", "sigma", "omega"]
AUDIENCES = {
    "a": Audience(GUILD_A),
    "b": Audience(GUILD_B),
    "dm": Audience(None),
    "operator": Audience(None, all_feeds=True),
}
QUERIES = [
    "alpha",
    "alpha beta",
    '"alpha beta"',
    "gamma -delta",
    "alpha beta -gamma",
    'alpha -"beta gamma"',
    "delta -twin -sigma",
    "twin",
    "alpha source:one",
    "alpha source:two",
    "beta source:one source:two",
    "gamma source:a-own",  # a custom feed of server A: nothing for the others
    "alpha source:b-own",
    "alpha source:b-own source:one",
    "twin source:one",
    "alpha source:nosuch",
    "alpha source:one after:30d",
    "beta source:two before:40d -kappa",
    "alpha after:20d",
    "beta after:35d before:25d",
    "gamma before:10d",
    "kappa after:2000-01-01",
    "alpha after:2099-01-01",
    "twin after:10d",
    "twin -alpha after:20d",
]


async def _build(sessions: Sessions) -> None:
    """~240 stories: ids rise with arrival, publishing dates wander a few days around it
    (so id order is not date order), some stories carried by two feeds, a key left without
    its story, and a group of identical 'twin' stories (equal scores) spread over time."""
    rng = random.Random(6)
    async with sessions() as s:
        one = await add_feed(s, "one")
        two = await add_feed(s, "two", origin="opml")
        a_own = await add_feed(s, "a-own", origin="custom", guild_id=GUILD_A)
        b_own = await add_feed(s, "b-own", origin="custom", guild_id=GUILD_B)
        feeds = [one, two, a_own, b_own]
        for n in range(240):
            feed = feeds[rng.choice((0, 0, 1, 1, 2, 3))]
            others = [f for f in feeds if f is not feed]
            also = (rng.choice(others),) if rng.random() < 0.2 else ()
            published = NOW - timedelta(days=60 * (240 - n) / 240 + rng.uniform(-4, 4))
            if n % 40 == 7:
                title, body = "Twin report", "twin twin words"
            else:
                title = " ".join(rng.choices(WORDS, k=3))
                body = " ".join(rng.choices(WORDS, k=rng.randint(3, 12)))
            await add_story(
                s,
                feed,
                title,
                body,
                published=published,
                also_feeds=also,
                story_id=1000 + 3 * n,  # gaps in the ids, as deletions leave
            )
        # Keys whose story is gone (story_id set NULL), in a feed a source: reads.
        gone = await add_story(s, one, "alpha beta gone", story_id=5000)
        await s.execute(delete(Story).where(Story.id == gone.id))
        await s.commit()


@pytest.fixture(scope="module")
async def corpus(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The corpus's database URL (built once: the tests only read, or undo what they add)."""
    path = tmp_path_factory.mktemp("ranker") / "corpus.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    try:
        await _build(session_factory(engine))
    finally:
        await engine.dispose()
    return url


@pytest.fixture
async def sessions(corpus: str) -> AsyncIterator[Sessions]:
    engine = create_engine(corpus)
    yield session_factory(engine)
    await engine.dispose()


async def oracle(
    session: AsyncSession,
    query: ParsedQuery,
    audience: Audience,
    *,
    window: int,
    limit: int,
    offset: int,
) -> RankedIds:
    """The definition, the slow way: every match with its bm25, filtered in Python."""
    w_title, w_body = FTS5_WEIGHTS
    matches = await session.execute(
        text(
            f"SELECT rowid, -bm25(stories_fts, {w_title}, {w_body}) FROM stories_fts "
            "WHERE stories_fts MATCH :m"
        ),
        {"m": fts5_expression(query.terms, query.excluded)},
    )
    scores: dict[int, float] = {row[0]: row[1] for row in matches}
    published = {
        row[0]: row[1] for row in await session.execute(select(Story.id, Story.published_at))
    }
    feeds = {f.id: f for f in (await session.execute(select(Feed))).scalars()}
    links: dict[int, list[Feed]] = {}
    for story_id, feed_id in await session.execute(select(StoryKey.story_id, StoryKey.feed_id)):
        if story_id is not None:
            links.setdefault(story_id, []).append(feeds[feed_id])
    sources = {key.lower() for key in query.sources}
    follows = set((await session.execute(select(FeedLink.feed_id, FeedLink.guild_id))).all())

    def may_see(feed: Feed) -> bool:
        return (
            audience.all_feeds
            or feed.origin in ("catalog", "opml")
            or (feed.id, audience.guild_id) in follows
        )

    def passes(story_id: int) -> bool:
        seen = [f for f in links.get(story_id, []) if may_see(f)]
        if sources:
            seen = [f for f in seen if f.key.lower() in sources]
        when = published[story_id]
        return (
            bool(seen)
            and (query.after is None or when >= query.after)
            and (query.before is None or when < query.before)
        )

    cands = sorted((i for i in scores if passes(i)), reverse=True)[:window]
    page = sorted(cands, key=lambda i: (scores[i], published[i], i), reverse=True)
    page = page[offset : offset + limit]
    return RankedIds(
        ids=page,
        scores=[scores[i] for i in page],
        total=len(cands) if len(cands) < window else None,
    )


@pytest.mark.parametrize("wide_range", [1, 20_000], ids=["wide-dates", "narrow-dates"])
@pytest.mark.parametrize("window", [1000, 7])
async def test_every_query_matches_the_oracle(
    sessions: Sessions, window: int, wide_range: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # WIDE_DATE_RANGE=1 makes every date range "wide" (checked per match, no id bounds);
    # 20,000 makes them all "narrow" (the FTS5 scan bounded by the range's ids).
    monkeypatch.setattr(search_sqlite, "WIDE_DATE_RANGE", wide_range)
    checked = 0
    for raw in QUERIES:
        query = parse_query(raw, now=NOW)
        for name, audience in AUDIENCES.items():
            for limit, offset in [(5, 0), (2, 3), (4, 5), (5, 500)]:
                async with sessions() as s:
                    got = await SqliteRanker(s, audience, window=window).ranked(
                        query, limit=limit, offset=offset
                    )
                    want = await oracle(
                        s, query, audience, window=window, limit=limit, offset=offset
                    )
                assert got == want, (raw, name, limit, offset)
                checked += bool(want.ids)
    assert checked > 100  # the corpus does find things


async def test_the_corpus_exercises_what_the_shortcuts_rely_on(sessions: Sessions) -> None:
    async with sessions() as s:
        # Id order is not publishing order: a date range's ids are not one id interval
        # of "everything newer", so its bounds must come from the range itself.
        rows = (await s.execute(select(Story.id, Story.published_at).order_by(Story.id))).all()
        assert any(b.published_at < a.published_at for a, b in itertools.pairwise(rows))
        # Cross-linked stories, and keys left without a story.
        linked = (
            await s.execute(
                text(
                    "SELECT count(*) FROM (SELECT story_id FROM story_keys GROUP BY story_id "
                    "HAVING count(*) > 1 AND story_id IS NOT NULL)"
                )
            )
        ).scalar_one()
        orphans = (
            await s.execute(text("SELECT count(*) FROM story_keys WHERE story_id IS NULL"))
        ).scalar_one()
    assert linked > 10 and orphans == 1


async def test_a_story_found_only_through_a_second_feed_is_in_that_source(
    sessions: Sessions,
) -> None:
    # The source's ids come from story_keys: a story stored by server B's feed and carried
    # by "one" too is in source:one for everyone who sees "one"; never in source:b-own for A.
    async with sessions() as s:
        b_own = await s.scalar(select(Feed).where(Feed.key == "b-own"))
        one = await s.scalar(select(Feed).where(Feed.key == "one"))
        assert b_own is not None and one is not None
        story = await add_story(s, b_own, "Zyzzyva", story_id=9000, also_feeds=(one,))
        story_id = story.id
        await s.commit()
    try:
        query = parse_query("zyzzyva source:one", now=NOW)
        for audience in AUDIENCES.values():
            async with sessions() as s:
                got = await SqliteRanker(s, audience, window=5).ranked(query, limit=5, offset=0)
            assert got.ids == [story_id] and got.total == 1
        async with sessions() as s:
            hidden = await SqliteRanker(s, AUDIENCES["a"], window=5).ranked(
                parse_query("zyzzyva source:b-own", now=NOW), limit=5, offset=0
            )
        assert hidden.ids == [] and hidden.total == 0
    finally:
        async with sessions() as s:
            await s.execute(delete(StoryKey).where(StoryKey.story_id == story_id))
            await s.execute(delete(Story).where(Story.id == story_id))
            await s.commit()


async def test_a_date_range_holding_no_story_finds_nothing(sessions: Sessions) -> None:
    query = parse_query(f"alpha after:{(NOW + timedelta(days=400)).date().isoformat()}", now=NOW)
    async with sessions() as s:
        got = await SqliteRanker(s, AUDIENCES["operator"], window=5).ranked(
            query, limit=5, offset=0
        )
    assert got == RankedIds(ids=[], scores=[], total=0)
