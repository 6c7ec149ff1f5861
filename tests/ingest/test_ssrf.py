"""The SSRF guard: address rules, IP literals, resolver, socket factory, redirects (invariant 7).

The local feed server lives on 127.0.0.1, which the real rule refuses. Tests that need a
"public" first hop pass ``is_allowed`` that treats exactly IPv4 127.0.0.1 as the internet and
everything else (including ::ffff:127.0.0.1, the same machine) as inside.
"""

from __future__ import annotations

import socket

import pytest

from bot.core.errors import BlockedAddressError
from bot.core.ingest import Fetcher, FetchPolicy
from bot.core.ingest.ssrf import (
    BlockedSocketAddress,
    GuardedResolver,
    StaticResolver,
    check_peer,
    check_url,
    guarded_socket_factory,
    is_public_address,
)
from tests.feedserver import FeedServer


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "198.18.0.1",
        "::1",
        "::",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fe80::1%eth0",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2001:db8::1",
        "[::1]",
        "not an ip",
    ],
)
def test_non_public_addresses_refused(address: str):
    assert not is_public_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)
def test_public_addresses_allowed(address: str):
    assert is_public_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.1.2.3/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost/",
        "http://foo.localhost/",
        "ftp://example.com/feed",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
    ],
)
def test_check_url_refuses(url: str):
    with pytest.raises(BlockedAddressError):
        check_url(url)


def test_check_url_allows_public_and_private_when_allowed():
    assert check_url("https://example.com/feed").host == "example.com"
    assert check_url("http://127.0.0.1/", allow_private_networks=True).host == "127.0.0.1"
    with pytest.raises(BlockedAddressError, match="only http and https"):
        check_url("file:///etc/passwd", allow_private_networks=True)


def test_socket_factory_refuses_private_sockaddr():
    factory = guarded_socket_factory()
    with pytest.raises(BlockedSocketAddress):
        factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80)))
    with pytest.raises(BlockedSocketAddress):
        factory((socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:10.0.0.1", 80, 0, 0)))
    sock = factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", 80)))
    sock.close()


def test_check_peer():
    check_peer(("8.8.8.8", 443), "https://x")
    with pytest.raises(BlockedAddressError):
        check_peer(("127.0.0.1", 443), "https://x")
    with pytest.raises(BlockedAddressError):
        check_peer(None, "https://x")
    check_peer(("127.0.0.1", 443), "https://x", allow_private_networks=True)


async def test_guarded_resolver_drops_private_answers():
    inner = StaticResolver({"mixed.test": ["10.0.0.1", "8.8.8.8"], "evil.test": "127.0.0.1"})
    resolver = GuardedResolver(inner)
    answers = await resolver.resolve("mixed.test", 80)
    assert [a["host"] for a in answers] == ["8.8.8.8"]
    with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.1"):
        await resolver.resolve("evil.test", 80)
    open_resolver = GuardedResolver(inner, allow_private_networks=True)
    assert len(await open_resolver.resolve("mixed.test", 80)) == 2


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/feed.xml",
        "http://10.0.0.7:{port}/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/feed.xml",
        "http://[::ffff:127.0.0.1]:{port}/feed.xml",
        "http://evil.test:{port}/feed.xml",
    ],
)
async def test_guarded_fetch_never_reaches_private(feed_server: FeedServer, url: str):
    feed_server.add_feed("/feed.xml")
    resolver = StaticResolver({"evil.test": "127.0.0.1"})
    async with Fetcher(FetchPolicy(connect_timeout=1, total_timeout=2), resolver=resolver) as f:
        with pytest.raises(BlockedAddressError) as info:
            await f.fetch(url.format(port=feed_server.port))
    assert "non-public" in str(info.value)
    assert feed_server.hits["/feed.xml"] == 0


async def test_allow_private_networks_reaches_local_and_resolved(feed_server: FeedServer):
    feed_server.add_feed("/feed.xml")
    resolver = StaticResolver({"evil.test": "127.0.0.1"})
    policy = FetchPolicy(allow_private_networks=True)
    async with Fetcher(policy, resolver=resolver) as f:
        direct = await f.fetch(feed_server.url("/feed.xml"))
        named = await f.fetch(feed_server.url("/feed.xml", host="evil.test"))
    assert direct.status == named.status == 200
    assert feed_server.hits["/feed.xml"] == 2


def _mapped_loopback_is_public(address: str) -> bool:
    # The seam: the v4-mapped spelling of the local server plays "the internet"; every other
    # address (127.0.0.1 included) is judged by the real rule.
    return address == "::ffff:127.0.0.1" or is_public_address(address)


PUBLIC = {"public.test": "::ffff:127.0.0.1", "evil.test": "127.0.0.1"}


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://evil.test:{port}/secret",
    ],
)
async def test_redirect_hop_is_checked(feed_server: FeedServer, target: str):
    feed_server.add("/secret", b"internal", content_type="text/plain")
    feed_server.redirect("/start", target.format(port=feed_server.port))
    feed_server.add_feed("/feed.xml")
    async with Fetcher(
        FetchPolicy(total_timeout=2),
        resolver=StaticResolver(PUBLIC),
        is_allowed=_mapped_loopback_is_public,
    ) as f:
        # Sanity: the seam really lets a "public" first hop through.
        ok = await f.fetch(feed_server.url("/feed.xml", host="public.test"))
        assert ok.status == 200
        with pytest.raises(BlockedAddressError, match="non-public"):
            await f.fetch(feed_server.url("/start", host="public.test"))
    assert feed_server.hits["/start"] == 1
    assert feed_server.hits["/secret"] == 0


async def test_rebinding_name_checked_on_every_resolution(feed_server: FeedServer):
    """The same name answers publicly on the first hop and privately on the next one."""
    feed_server.add("/secret", b"internal", content_type="text/plain")
    hop = feed_server.redirect("/start", feed_server.url("/secret", host="rebind.test"))
    hop.headers["Connection"] = "close"  # a pooled connection would skip the second lookup
    answers = iter(["::ffff:127.0.0.1", "127.0.0.1"])

    class FlippingResolver(StaticResolver):
        async def resolve(self, host, port=0, family=socket.AF_INET):
            self._table[host] = [next(answers)]
            return await super().resolve(host, port, family)

    async with Fetcher(
        FetchPolicy(total_timeout=2, dns_cache_seconds=0),
        resolver=FlippingResolver({}),
        is_allowed=_mapped_loopback_is_public,
    ) as f:
        with pytest.raises(BlockedAddressError):
            await f.fetch(feed_server.url("/start", host="rebind.test"))
    assert feed_server.hits["/start"] == 1
    assert feed_server.hits["/secret"] == 0


async def test_unguarded_fetch_reaches_local_even_when_policy_guards(feed_server: FeedServer):
    feed_server.add_feed("/feed.xml")
    async with Fetcher(FetchPolicy(total_timeout=2)) as f:
        result = await f.fetch(feed_server.url("/feed.xml"), guarded=False)
        assert result.status == 200
        # The unguarded connection must not be pooled for a later guarded fetch.
        assert feed_server.requests[0].headers.get("Connection") == "close"
        with pytest.raises(BlockedAddressError):
            await f.fetch(feed_server.url("/feed.xml"))
    assert feed_server.hits["/feed.xml"] == 1
