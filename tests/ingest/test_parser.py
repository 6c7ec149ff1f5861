"""Parsing: formats, encodings, not-a-feed, entity bombs, and the process pool."""

from __future__ import annotations

import asyncio
import pickle
import re
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import feedparser
import pytest

from bot.core.errors import ParseError
from bot.core.ingest.parser import ParserPool, parse_and_normalize, parse_feed
from tests.feedserver import FeedServer, atom_feed, json_feed, rss_feed
from tests.ingest.conftest import FETCHED_AT, fixture_bytes

RSS = {"content-type": "application/rss+xml; charset=utf-8"}
TAG = re.compile(r"<(?:p|div|span|a|b|i|em|img|script|style|br|li)\b[^>]*>", re.I)
ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+);", re.I)


def parse(name: str, content_type: str, url: str = "https://feeds.test/feed"):
    return parse_and_normalize(fixture_bytes(name), {"Content-Type": content_type}, url, FETCHED_AT)


@pytest.mark.parametrize(
    ("name", "content_type", "fmt", "first_title", "count"),
    [
        ("rss091.xml", "text/xml", "rss091n", "First & oldest", 2),
        ("wordpress_rss20.xml", "application/rss+xml", "rss20", "Scaling “queues” & workers", 3),
        ("medium_rss.xml", "text/xml; charset=UTF-8", "rss20", "Rebuilding our video pipeline", 1),
        ("rdf10.xml", "application/rdf+xml", "rss10", "RDF item one", 2),
        ("atom03.xml", "application/xml", "atom03", "Atom zero three", 1),
        ("blogger_atom10.xml", "application/atom+xml", "atom10", "Forecasting forests with AI", 1),
        ("jsonfeed10.json", "application/json", "json10", "Numeric id & text", 1),
        ("jsonfeed11.json", "application/feed+json", "json11", "한국어 제목", 2),
        # A JSON Feed served with a useless content type is still recognised.
        ("jsonfeed11.json", "text/plain", "json11", "한국어 제목", 2),
    ],
)
def test_formats(name: str, content_type: str, fmt: str, first_title: str, count: int):
    outcome = parse(name, content_type)
    assert outcome.feed.format == fmt
    assert len(outcome.stories) == count
    assert outcome.stories[0].title == first_title
    assert outcome.feed.entries == ()  # raw entries are not shipped back unless asked


@pytest.mark.parametrize(
    ("name", "content_type", "feed_title", "title"),
    [
        (
            "latin1_declared.xml",
            "application/xml",
            "Café Entwickler",
            "Größere Änderungen für Übersetzer",
        ),
        (
            "cp1251_header_only.xml",
            "text/xml; charset=windows-1251",
            "Хабр блог",
            "Привет, мир: разработка на Python",
        ),
        ("shiftjis_declared.xml", "application/rss+xml", "開発者ブログ", "日本語のタイトルと検索"),
        ("euckr_declared.xml", "text/xml", "기술 블로그", "한국어 제목: 쿠버네티스 비용 절감"),
        (
            "undeclared_utf8.xml",
            "application/rss+xml",
            "Naïve blog",
            "Ünïcödé without declaration — 日本語 한국어",
        ),
        ("undeclared_utf8.xml", "", "Naïve blog", "Ünïcödé without declaration — 日本語 한국어"),
    ],
)
def test_encodings(name: str, content_type: str, feed_title: str, title: str):
    outcome = parse(name, content_type)
    assert outcome.feed.title == feed_title
    assert outcome.stories[0].title == title


def test_ttl_and_language():
    outcome = parse("wordpress_rss20.xml", "application/rss+xml")
    assert outcome.feed.ttl_minutes == 45
    assert outcome.feed.language == "en-US"
    assert outcome.stories[0].language == "en-US"
    assert parse("rdf10.xml", "application/rdf+xml").feed.language == "ja"


def test_keep_entries_returns_raw_html():
    outcome = parse_and_normalize(
        fixture_bytes("wordpress_rss20.xml"), RSS, "https://f.test/", FETCHED_AT, keep_entries=True
    )
    raw = outcome.feed.entries[0]
    assert raw.content_html and "<script>" in raw.content_html  # sanitizer really is off
    assert raw.tags == ("Infrastructure", "Queues", "infrastructure")


def test_plain_text_only_leaves_normalize():
    for name, ctype in [
        ("wordpress_rss20.xml", "application/rss+xml"),
        ("medium_rss.xml", "text/xml"),
        ("blogger_atom10.xml", "application/atom+xml"),
        ("atom03.xml", "application/xml"),
        ("jsonfeed11.json", "application/feed+json"),
    ]:
        for story in parse(name, ctype).stories:
            for text in (story.title, story.summary, story.content_text, story.author or ""):
                assert not TAG.search(text), (name, text)
                assert not ENTITY.search(text), (name, text)
                assert "alert(" not in text and "color:red" not in text


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"", "application/rss+xml", "empty"),
        (b"   \n", "application/rss+xml", "empty"),
        (
            b"<!DOCTYPE html><html><head><title>Blog</title></head><body><p>hi</p></body></html>",
            "text/html; charset=utf-8",
            "HTML page",
        ),
        (b"<html><body>no doctype</body></html>", "application/octet-stream", "HTML page"),
        (b"\x00\x01\x02garbage\xff\xfe", "application/octet-stream", "not an RSS"),
        (b"just some words", "text/plain", "not an RSS"),
        (b'{"hello": "world"}', "application/json", "not a JSON Feed"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"[" * 100000 + b"]" * 100000, "application/json", "JSON"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "application/feed+json", "no items"),
    ],
)
def test_not_a_feed(body: bytes, content_type: str, reason: str):
    with pytest.raises(ParseError, match=reason):
        parse_feed(body, {"content-type": content_type}, "https://x.test/feed")


async def test_url_shaped_body_is_not_fetched(feed_server: FeedServer):
    """feedparser opens URL-looking strings; the parser must never hand it one."""
    feed_server.add_feed("/feed.xml")
    with pytest.raises(ParseError):
        parse_feed(feed_server.url("/feed.xml").encode(), {}, "https://x.test/")
    assert feed_server.hits["/feed.xml"] == 0


def _laughs(levels: int = 10, one_line: bool = False) -> bytes:
    decls = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + ("" if i == 1 else str(i - 1)) + ";") * 10}">'
        for i in range(1, levels)
    ]
    sep = "" if one_line else "\n"
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [{sep}{sep.join(decls)}{sep}]>\n'
        f'<rss version="2.0"><channel><title>&lol{levels - 1};</title>'
        f"<item><title>boom &lol{levels - 1};</title><guid>1</guid></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize("one_line", [False, True])
def test_billion_laughs_refused_quickly(one_line: bool):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ParseError, match="entity"):
        parse_and_normalize(_laughs(one_line=one_line), RSS, "https://x.test/", FETCHED_AT)
    assert time.monotonic() - started < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB


@pytest.mark.parametrize("one_line", [False, True])
def test_billion_laughs_harmless_even_inside_feedparser(one_line: bool):
    """Defence in depth, documented: expat >= 2.4 limits amplification and feedparser strips
    entity declarations, so even without our pre-check nothing expands."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    result = feedparser.parse(
        _laughs(one_line=one_line), sanitize_html=False, resolve_relative_uris=False
    )
    assert time.monotonic() - started < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024
    assert all(len(e.get("title", "")) < 1000 for e in result.entries)


def test_external_entity_refused():
    doc = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>&xxe;</title></channel></rss>'
    )
    with pytest.raises(ParseError, match="entity"):
        parse_feed(doc, RSS, "https://x.test/")


def test_simple_literal_entity_is_allowed():
    doc = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ENTITY co "Acme">]>'
        b'<rss version="2.0"><channel><title>Feed</title><item><title>One</title>'
        b"<guid>1</guid></item></channel></rss>"
    )
    assert parse_feed(doc, RSS, "https://x.test/").entries[0].title == "One"


def test_outcome_pickles():
    outcome = parse("jsonfeed11.json", "application/feed+json")
    assert pickle.loads(pickle.dumps(outcome)) == outcome


def test_generated_feeds_parse():
    for body, fmt in [(rss_feed(5), "rss20"), (atom_feed(5), "atom10"), (json_feed(5), "json11")]:
        outcome = parse_and_normalize(body.encode(), {}, "https://blog.test/feed", FETCHED_AT)
        assert outcome.feed.format == fmt and len(outcome.stories) == 5


async def test_parser_pool_in_processes_matches_inline():
    body = fixture_bytes("wordpress_rss20.xml")
    pool = ParserPool(max_workers=2)
    try:
        results = await asyncio.gather(
            *(pool.parse(body, dict(RSS), "https://f.test/", FETCHED_AT) for _ in range(4))
        )
        with pytest.raises(ParseError, match="HTML page"):
            await pool.parse(b"<html><body>x</body></html>", {}, "https://f.test/", FETCHED_AT)
    finally:
        pool.close()
    inline = parse_and_normalize(body, dict(RSS), "https://f.test/", FETCHED_AT)
    assert all(r == inline for r in results)


async def test_parser_pool_keeps_event_loop_responsive():
    """While workers parse, the loop keeps ticking (inline parsing would starve it)."""
    big = rss_feed(400).encode()
    pool = ParserPool(max_workers=1)
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.002)
            ticks += 1

    try:
        await pool.start()
        task = asyncio.create_task(ticker())
        started = time.monotonic()
        await asyncio.gather(
            *(pool.parse(big, {}, "https://f.test/", FETCHED_AT) for _ in range(6))
        )
        elapsed = time.monotonic() - started
        stop.set()
        await task
    finally:
        pool.close()
    # ~0.2 s of CPU per document: parsed on the loop there would be a handful of ticks at most.
    assert elapsed > 0.1
    assert ticks >= 0.25 * elapsed / 0.003, (ticks, elapsed)


async def test_parser_pool_with_injected_executor():
    executor = ThreadPoolExecutor(max_workers=1)
    pool = ParserPool(executor)
    outcome = await pool.parse(rss_feed(2).encode(), {}, "https://f.test/", FETCHED_AT)
    pool.close()
    assert len(outcome.stories) == 2
    # An injected executor belongs to the caller: close() must not shut it down.
    assert executor.submit(lambda: 1).result() == 1
    executor.shutdown()


def test_fetched_at_naive_is_treated_as_utc():
    naive = datetime(2026, 11, 22, 12, 0)
    outcome = parse_and_normalize(
        b'<rss version="2.0"><channel><item><title>x</title></item></channel></rss>',
        RSS,
        "https://f.test/",
        naive,
    )
    assert outcome.stories[0].published_at == datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_plain_text_titles_are_not_read_as_html():
    doc = (
        b'<rss version="2.0"><channel><title>Feed</title><item>'
        b"<title>Why &lt;div&gt; soup is bad</title><guid>1</guid></item></channel></rss>"
    )
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><entry><id>1</id>'
        b'<title type="text">a &lt;b&gt; c</title><content type="text">x &lt; y</content>'
        b"</entry></feed>"
    )
    rss_story = parse_and_normalize(doc, RSS, "https://f.test/", FETCHED_AT).stories[0]
    assert rss_story.title == "Why <div> soup is bad"
    atom_story = parse_and_normalize(atom, {}, "https://f.test/", FETCHED_AT).stories[0]
    assert atom_story.title == "a <b> c" and atom_story.content_text == "x < y"


def test_xml_served_as_json_is_still_parsed():
    outcome = parse_and_normalize(
        rss_feed(2).encode(), {"Content-Type": "application/json"}, "https://f.test/", FETCHED_AT
    )
    assert outcome.feed.format == "rss20" and len(outcome.stories) == 2
