"""Display names and keys of non-catalog feeds (issue 15, "Source names")."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.ingest import Fetcher, FetchPolicy, ScheduleLimits, display_name, slug
from bot.core.ingest.feed_service import FeedService
from bot.core.ingest.refresher import Refresher
from bot.core.ingest.source_name import is_host_name, source_key
from bot.storage.feeds_repo import FeedsRepository
from bot.storage.stories_repo import StoriesRepository
from tests.feedserver import FeedServer, rss_feed
from tests.ingest.conftest import SteppingClock

URL = "https://www.netflixtechblog.com/feed"
GUILD = 1001
LIMITS = ScheduleLimits(jitter=0.0)


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Netflix TechBlog – Medium", "Netflix TechBlog"),
        ("Netflix TechBlog - Medium", "Netflix TechBlog"),
        ("Fresh Eng | Blog", "Fresh Eng"),
        ("Fresh Eng Blog - RSS", "Fresh Eng Blog"),
        ("Fresh Eng Blog RSS Feed", "Fresh Eng Blog"),
        ("Fresh Eng Blog Feed", "Fresh Eng Blog"),
        ("Latest posts from Acme", "Acme"),
        ("Blog | Stripe", "Stripe"),
        ("  Engineering\n at\tMeta ", "Engineering at Meta"),
        ("The Cloudflare Blog", "The Cloudflare Blog"),  # the site's own name stays
        ("Hacker News", "Hacker News"),
        ("우아한형제들 기술블로그", "우아한형제들 기술블로그"),
    ],
)
def test_display_name_drops_generator_noise(title: str, name: str) -> None:
    assert display_name(title, URL) == name


@pytest.mark.parametrize("title", [None, "", "   ", "Feed", "Latest posts", "Medium", URL])
def test_display_name_falls_back_to_the_host_without_a_usable_title(title: str | None) -> None:
    assert display_name(title, URL) == "netflixtechblog.com"
    assert is_host_name(display_name(title, URL), URL)


def test_display_name_is_short() -> None:
    name = display_name("word " * 60, URL)
    assert len(name) <= 80 and name.endswith("…")


def test_slug_keeps_unicode_letters_and_digits() -> None:
    assert slug("Netflix TechBlog") == "netflix-techblog"
    assert slug("우아한형제들 기술블로그") == "우아한형제들-기술블로그"
    assert slug("クックパッド開発者ブログ") == "クックパッド開発者ブログ"
    assert slug("ＡＢＣ Ｂｌｏｇ") == "abc-blog"  # fullwidth folded (NFKC)
    assert slug("C++ & Rust_2026!") == "c-rust-2026"
    assert len(slug("x" * 100)) == 32
    assert slug("An Exceptionally Long Engineering Blog Title") == "an-exceptionally-long"
    assert slug("!!! ---") == ""
    assert source_key("!!!", "https://127.0.0.1:3/feed") == "127-0-0-1"
    assert source_key("", "not a url") == "not-a-url"


@pytest.fixture
async def open_fetcher() -> AsyncIterator[Fetcher]:
    policy = FetchPolicy(allow_private_networks=True, total_timeout=2.0, connect_timeout=1.0)
    async with Fetcher(policy) as f:
        yield f


def _service(sessions, fetcher, parser) -> FeedService:
    return FeedService(
        FeedsRepository(sessions),
        StoriesRepository(sessions),
        fetcher,
        parser,
        clock=SteppingClock(),
        limits=LIMITS,
        max_per_guild=10,
    )


async def test_add_custom_names_and_keys_by_title_unique_among_feeds(
    sessions, feed_server: FeedServer, open_fetcher, thread_parser
):
    feed_server.add("/a.xml", rss_feed(2, title="Fresh Eng Blog - RSS"))
    feed_server.add("/b.xml", rss_feed(2, title="Fresh Eng Blog | Medium"))
    feed_server.add("/c.xml", rss_feed(2, title="Fresh Eng Blog Feed"))
    feed_server.add("/d.xml", rss_feed(2, title="Latest posts"))
    service = _service(sessions, open_fetcher, thread_parser)
    added = [await service.add_custom(feed_server.url(f"/{p}.xml"), guild_id=GUILD) for p in "abcd"]
    assert [a.title for a in added[:3]] == ["Fresh Eng Blog"] * 3
    assert [a.key for a in added] == [
        "fresh-eng-blog",
        "fresh-eng-blog-2",
        "fresh-eng-blog-3",
        "127-0-0-1",  # no usable title: the host, the only time it is used
    ]
    assert added[3].title == "127.0.0.1"


async def test_long_names_get_suffixes_within_the_key_limit(
    sessions, feed_server: FeedServer, open_fetcher, thread_parser
):
    feed_server.add("/a.xml", rss_feed(1, title="An Exceptionally Long Engineering Blog Title"))
    feed_server.add("/b.xml", rss_feed(1, title="An Exceptionally Long Engineering Blog"))
    feed_server.add("/c.xml", rss_feed(1, title="x" * 40))
    feed_server.add("/d.xml", rss_feed(1, title="x" * 50))
    feed_server.add("/e.xml", rss_feed(1, title="x" * 45))
    service = _service(sessions, open_fetcher, thread_parser)
    keys = [
        (await service.add_custom(feed_server.url(f"/{p}.xml"), guild_id=GUILD)).key
        for p in "abcde"
    ]
    assert keys == [
        "an-exceptionally-long",  # cut at a word boundary
        "an-exceptionally-long-2",
        "x" * 32,
        "x" * 30 + "-2",  # the suffix fits in the limit
        "x" * 30 + "-3",  # and the cut-short "-2" counts as taken
    ]


async def test_opml_import_names_from_outline_and_first_fetch_keeps_the_key(
    sessions, feed_server: FeedServer, open_fetcher, thread_parser
):
    feed_server.add("/medium.xml", rss_feed(2, title="Netflix TechBlog – Medium"))
    feed_server.add("/untitled.xml", rss_feed(2, title="Netflix TechBlog – Medium"))
    opml = f"""<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0"><head><title>mine</title></head><body>
  <outline type="rss" text="Netflix TechBlog – Medium" xmlUrl="{feed_server.url("/medium.xml")}"/>
  <outline type="rss" xmlUrl="{feed_server.url("/untitled.xml")}"/>
</body></opml>""".encode()
    service = _service(sessions, open_fetcher, thread_parser)
    report = await service.import_opml(opml, guild_id=GUILD)
    assert report.added == ["netflix-techblog", "127-0-0-1"]
    named = await service.feeds.by_key("netflix-techblog")
    untitled = await service.feeds.by_key("127-0-0-1")
    assert named is not None and named.title == "Netflix TechBlog"
    assert untitled is not None and untitled.title == "127.0.0.1"

    refresher = Refresher(
        service.feeds,
        StoriesRepository(sessions),
        open_fetcher,
        thread_parser,
        clock=SteppingClock(),
        limits=LIMITS,
    )
    await refresher.run_due("w", force=True)
    after = await service.feeds.by_id(untitled.id)
    # The first document names it; its key (maybe already in a source: filter) stays.
    assert after is not None and after.title == "Netflix TechBlog" and after.key == "127-0-0-1"
    kept = await service.feeds.by_id(named.id)
    assert kept is not None and kept.title == "Netflix TechBlog" and kept.key == named.key

    # A name once known is not replaced by later documents.
    feed_server.add("/untitled.xml", rss_feed(3, title="Renamed Blog"))
    await refresher.run_due("w", force=True)
    again = await service.feeds.by_id(untitled.id)
    assert again is not None and again.title == "Netflix TechBlog"
