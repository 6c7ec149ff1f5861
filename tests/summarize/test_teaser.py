from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.core.summarize import (
    ExtractiveSummarizer,
    InMemoryDailyBudget,
    SummaryInput,
    TeaserConfig,
    TeaserExpander,
)
from bot.core.summarize.tokens import count_words
from tests.summarize.conftest import RecordingServer

Fetch = Callable[[str], Awaitable[bytes]]

TEASER = "We moved our build cache to object storage. Here is what happened […]"
PARAGRAPHS = [
    "Our continuous integration system runs about forty thousand builds a day, and for years "
    "the shared build cache lived on a fleet of twelve NFS servers in one data center.",
    "As the monorepo grew, cache reads became the slowest step of a typical build, and two "
    "outages of the NFS fleet stopped every team from merging code for most of a day.",
    "We moved the cache to object storage behind a thin read-through proxy that keeps hot "
    "artifacts on local NVMe disks in each build region.",
    "The proxy verifies content hashes on every read, so a corrupted artifact is refetched "
    "instead of silently breaking a build.",
    "After the migration the median cache read dropped from 210 ms to 35 ms, and the storage "
    "bill fell by 60% because cold artifacts now expire automatically after thirty days.",
    "The biggest lesson was that cache eviction policy matters more than raw bandwidth, so we "
    "now review eviction metrics every week alongside build times.",
]
ARTICLE_HTML = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    "<title>Moving the build cache to object storage</title></head><body>"
    "<nav><a href='/'>Home</a> <a href='/about'>About</a> <a href='/jobs'>Careers</a></nav>"
    "<div class='cookie'>We use cookies to improve your experience. Accept all cookies</div>"
    "<main><article><h1>Moving the build cache to object storage</h1>"
    "<p class='byline'>By Jamie Rivera, Build Infrastructure</p>"
    + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    + "</article></main>"
    "<aside><h3>Related posts</h3><ul><li><a href='/a'>How we test</a></li></ul></aside>"
    "<footer><p>Subscribe to our newsletter to get posts like this in your inbox.</p>"
    "<p>Follow us on X and LinkedIn.</p><p>© 2026 Example Corp. All rights reserved.</p>"
    "</footer></body></html>"
)


def route_article(server: RecordingServer, robots: str | None) -> None:
    async def article(request: web.Request) -> web.StreamResponse:
        return web.Response(text=ARTICLE_HTML, content_type="text/html")

    server.routes["/blog/build-cache"] = article
    if robots is not None:

        async def robots_txt(request: web.Request) -> web.StreamResponse:
            return web.Response(text=robots, content_type="text/plain")

        server.routes["/robots.txt"] = robots_txt


def story(
    server: RecordingServer, text: str = TEASER, path: str = "/blog/build-cache"
) -> SummaryInput:
    return SummaryInput("Moving the build cache", text, server.url(path), "en")


async def test_teaser_is_expanded_from_the_article(
    server: RecordingServer, page_fetcher: Fetch
) -> None:
    route_article(server, "User-agent: *\nDisallow: /private/\n")
    expander = TeaserExpander(page_fetcher)
    expanded = await expander.expand(story(server))
    assert server.paths == ["/robots.txt", "/blog/build-cache"]
    assert "read-through proxy" in expanded.text
    assert count_words(expanded.text) > 120
    for chrome in ("cookies", "newsletter", "Follow us", "Careers", "All rights reserved"):
        assert chrome not in expanded.text
    assert expander.stats.expanded == 1 and expander.stats.pages_fetched == 1

    summary = await ExtractiveSummarizer().summarize(expanded)
    assert summary.bullets and all(b in expanded.text for b in summary.bullets)


async def test_robots_txt_forbids_the_page(server: RecordingServer, page_fetcher: Fetch) -> None:
    route_article(server, "User-agent: *\nDisallow: /blog/\n")
    expander = TeaserExpander(page_fetcher)
    original = story(server)
    assert await expander.expand(original) == original
    assert server.paths == ["/robots.txt"]  # the page itself was never requested
    assert expander.stats.robots_denied == 1


async def test_robots_txt_for_our_agent_only(server: RecordingServer, page_fetcher: Fetch) -> None:
    route_article(server, "User-agent: techbrief\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    original = story(server)
    assert await TeaserExpander(page_fetcher).expand(original) == original
    assert "/blog/build-cache" not in server.paths


async def test_missing_robots_txt_means_allowed_and_is_cached(
    server: RecordingServer, page_fetcher: Fetch
) -> None:
    route_article(server, None)  # /robots.txt answers 404
    expander = TeaserExpander(page_fetcher)
    first = await expander.expand(story(server))
    second = await expander.expand(story(server, text="Another short teaser."))
    assert "read-through proxy" in first.text and "read-through proxy" in second.text
    assert server.paths.count("/robots.txt") == 1  # one robots.txt per host
    assert server.paths.count("/blog/build-cache") == 2


async def test_robots_txt_server_error_means_stay_away(
    server: RecordingServer, page_fetcher: Fetch
) -> None:
    route_article(server, None)

    async def broken(request: web.Request) -> web.StreamResponse:
        return web.Response(status=503)

    server.routes["/robots.txt"] = broken
    original = story(server)
    assert await TeaserExpander(page_fetcher).expand(original) == original
    assert "/blog/build-cache" not in server.paths


async def test_daily_page_budget(server: RecordingServer, page_fetcher: Fetch) -> None:
    route_article(server, "")
    expander = TeaserExpander(page_fetcher, budget=InMemoryDailyBudget(daily_limit=1))
    assert "read-through proxy" in (await expander.expand(story(server))).text
    original = story(server, text="A different teaser.")
    assert await expander.expand(original) == original
    assert server.paths.count("/blog/build-cache") == 1
    assert expander.stats.budget_exhausted == 1


async def test_long_feed_text_is_not_fetched(server: RecordingServer, page_fetcher: Fetch) -> None:
    route_article(server, "")
    full = story(server, text=" ".join(PARAGRAPHS) * 2)
    assert await TeaserExpander(page_fetcher).expand(full) == full
    assert server.paths == []


async def test_failures_keep_the_feed_text(server: RecordingServer, page_fetcher: Fetch) -> None:
    async def boom(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500)

    async def junk(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"\x00\x01 not html at all", content_type="application/pdf")

    server.routes["/boom"] = boom
    server.routes["/junk"] = junk
    expander = TeaserExpander(page_fetcher, TeaserConfig(min_words=120))
    for path in ("/boom", "/junk", "/missing"):
        original = story(server, path=path)
        assert await expander.expand(original) == original
    assert expander.stats.failures == 2  # /boom and /missing; /junk had no usable text
