"""Fetcher against the local feed server: conditional GET, caps, redirects, statuses, timeouts."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.core.errors import (
    BackpressureError,
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TooManyRedirects,
)
from bot.core.ingest.fetcher import Fetcher, FetchPolicy, parse_max_age, parse_retry_after
from tests.feedserver import FeedServer, rss_feed


async def test_plain_fetch_sends_user_agent_and_returns_body(feed_server: FeedServer, fetcher):
    feed_server.add_feed("/feed.xml", items=2)
    result = await fetcher.fetch(feed_server.url("/feed.xml"))
    assert result.status == 200
    assert result.body is not None and b"<rss" in result.body
    assert result.body_hash == hashlib.sha256(result.body).hexdigest()
    assert result.etag and result.last_modified
    assert result.headers["content-type"].startswith("application/rss+xml")
    seen = feed_server.requests[0].headers
    assert "techbrief" in seen["User-Agent"] and "http" in seen["User-Agent"]
    assert "application/rss+xml" in seen["Accept"]


async def test_etag_gives_304_not_modified(feed_server: FeedServer, fetcher):
    feed_server.add_feed("/feed.xml")
    first = await fetcher.fetch(feed_server.url("/feed.xml"))
    second = await fetcher.fetch(
        feed_server.url("/feed.xml"), etag=first.etag, previous_hash=first.body_hash
    )
    assert second.not_modified and second.status == 304 and second.body is None
    assert feed_server.requests[1].headers["If-None-Match"] == first.etag
    assert feed_server.hits["/feed.xml"] == 2


async def test_last_modified_gives_304(feed_server: FeedServer, fetcher):
    feed_server.add("/lm.xml", rss_feed(1), last_modified=True)
    first = await fetcher.fetch(feed_server.url("/lm.xml"))
    assert first.etag is None and first.last_modified
    second = await fetcher.fetch(feed_server.url("/lm.xml"), last_modified=first.last_modified)
    assert second.not_modified


async def test_same_body_hash_is_unchanged(feed_server: FeedServer, fetcher):
    feed_server.add("/nocache.xml", rss_feed(2))  # no validators: must compare hashes
    first = await fetcher.fetch(feed_server.url("/nocache.xml"))
    second = await fetcher.fetch(feed_server.url("/nocache.xml"), previous_hash=first.body_hash)
    assert second.unchanged and second.body is None and second.body_hash == first.body_hash
    feed_server.add("/nocache.xml", rss_feed(3))
    third = await fetcher.fetch(feed_server.url("/nocache.xml"), previous_hash=first.body_hash)
    assert not third.unchanged and third.body is not None


async def test_gzip_is_decompressed(feed_server: FeedServer, fetcher):
    feed_server.add("/gz.xml", rss_feed(2), gzip=True)
    result = await fetcher.fetch(feed_server.url("/gz.xml"))
    assert result.body is not None and result.body.startswith(b"<?xml")


async def test_cache_control_max_age(feed_server: FeedServer, fetcher):
    feed_server.add("/cc.xml", rss_feed(1), headers={"Cache-Control": "public, max-age=900"})
    result = await fetcher.fetch(feed_server.url("/cc.xml"))
    assert result.max_age == 900


def test_max_age_and_retry_after_parsing():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(minutes=10), usegmt=True)
    assert parse_max_age({"expires": later, "date": format_datetime(now, usegmt=True)}) == 600
    assert parse_max_age({"cache-control": "no-cache"}) == 0.0
    assert parse_max_age({"expires": "garbage"}) == 0.0
    assert parse_max_age({}) is None
    assert parse_retry_after("120") == 120
    assert parse_retry_after(later, now=now.timestamp()) == pytest.approx(600)
    assert parse_retry_after("soon") is None


async def test_redirect_chain_followed_and_final_url(feed_server: FeedServer, fetcher):
    feed_server.add_feed("/final.xml")
    feed_server.redirect_chain("/start", 5, "/final.xml", status=301)
    result = await fetcher.fetch(feed_server.url("/start"))
    assert result.status == 200 and result.final_url == feed_server.url("/final.xml")
    assert result.url == feed_server.url("/start")


async def test_more_than_five_redirects(feed_server: FeedServer, fetcher):
    feed_server.add_feed("/final.xml")
    feed_server.redirect_chain("/loop", 6, "/final.xml")
    with pytest.raises(TooManyRedirects, match="more than 5 redirects"):
        await fetcher.fetch(feed_server.url("/loop"))
    assert feed_server.hits["/final.xml"] == 0


async def test_redirect_to_other_scheme_refused(feed_server: FeedServer, fetcher):
    feed_server.redirect("/ftp", "file:///etc/passwd")
    with pytest.raises(FetchError, match="only http and https"):
        await fetcher.fetch(feed_server.url("/ftp"))


@pytest.mark.parametrize("code", [404, 500])
async def test_error_statuses(feed_server: FeedServer, fetcher, code: int):
    feed_server.status("/bad", code)
    with pytest.raises(HTTPStatusError) as info:
        await fetcher.fetch(feed_server.url("/bad"))
    assert info.value.status == code and not isinstance(info.value, BackpressureError)
    assert str(info.value) == f"HTTP {code} from {feed_server.url('/bad')}"


async def test_410_gone_is_distinguishable(feed_server: FeedServer, fetcher):
    feed_server.status("/gone", 410)
    with pytest.raises(HTTPStatusError, match="Gone") as info:
        await fetcher.fetch(feed_server.url("/gone"))
    assert info.value.status == 410


async def test_429_with_retry_after_seconds(feed_server: FeedServer, fetcher):
    feed_server.status("/slowdown", 429, retry_after="120")
    with pytest.raises(BackpressureError) as info:
        await fetcher.fetch(feed_server.url("/slowdown"))
    assert info.value.retry_after == 120 and info.value.status == 429


async def test_503_with_retry_after_date(feed_server: FeedServer, fetcher):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=300), usegmt=True)
    feed_server.status("/maint", 503, retry_after=when)
    with pytest.raises(BackpressureError) as info:
        await fetcher.fetch(feed_server.url("/maint"))
    assert info.value.retry_after is not None and 250 < info.value.retry_after <= 300


async def test_503_without_retry_after_is_a_failure(feed_server: FeedServer, fetcher):
    feed_server.status("/down", 503)
    with pytest.raises(HTTPStatusError) as info:
        await fetcher.fetch(feed_server.url("/down"))
    assert not isinstance(info.value, BackpressureError)


async def test_slow_headers_time_out(feed_server: FeedServer):
    feed_server.add("/slow", rss_feed(1), delay=3.0)
    policy = FetchPolicy(allow_private_networks=True, total_timeout=0.3)
    async with Fetcher(policy) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchTimeout, match="timed out"):
            await fetcher.fetch(feed_server.url("/slow"))
        assert time.monotonic() - started < 2.0


async def test_slow_body_times_out(feed_server: FeedServer):
    feed_server.add("/drip", b"x" * 4000, chunk_size=100, chunk_delay=0.05)
    policy = FetchPolicy(allow_private_networks=True, total_timeout=0.4)
    async with Fetcher(policy) as fetcher:
        with pytest.raises(FetchTimeout):
            await fetcher.fetch(feed_server.url("/drip"))


async def test_oversized_streamed_body(feed_server: FeedServer):
    feed_server.huge("/huge", 3 * 1024 * 1024)  # chunked, no Content-Length
    policy = FetchPolicy(allow_private_networks=True, max_body_bytes=1024 * 1024)
    async with Fetcher(policy) as fetcher:
        with pytest.raises(BodyTooLarge, match="cap"):
            await fetcher.fetch(feed_server.url("/huge"))


async def test_oversized_declared_length(feed_server: FeedServer):
    feed_server.huge("/declared", 3 * 1024 * 1024, send_length=True)
    policy = FetchPolicy(allow_private_networks=True, max_body_bytes=1024 * 1024)
    async with Fetcher(policy) as fetcher:
        with pytest.raises(BodyTooLarge, match="3145728 bytes"):
            await fetcher.fetch(feed_server.url("/declared"))


async def test_gzip_bomb_capped_after_decompression(feed_server: FeedServer):
    feed_server.huge("/bomb.gz", 8 * 1024 * 1024, gzip=True)  # ~8 KiB on the wire
    policy = FetchPolicy(allow_private_networks=True, max_body_bytes=1024 * 1024)
    async with Fetcher(policy) as fetcher:
        with pytest.raises(BodyTooLarge, match="after decompression"):
            await fetcher.fetch(feed_server.url("/bomb.gz"))


async def test_body_exactly_at_cap_is_fine(feed_server: FeedServer):
    feed_server.add("/exact", b"a" * 1000, content_type="text/plain")
    policy = FetchPolicy(allow_private_networks=True, max_body_bytes=1000)
    async with Fetcher(policy) as fetcher:
        result = await fetcher.fetch(feed_server.url("/exact"))
    assert result.body == b"a" * 1000


async def test_per_host_concurrency_limit(feed_server: FeedServer):
    for i in range(6):
        feed_server.add(f"/c{i}", rss_feed(1), delay=0.15)
    policy = FetchPolicy(allow_private_networks=True, max_per_host=2, max_concurrency=10)
    async with Fetcher(policy) as fetcher:
        started = time.monotonic()
        await asyncio.gather(*(fetcher.fetch(feed_server.url(f"/c{i}")) for i in range(6)))
        elapsed = time.monotonic() - started
    # 6 requests, 2 at a time, 0.15 s each: at least 3 rounds.
    assert elapsed >= 0.4


async def test_connection_refused_is_fetch_error(fetcher):
    with pytest.raises(FetchError, match="cannot connect"):
        await fetcher.fetch("http://127.0.0.1:9/feed")  # discard port: nothing listens


async def test_fetch_page(feed_server: FeedServer, fetcher):
    feed_server.add("/article", "<html><body><p>Hi</p></body></html>", content_type="text/html")
    result = await fetcher.fetch_page(feed_server.url("/article"))
    assert result.body and b"<p>Hi</p>" in result.body
    assert "text/html" in feed_server.requests[0].headers["Accept"]


async def test_fetch_before_start_is_a_clear_error():
    with pytest.raises(RuntimeError, match="start"):
        await Fetcher(FetchPolicy()).fetch("http://127.0.0.1:9/")


def test_user_agent_needs_contact():
    with pytest.raises(ValueError, match="contact"):
        FetchPolicy(user_agent="techbrief")


async def test_global_concurrency_limit(feed_server: FeedServer):
    for i in range(4):
        feed_server.add(f"/g{i}", rss_feed(1), delay=0.15)
    policy = FetchPolicy(allow_private_networks=True, max_concurrency=1, max_per_host=4)
    async with Fetcher(policy) as fetcher:
        started = time.monotonic()
        await asyncio.gather(*(fetcher.fetch(feed_server.url(f"/g{i}")) for i in range(4)))
        assert time.monotonic() - started >= 0.55


async def test_injected_session_is_used_and_left_open(feed_server: FeedServer):
    import aiohttp

    feed_server.add_feed("/feed.xml")
    async with aiohttp.ClientSession() as session:
        fetcher = Fetcher(FetchPolicy(allow_private_networks=True), session=session)
        await fetcher.start()
        result = await fetcher.fetch(feed_server.url("/feed.xml"))
        await fetcher.close()
        assert result.status == 200 and not session.closed


async def test_guarded_fetch_with_injected_session_still_checks_literals(feed_server: FeedServer):
    import aiohttp

    from bot.core.errors import BlockedAddressError

    feed_server.add_feed("/feed.xml")
    async with aiohttp.ClientSession() as session:
        fetcher = Fetcher(FetchPolicy(), session=session)
        with pytest.raises(BlockedAddressError):
            await fetcher.fetch(feed_server.url("/feed.xml"))
    assert feed_server.hits["/feed.xml"] == 0


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError, match="total_timeout"):
        FetchPolicy(total_timeout=0)
    with pytest.raises(ValueError, match="max_redirects"):
        FetchPolicy(max_redirects=-1)


async def test_unknown_host_is_a_clear_error():
    from bot.core.ingest.ssrf import StaticResolver

    policy = FetchPolicy(allow_private_networks=True, total_timeout=2)
    async with Fetcher(policy, resolver=StaticResolver({})) as fetcher:
        with pytest.raises(FetchError, match=r"cannot resolve host 'nowhere\.test'"):
            await fetcher.fetch("http://nowhere.test/feed")
