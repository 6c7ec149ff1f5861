"""Search against the real index, on SQLite (FTS5) and PostgreSQL (tsvector + GIN)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.errors import QueryError
from bot.core.search.service import SearchPage, SearchService
from bot.storage import search_postgres, search_repo, search_sqlite
from bot.storage.engine import create_engine, session_factory
from bot.storage.feeds_repo import FeedsRepository
from bot.storage.migrate import downgrade, upgrade
from bot.storage.models import Story, StoryKey
from bot.storage.search_postgres import PG_ID_BUCKET
from tests.search.helpers import NOW, add_feed, add_story, search_fields

Sessions = async_sessionmaker[AsyncSession]


def titles(page: SearchPage) -> list[str]:
    return [h.title for h in page.hits]


@pytest.fixture(autouse=True)
def pg_reads(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How PostgreSQL reads the matches: bucket by bucket from the newest ("steps"), all at
    once ("at-once", for few matches), or by migration 0006's per-segment word keys
    ("segments", for words that are not common). Each is chosen from the planner's
    estimate, and a test database is small: every estimate is "few". So tests get the
    steps, the path with the most logic, unless parametrized with ``indirect=True``."""
    mode: str = getattr(request, "param", "steps")
    monkeypatch.setattr(search_postgres, "FEW_MATCHES", 10**9 if mode == "at-once" else -1)
    monkeypatch.setattr(search_postgres, "SPARSE_DENSITY", 1.0 if mode == "segments" else -1)
    return mode


ALL_READS = pytest.mark.parametrize("pg_reads", ["steps", "at-once", "segments"], indirect=True)


@pytest.fixture
def service(sessions: Sessions) -> SearchService:
    return SearchService(sessions, clock=lambda: NOW)


@pytest.fixture
async def corpus(sessions: Sessions) -> None:
    async with sessions() as s:
        netflix = await add_feed(s, "netflix", "Netflix TechBlog")
        kakao = await add_feed(s, "kakao", "Kakao Tech")
        mercari = await add_feed(s, "mercari", "Mercari Engineering")
        await add_story(
            s,
            netflix,
            "Kubernetes cost at scale",
            "How we cut cluster cost by forty percent.",
            "Autoscaling, spot instances and bin packing for pods.",
            published=NOW - timedelta(days=3),
            author="Jane Doe",
            tags=("kubernetes", "cost"),
        )
        await add_story(
            s,
            netflix,
            "Data mesh in practice",
            "Ownership of data products across teams.",
            "We also looked at kubernetes operators, briefly.",
            published=NOW - timedelta(days=40),
            author="John Roe",
            tags=("data",),
        )
        await add_story(
            s,
            kakao,
            "쿠버네티스 비용 최적화",
            "클러스터 비용을 줄인 경험을 공유합니다.",
            "노드 오토스케일링과 스팟 인스턴스.",
            published=NOW - timedelta(days=1),
        )
        await add_story(
            s,
            mercari,
            "分散システムの設計",
            "マイクロサービスの分散トレーシングについて。",
            "信頼性の高いシステムを作る。",
            published=NOW - timedelta(days=10),
            tags=("distributed",),
        )
        await s.commit()


# --- index kept in step --------------------------------------------------------------------


async def test_insert_update_delete_keep_the_index_in_step(
    sessions: Sessions, service: SearchService
) -> None:
    async with sessions() as s:
        feed = await add_feed(s, "blog")
        story = await add_story(s, feed, "Zebra migration notes", "Herds move south.")
        story_id = story.id
        await s.commit()
    assert titles(await service.search("zebra")) == ["Zebra migration notes"]

    async with sessions() as s:
        await s.execute(
            update(Story)
            .where(Story.id == story_id)
            .values(title="Giraffe notes", **search_fields("Giraffe notes", "Tall.", ""))
        )
        await s.commit()
    assert (await service.search("zebra")).total == 0
    assert titles(await service.search("giraffe")) == ["Giraffe notes"]

    # Updating other columns leaves the search text (and its index entry) alone.
    async with sessions() as s:
        await s.execute(update(Story).where(Story.id == story_id).values(updated_at=NOW))
        await s.commit()
    assert titles(await service.search("giraffe")) == ["Giraffe notes"]

    async with sessions() as s:  # prune
        await s.execute(delete(Story).where(Story.id == story_id))
        await s.commit()
    page = await service.search("giraffe")
    assert page.total == 0 and page.hits == []


async def test_sqlite_index_passes_integrity_check_after_churn(tmp_path: Path) -> None:
    # SQLite only (FTS5's own check): its own database, not the two-backend fixture, so no
    # PostgreSQL run of it has to be skipped.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fts.db'}")
    try:
        await upgrade(engine)
        async with session_factory(engine)() as s:
            feed = await add_feed(s, "blog")
            ids = [(await add_story(s, feed, f"Story {i} about caches")).id for i in range(20)]
            await s.execute(delete(Story).where(Story.id.in_(ids[::2])))
            await s.execute(
                update(Story).where(Story.id == ids[1]).values(**search_fields("x", "y", "z"))
            )
            await s.commit()
            # 'integrity-check' with rank=1 compares the index with the content table.
            await s.execute(
                text("INSERT INTO stories_fts(stories_fts, rank) VALUES ('integrity-check', 1)")
            )
            count = (
                await s.execute(
                    text("SELECT count(*) FROM stories_fts WHERE stories_fts MATCH 'caches'")
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert count == 9


async def test_downgrade_removes_the_index_and_upgrade_reindexes_existing_stories(
    engine: AsyncEngine, sessions: Sessions, service: SearchService
) -> None:
    async with sessions() as s:
        feed = await add_feed(s, "blog")
        await add_story(s, feed, "Okapi sightings", "seen near the river")
        await s.commit()
    await downgrade(engine, "0001")
    await upgrade(engine)
    assert titles(await service.search("okapi")) == ["Okapi sightings"]
    # Phrases too: on PostgreSQL, 0003 computes the word pairs of stories already stored.
    assert titles(await service.search('"near the river"')) == ["Okapi sightings"]


# --- words, phrases, exclusions, operators ---------------------------------------------------


async def test_all_words_must_match(corpus: None, service: SearchService) -> None:
    assert titles(await service.search("kubernetes cost")) == ["Kubernetes cost at scale"]
    assert set(titles(await service.search("kubernetes"))) == {
        "Kubernetes cost at scale",
        "Data mesh in practice",
    }
    assert (await service.search("kubernetes banana")).total == 0


async def test_excluding_a_wanted_word_finds_nothing(corpus: None, service: SearchService) -> None:
    assert (await service.search("kubernetes")).total == 2
    for query in ("kubernetes -kubernetes", '"data mesh" -mesh', "Kubernetes -KUBERNETES"):
        page = await service.search(query)
        assert page.total == 0 and page.hits == [], query


@ALL_READS
async def test_exact_phrase(corpus: None, service: SearchService) -> None:
    assert titles(await service.search('"cluster cost"')) == ["Kubernetes cost at scale"]
    assert (await service.search('"cost cluster"')).total == 0


@ALL_READS
async def test_a_phrase_never_spans_title_and_body(
    sessions: Sessions, service: SearchService
) -> None:
    # FTS5 keeps title and body apart as columns; PostgreSQL's word pairs (0003) do too,
    # although its one tsvector puts the body's first word right after the title's last.
    async with sessions() as s:
        feed = await add_feed(s, "blog")
        await add_story(s, feed, "Alpha beta", "gamma delta", "epsilon zeta")
        await s.commit()
    assert (await service.search('"beta gamma"')).total == 0
    assert titles(await service.search('"alpha beta"')) == ["Alpha beta"]
    # Summary and content are one body: a phrase may run from one into the other.
    assert titles(await service.search('"delta epsilon" "gamma delta"')) == ["Alpha beta"]


@pytest.mark.parametrize("wide_range", [1, 20_000], ids=["unbounded", "id-bounds"])
@ALL_READS
async def test_a_date_range_keeps_stories_that_arrived_out_of_date_order(
    sessions: Sessions, wide_range: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One story per id bucket, published out of arrival order: bounding the scan by the
    # range's lowest and highest id must keep every story of the range, and only those.
    monkeypatch.setattr(search_sqlite, "WIDE_DATE_RANGE", wide_range)
    monkeypatch.setattr(search_postgres, "WIDE_DATE_RANGE", wide_range)
    days_ago = [40, 35, 2, 30, 1, 25, 3, 20, 4, 50]
    async with sessions() as s:
        feed = await add_feed(s, "blog")
        for bucket, days in enumerate(days_ago):
            published = NOW - timedelta(days=days, hours=1)
            story_id = bucket * PG_ID_BUCKET + 1
            await add_story(s, feed, f"Okapi {bucket}", story_id=story_id, published=published)
        await s.commit()
    for window in (2, 10):
        service = SearchService(sessions, clock=lambda: NOW, rank_window=window)
        recent = await service.search("okapi after:5d", limit=10)
        old = await service.search("okapi before:28d after:38d", limit=10)
        # The window holds the newest matches by arrival: buckets 8 and 6 of 2, 4, 6, 8.
        newest = ["Okapi 8", "Okapi 6", "Okapi 4", "Okapi 2"][:window]
        assert sorted(titles(recent)) == sorted(newest), window
        assert sorted(titles(old)) == ["Okapi 1", "Okapi 3"], window
    assert (await service.search("okapi after:2026-11-23")).total == 0


async def test_excluded_words(corpus: None, service: SearchService) -> None:
    assert titles(await service.search("kubernetes -operators")) == ["Kubernetes cost at scale"]
    assert titles(await service.search('kubernetes -"spot instances"')) == ["Data mesh in practice"]


async def test_source_author_tag_operators(corpus: None, service: SearchService) -> None:
    assert titles(await service.search("source:kakao")) == ["쿠버네티스 비용 최적화"]
    assert titles(await service.search("kubernetes source:NETFLIX author:jane")) == [
        "Kubernetes cost at scale"
    ]
    assert titles(await service.search('author:"john roe"')) == ["Data mesh in practice"]
    assert titles(await service.search("tag:distributed")) == ["分散システムの設計"]
    assert (await service.search("kubernetes tag:distributed")).total == 0
    # Repeated source: means any of them.
    assert (await service.search("source:kakao source:mercari")).total == 2


@pytest.mark.parametrize("wide_range", [1, 20_000], ids=["dates-by-join", "dates-as-id-set"])
@ALL_READS
async def test_dates_absolute_and_relative(
    corpus: None, service: SearchService, wide_range: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A wide date range is checked per match; a narrow one also bounds the scan by its
    # lowest and highest id (SQLite and PostgreSQL alike): same answers.
    monkeypatch.setattr(search_sqlite, "WIDE_DATE_RANGE", wide_range)
    monkeypatch.setattr(search_postgres, "WIDE_DATE_RANGE", wide_range)
    assert titles(await service.search("kubernetes after:7d")) == ["Kubernetes cost at scale"]
    assert titles(await service.search("kubernetes before:2w")) == ["Data mesh in practice"]
    day = (NOW - timedelta(days=3)).date().isoformat()
    assert titles(await service.search(f"kubernetes after:{day}")) == ["Kubernetes cost at scale"]
    assert (await service.search(f"kubernetes before:{day} after:1y")).total == 1
    # The relative span follows the injected clock.
    later = await service.search("kubernetes after:7d", now=NOW + timedelta(days=30))
    assert later.total == 0


async def test_options_narrow_the_query(corpus: None, service: SearchService) -> None:
    page = await service.search("kubernetes", source="netflix", after=NOW - timedelta(days=7))
    assert titles(page) == ["Kubernetes cost at scale"]
    assert (await service.search("source:kakao", source="netflix")).total == 0


async def test_exclusions_with_only_a_filter(corpus: None, service: SearchService) -> None:
    page = await service.search("source:netflix -operators")
    assert titles(page) == ["Kubernetes cost at scale"]


# --- CJK -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("비용", "쿠버네티스 비용 최적화"),
        ("쿠버네티스", "쿠버네티스 비용 최적화"),
        ("클러스터", "쿠버네티스 비용 최적화"),  # inside 클러스터 with no space after
        ("분산", None),
        ("分散", "分散システムの設計"),
        ("システム", "分散システムの設計"),
        ("トレーシング", "分散システムの設計"),
        ('"分散システム"', "分散システムの設計"),
        ("设计", None),  # simplified Chinese is a different character from 設計
    ],
)
async def test_korean_and_japanese_words_are_found(
    corpus: None, service: SearchService, query: str, title: str | None
) -> None:
    page = await service.search(query)
    assert titles(page) == ([title] if title else [])


async def test_cjk_snippet_shows_the_original_text_in_bold(
    corpus: None, service: SearchService
) -> None:
    (hit,) = (await service.search("비용")).hits
    assert "**비용**" in hit.snippet
    assert "비용을" in hit.snippet.replace("**", "")  # original words, not bigrams
    (hit,) = (await service.search("分散")).hits
    assert "**分散**" in hit.snippet and "分散 散シ" not in hit.snippet


# --- ranking -------------------------------------------------------------------------------


async def test_title_match_ranks_above_body_match(
    sessions: Sessions, service: SearchService
) -> None:
    async with sessions() as s:
        feed = await add_feed(s, "blog")
        # The body match is newer and says "wombat" thrice: with equal column weights it
        # would win; only the title weight puts the title match first.
        await add_story(s, feed, "Notes", "wombat wombat wombat", published=NOW)
        await add_story(s, feed, "Wombat notes", "Underground.", published=NOW - timedelta(days=9))
        await s.commit()
    page = await service.search("wombat")
    assert titles(page) == ["Wombat notes", "Notes"]
    assert page.hits[0].score > page.hits[1].score


async def test_ties_are_broken_by_recency_then_id(
    sessions: Sessions, service: SearchService
) -> None:
    async with sessions() as s:
        feed = await add_feed(s, "blog")
        for days, title in [(5, "Lynx B"), (1, "Lynx A"), (9, "Lynx C")]:
            await add_story(s, feed, title, "same body", published=NOW - timedelta(days=days))
        await add_story(s, feed, "Lynx A", "same body", published=NOW - timedelta(days=1))
        await s.commit()
    page = await service.search("lynx")
    assert titles(page) == ["Lynx A", "Lynx A", "Lynx B", "Lynx C"]
    assert page.hits[0].story_id > page.hits[1].story_id


async def test_pagination_and_total(sessions: Sessions, service: SearchService) -> None:
    async with sessions() as s:
        feed = await add_feed(s, "blog")
        for i in range(12):
            await add_story(s, feed, f"Otter {i}", published=NOW - timedelta(hours=i))
        await s.commit()
    first = await service.search("otter", limit=5)
    second = await service.search("otter", limit=5, offset=5)
    past = await service.search("otter", limit=5, offset=50)
    assert first.total == second.total == past.total == 12
    assert titles(first) == [f"Otter {i}" for i in range(5)]
    assert titles(second) == [f"Otter {i}" for i in range(5, 10)]
    assert first.has_more and not past.hits and not past.has_more


async def test_hit_fields_and_markdown_safe_snippet(
    sessions: Sessions, service: SearchService
) -> None:
    async with sessions() as s:
        feed = await add_feed(s, "blog", "The Blog")
        story = await add_story(
            s, feed, "Parsers", "Write a *parser* in C++ with `flex` and @everyone's help."
        )
        await s.commit()
    (hit,) = (await service.search("parser")).hits
    assert hit.story_id == story.id
    assert (hit.source_key, hit.source_name) == ("blog", "The Blog")
    assert hit.url == story.url and hit.published_at == NOW
    assert hit.snippet.startswith("Write a \\***parser**\\*")
    assert "\\`flex\\`" in hit.snippet and "@everyone" not in hit.snippet


# --- hostile queries -------------------------------------------------------------------------

HOSTILE = [
    '"',
    '"unbalanced',
    "'",
    "()",
    "(kubernetes",
    "kubernetes)",
    "NEAR(kubernetes cost)",
    "NEAR(kubernetes cost, 2)",
    "kubernetes OR cost",
    "kubernetes AND NOT cost",
    "kubernetes NOT",
    "title:kubernetes",
    "search_title:kubernetes",
    "kube*",
    "*",
    "^kubernetes",
    "kubernetes:*",
    "'kubernetes' & !cost",
    "kubernetes <-> cost",
    "'; DROP TABLE stories; --",
    '" OR 1=1 --',
    "x' OR '1'='1",
    "\\",
    'kubernetes \\" cost',
    "{kubernetes}",
    "-",
    "--",
    "- -",
    "+kubernetes",
    "%",
    "_",
    "\x00",
    "source:",
    "after:yesterday",
    "after:2026-13-45",
    "before:99x",
    "after:7d before:30d",
    "-source:netflix",
    "ＫＵＢＥＲＮＥＴＥＳ　ｃｏｓｔ",
    "https://netflixtechblog.com/kubernetes",
]


@pytest.mark.parametrize("query", HOSTILE)
async def test_hostile_queries_give_results_or_a_query_error(
    corpus: None, sessions: Sessions, service: SearchService, query: str
) -> None:
    try:
        await service.search(query)
    except QueryError as exc:
        assert str(exc) and "\n" not in str(exc)
    except DBAPIError as exc:  # pragma: no cover - the failure this test exists for
        pytest.fail(f"database error for {query!r}: {exc}")
    async with sessions() as s:  # and nothing happened to the data
        assert (await s.execute(select(Story.id))).all()


async def test_operator_words_are_plain_words(corpus: None, service: SearchService) -> None:
    # "OR" is an ordinary word here, so kubernetes OR cost needs a story containing "or".
    assert (await service.search("kubernetes OR cost")).total == 0
    assert titles(await service.search("NEAR(kubernetes cost)")) == []
    assert titles(await service.search("ＫＵＢＥＲＮＥＴＥＳ　ｃｏｓｔ")) == [
        "Kubernetes cost at scale"
    ]


async def test_too_long_query_is_refused(corpus: None, sessions: Sessions) -> None:
    service = SearchService(sessions, max_query_chars=30, clock=lambda: NOW)
    with pytest.raises(QueryError, match="too long"):
        await service.search("kubernetes " * 3)
    assert (await service.search("kubernetes cost")).total == 1


# --- who may see what ------------------------------------------------------------------------

GUILD_A, GUILD_B = 111, 222


@pytest.fixture
async def private_feeds(sessions: Sessions) -> dict[str, int]:
    """A catalog feed, an OPML feed, and one custom (private) feed per server, each with a
    story about pangolins; plus a story server B's feed found first that a catalog feed also
    carries. Returns story ids by name."""
    async with sessions() as s:
        catalog = await add_feed(s, "catalog-blog", "Catalog Blog")
        opml = await add_feed(s, "opml-blog", "Imported Blog", origin="opml")
        feed_a = await add_feed(s, "a-secret", "A Secret", origin="custom", guild_id=GUILD_A)
        feed_b = await add_feed(s, "b-secret", "B Secret", origin="custom", guild_id=GUILD_B)
        ids = {
            "catalog": (await add_story(s, catalog, "Pangolin catalog")).id,
            "opml": (await add_story(s, opml, "Pangolin opml")).id,
            "a": (await add_story(s, feed_a, "Pangolin of A", "token=aaa")).id,
            "b": (await add_story(s, feed_b, "Pangolin of B", "token=bbb")).id,
            "b+catalog": (
                await add_story(s, feed_b, "Pangolin everywhere", also_feeds=(catalog,))
            ).id,
        }
        await s.commit()
    return ids


def ids_of(page: SearchPage) -> set[int]:
    return {h.story_id for h in page.hits}


async def test_source_with_words_finds_stories_another_feed_stored_first(
    private_feeds: dict[str, int], service: SearchService
) -> None:
    # "Pangolin everywhere" was stored by B's feed and is also carried by the catalog feed:
    # source:catalog-blog finds it (PostgreSQL: not through its own feed lexeme).
    both = {private_feeds["catalog"], private_feeds["b+catalog"]}
    page = await service.search("pangolin source:catalog-blog", limit=10, guild_id=GUILD_A)
    assert ids_of(page) == both and page.total == 2
    phrase = '"pangolin everywhere" source:catalog-blog'
    assert ids_of(await service.search(phrase, guild_id=GUILD_A)) == {private_feeds["b+catalog"]}
    own = {private_feeds["b"], private_feeds["b+catalog"]}
    assert ids_of(await service.search("pangolin source:b-secret", guild_id=GUILD_B)) == own
    assert (await service.search("pangolin source:b-secret", guild_id=GUILD_A)).total == 0
    assert (await service.search("pangolin source:opml-blog -opml", guild_id=GUILD_A)).total == 0


@pytest.mark.parametrize(
    "query", ["pangolin", "source:b-secret", "after:2000-01-01", "after:2000-01-01 -zebra"]
)
async def test_a_server_never_sees_another_servers_custom_feeds(
    private_feeds: dict[str, int], service: SearchService, query: str
) -> None:
    # Ranked words, operators only, and operators with an exclusion: three SQL paths.
    shared = {private_feeds["catalog"], private_feeds["opml"], private_feeds["b+catalog"]}
    pages = {
        "a": await service.search(query, limit=10, guild_id=GUILD_A),
        "b": await service.search(query, limit=10, guild_id=GUILD_B),
        "dm": await service.search(query, limit=10, guild_id=None),
        "default": await service.search(query, limit=10),
        "operator": await service.search(query, limit=10, all_feeds=True),
    }
    if query.startswith("source:"):
        assert ids_of(pages["a"]) == ids_of(pages["dm"]) == set()
        assert ids_of(pages["b"]) == {private_feeds["b"], private_feeds["b+catalog"]}
        assert ids_of(pages["operator"]) == ids_of(pages["b"])
        return
    assert ids_of(pages["a"]) == shared | {private_feeds["a"]}
    assert ids_of(pages["b"]) == shared | {private_feeds["b"]}
    assert ids_of(pages["dm"]) == ids_of(pages["default"]) == shared
    assert ids_of(pages["operator"]) == set(private_feeds.values())
    assert pages["a"].total == 4 and pages["dm"].total == 3 and pages["operator"].total == 5
    for page in pages.values():
        for hit in page.hits:
            assert "token=" not in hit.snippet or hit.story_id in {
                private_feeds["a"],
                private_feeds["b"],
            }


@pytest.mark.parametrize("query", ["pangolin", "source:b-secret", "after:2000-01-01 -zebra"])
async def test_a_feed_two_servers_follow_is_visible_to_both_until_one_unlinks(
    private_feeds: dict[str, int], sessions: Sessions, service: SearchService, query: str
) -> None:
    feeds = FeedsRepository(sessions)
    b_secret = await feeds.by_key("b-secret")
    assert b_secret is not None
    assert await feeds.link(b_secret.id, GUILD_A, NOW)
    b_own = {private_feeds["b"], private_feeds["b+catalog"]}
    assert b_own <= ids_of(await service.search(query, limit=10, guild_id=GUILD_A))
    (hit,) = [h for h in (await service.search("of B", guild_id=GUILD_A)).hits]
    assert hit.source_key == "b-secret"  # its own feed is visible now: labelled by it
    assert await feeds.unlink(b_secret.id, GUILD_A)
    seen = ids_of(await service.search(query, limit=10, guild_id=GUILD_A))
    assert private_feeds["b"] not in seen
    assert b_own <= ids_of(await service.search(query, limit=10, guild_id=GUILD_B))
    assert (await feeds.by_key("b-secret")).active  # type: ignore[union-attr]


async def test_a_shared_story_found_first_by_a_private_feed_names_a_visible_feed(
    private_feeds: dict[str, int], service: SearchService
) -> None:
    story_id = private_feeds["b+catalog"]
    (as_a,) = [h for h in (await service.search("everywhere", guild_id=GUILD_A)).hits]
    assert as_a.story_id == story_id
    assert (as_a.source_key, as_a.source_name) == ("catalog-blog", "Catalog Blog")
    assert as_a.url is not None and "?ref=feed" not in as_a.url  # the canonical link
    (as_b,) = (await service.search("everywhere", guild_id=GUILD_B)).hits
    assert (as_b.source_key, as_b.source_name) == ("b-secret", "B Secret")
    assert as_b.url is not None and as_b.url.endswith("?ref=feed")
    (as_operator,) = (await service.search("everywhere", all_feeds=True)).hits
    assert as_operator.source_key == "b-secret"


@ALL_READS
async def test_hidden_matches_do_not_use_up_the_ranking_window(sessions: Sessions) -> None:
    async with sessions() as s:
        catalog = await add_feed(s, "catalog-blog")
        secret = await add_feed(s, "b-secret", origin="custom", guild_id=GUILD_B)
        visible = [(await add_story(s, catalog, f"Tapir {n}")).id for n in range(2)]
        for n in range(5):  # newer (higher ids) than every visible match
            await add_story(s, secret, f"Tapir secret {n}", story_id=50_000 + n)
        await s.commit()
    narrow = SearchService(sessions, clock=lambda: NOW, rank_window=3)
    page = await narrow.search("tapir", limit=10, guild_id=GUILD_A)
    assert ids_of(page) == set(visible) and page.total == 2


@ALL_READS
async def test_a_story_is_visible_through_the_feed_that_stored_it_or_one_that_carries_it(
    sessions: Sessions, service: SearchService
) -> None:
    async with sessions() as s:
        catalog = await add_feed(s, "catalog-blog")
        secret = await add_feed(s, "b-secret", origin="custom", guild_id=GUILD_B)
        # Its story_keys rows gone (never the case in practice): still the catalog's story.
        stored = await add_story(s, catalog, "Narwhal notes")
        await s.execute(delete(StoryKey).where(StoryKey.story_id == stored.id))
        own = await add_story(s, secret, "Narwhal secrets")
        carried = await add_story(s, secret, "Narwhal everywhere", also_feeds=(catalog,))
        await s.commit()
    as_a = await service.search("narwhal", limit=10, guild_id=GUILD_A)
    assert ids_of(as_a) == {stored.id, carried.id} and as_a.total == 2
    as_dm = await service.search("narwhal", limit=10, guild_id=None)
    assert ids_of(as_dm) == {stored.id, carried.id}
    as_b = await service.search("narwhal", limit=10, guild_id=GUILD_B)
    assert ids_of(as_b) == {stored.id, own.id, carried.id}
    # Operators only (no words) is another SQL path with the same rule.
    newest = await service.search("after:2000-01-01", limit=10, guild_id=GUILD_A)
    assert ids_of(newest) == {stored.id, carried.id}


# --- bounded ranking window --------------------------------------------------------------------

SPREAD_IDS = [7, 10_003, 20_011, 45_000, 90_001, 170_000, 170_001]


@ALL_READS
async def test_ranking_window_takes_the_newest_matches_across_id_buckets(
    sessions: Sessions,
) -> None:
    async with sessions() as s:
        feed = await add_feed(s, "blog")
        other = await add_feed(s, "other")
        # The oldest story would win on relevance (title match) but is outside the window.
        await add_story(s, feed, "Quokka quokka", "quokka", story_id=SPREAD_IDS[0])
        for n, story_id in enumerate(SPREAD_IDS[1:]):
            await add_story(s, feed if n % 2 else other, f"Note {n}", "a quokka", story_id=story_id)
        await s.commit()
    narrow = SearchService(sessions, clock=lambda: NOW, rank_window=4)
    page = await narrow.search("quokka", limit=10)
    assert sorted(h.story_id for h in page.hits) == SPREAD_IDS[-4:]
    assert page.total is None and not page.has_more
    first = await narrow.search("quokka", limit=2)
    second = await narrow.search("quokka", limit=2, offset=2)
    assert first.has_more and not second.has_more
    assert [h.story_id for h in first.hits + second.hits] == sorted(SPREAD_IDS[-4:], reverse=True)
    # Filters apply before the window: the 4 newest *blog* matches, reaching further back.
    page = await narrow.search("quokka source:blog", limit=10)
    assert sorted(h.story_id for h in page.hits) == [7, 20_011, 90_001, 170_001]
    assert page.hits[0].story_id == 7  # and relevance orders inside the window
    wide = SearchService(sessions, clock=lambda: NOW)
    page = await wide.search("quokka", limit=10)
    assert page.total == 7 and page.hits[0].story_id == 7


@ALL_READS
async def test_a_dense_match_over_hundreds_of_buckets_fills_the_window_with_the_newest(
    sessions: Sessions,
) -> None:
    # One match per id bucket, 400 buckets: the adaptive steps (1, 4, 16... buckets) and
    # then the read of everything older must together return exactly the newest matches.
    ids = [b * PG_ID_BUCKET + 1 for b in range(400)]
    async with sessions() as s:
        feed = await add_feed(s, "blog")
        for story_id in ids:
            await add_story(s, feed, f"Note {story_id}", "a wombat", story_id=story_id)
        await s.commit()
    for window in (30, 350):
        narrow = SearchService(sessions, clock=lambda: NOW, rank_window=window)
        page = await narrow.search("wombat", limit=100)
        assert page.total is None
        ranked = await narrow.search("wombat", limit=1, offset=window - 1)
        assert len(ranked.hits) == 1 and not ranked.has_more
        found = {h.story_id for h in page.hits}
        assert found <= set(ids[-window:]), window
    everything = SearchService(sessions, clock=lambda: NOW, rank_window=1000)
    assert (await everything.search("wombat", limit=1)).total == 400


def test_bucket_steps_grow_from_the_density_seen_and_at_most_fourfold() -> None:
    assert search_postgres._next_step(1, scanned=1, found=0, window=1000) == 4
    # 100 matches in 2 buckets: 900 more need 18 buckets, +25% = 23; capped at 4 x 2.
    assert search_postgres._next_step(2, scanned=2, found=100, window=1000) == 8
    assert search_postgres._next_step(16, scanned=20, found=500, window=1000) == 26
    # Nearly full: one more bucket is enough.
    assert search_postgres._next_step(8, scanned=10, found=999, window=1000) == 1


def test_bucket_cover_names_each_bucket_of_a_range_exactly_once() -> None:
    size = search_postgres.PG_COARSE_BUCKETS
    for low in range(0, 3 * size + 2):
        for high in range(low, 4 * size + 3):
            fine, coarse = search_postgres._bucket_cover(low, high)
            covered = [*fine, *(b for c in coarse for b in range(c * size, (c + 1) * size))]
            assert sorted(covered) == list(range(low, high + 1)), (low, high)
            # Only the ragged ends are fine buckets: fewer than a coarse bucket at each.
            assert len(fine) < 2 * size or not coarse, (low, high)
    # Long steps end on a coarse boundary, so later steps are whole coarse buckets.
    assert search_postgres._step_low(999, 1) == 999
    assert search_postgres._step_low(999, 40) == 960
    assert search_postgres._bucket_cover(800, 959) == ([], [29, 28, 27, 26, 25])


@pytest.mark.postgres
async def test_postgres_search_turns_jit_and_parallel_workers_off_for_its_transaction_only(
    pg_url: str,
) -> None:
    # A search is a few short index probes: JIT compilation or starting parallel workers
    # would cost more than the probes themselves (measured: 10-50 ms per statement).
    engine = create_engine(pg_url)
    show = "SELECT current_setting('jit'), current_setting('max_parallel_workers_per_gather')"
    try:
        async with session_factory(engine)() as s:
            feed = await add_feed(s, "blog")
            # In the newest bucket, with a window of one: the match is found by the bucket
            # probes alone (the catch-all scan for older stories may use workers again).
            await add_story(s, feed, "Numbat facts", "numbat", story_id=5 * PG_ID_BUCKET + 1)
            await s.commit()
            before = (await s.execute(text(show))).one()
            await s.commit()
            repo = search_repo.SearchRepository(s, guild_id=None, all_feeds=True, window=1)
            ranked = await repo.ranked(
                SearchService(session_factory(engine)).parse("numbat"), limit=5, offset=0
            )
            during = (await s.execute(text(show))).one()
            await s.commit()
            after = (await s.execute(text(show))).one()
            await s.commit()
            # A phrase too: the pair index makes its probes as short as a word's.
            phrase = SearchService(session_factory(engine)).parse('"numbat facts"')
            assert len((await repo.ranked(phrase, limit=5, offset=0)).ids) == 1
            during_phrase = (await s.execute(text(show))).one()
    finally:
        await engine.dispose()
    assert tuple(during_phrase) == ("off", "0")
    assert len(ranked.ids) == 1
    assert tuple(during) == ("off", "0")
    # Only the parallel setting can be compared afterwards: asyncpg's own type introspection
    # (run here for the id array) copies the current jit value into the session.
    assert after[1] == before[1] != "0"


@pytest.mark.postgres
async def test_postgres_word_keys_are_the_ones_the_server_stores(pg_url: str) -> None:
    # The query's keys are computed in Python, the stored ones by migration 0006's SQL
    # function: they must agree for every token, CJK bigrams and segments past int32 too.
    engine = create_engine(pg_url)
    words = ["kafka", "k8s", "분산", "監視", "x" * 64]
    segments = [0, 1, 31, 40_000_000_000]
    try:
        async with session_factory(engine)() as s:
            feed = await add_feed(s, "blog")
            story = await add_story(s, feed, "Kafka k8s 분산", story_id=3 * 32_000 + 5)
            await s.commit()
            sql = "SELECT tb_search_word_key(CAST(:w AS text), CAST(:g AS bigint))"
            for word in words:
                for segment in segments:
                    stored = (await s.execute(text(sql), {"w": word, "g": segment})).scalar()
                    assert stored == search_postgres.word_key(word, segment), (word, segment)
            row = f"SELECT search_words FROM stories WHERE id = {story.id}"
            keys = set((await s.execute(text(row))).scalar_one())
    finally:
        await engine.dispose()
    assert keys == {search_postgres.word_key(w, 3) for w in ("kafka", "k8s", "분산")}


@pytest.mark.postgres
async def test_postgres_phrase_pairs_that_share_a_key_are_told_apart(pg_url: str) -> None:
    # Pair keys are 22 bits, so different pairs can share one; the full check against the
    # tsvector must then drop the stranger. "numbat x5461641" was found to share the key
    # of "numbat facts" (asserted below through the server's own key function).
    engine = create_engine(pg_url)
    try:
        async with session_factory(engine)() as s:
            keys = (
                await s.execute(
                    text(
                        "SELECT tb_search_pair_key('numbat facts'), "
                        "tb_search_pair_key('numbat x5461641'), "
                        "tb_search_pair_key('facts numbat')"
                    )
                )
            ).one()
            feed = await add_feed(s, "blog")
            stranger = await add_story(s, feed, "Numbat x5461641", story_id=2 * PG_ID_BUCKET + 7)
            story = await add_story(s, feed, "Numbat facts", story_id=2 * PG_ID_BUCKET + 9)
            await s.commit()
            pairs = (
                await s.execute(
                    text("SELECT search_pairs FROM stories WHERE id = :id"), {"id": stranger.id}
                )
            ).scalar_one()
            repo = search_repo.SearchRepository(s, guild_id=None, all_feeds=True)
            parse = SearchService(session_factory(engine)).parse
            ranked = await repo.ranked(parse('"numbat facts"'), limit=5, offset=0)
            stranger_found = await repo.ranked(parse('"numbat x5461641"'), limit=5, offset=0)
    finally:
        await engine.dispose()
    assert keys[0] == keys[1] != keys[2]
    # The stranger's row carries the shared key and its id buckets (fine: -1 - bucket).
    assert keys[0] in pairs and -1 - 2 in pairs
    assert search_postgres.PG_COARSE_KEY_BASE - 0 in pairs
    assert ranked.ids == [story.id] and ranked.total == 1
    assert stranger_found.ids == [stranger.id]


@pytest.mark.postgres
async def test_postgres_vector_carries_the_id_bucket_and_feed(pg_url: str) -> None:
    # PostgreSQL only (the generated column's bucket lexeme): its own database.
    engine = create_engine(pg_url)
    try:
        async with session_factory(engine)() as s:
            feed = await add_feed(s, "blog")
            story = await add_story(s, feed, "Bucketed", story_id=3 * PG_ID_BUCKET + 5)
            await s.commit()
            vector = (
                await s.execute(
                    text("SELECT search_vector::text FROM stories WHERE id = :id"),
                    {"id": story.id},
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert "'#3'" in vector and "'bucketed':1A" in vector
    # And (migration 0003) its coarse bucket, and the feed that stored it, which source:
    # intersects with words.
    assert f"'#f{feed.id}'" in vector and "'#c0'" in vector
