"""The SSRF guard (invariant 7): user-added URLs must not reach the inside.

Checking the hostname before the request is not enough: DNS can answer differently for the
check and for the connect (rebinding), redirects can point anywhere, and aiohttp never calls the
resolver for IP-literal hosts. So the check is applied at three points, all on the address that
is actually dialled:

1. :class:`GuardedResolver` drops non-public answers (clear error, no connect attempted);
2. :func:`guarded_socket_factory` refuses to create a socket for a non-public sockaddr — aiohttp
   hands it the exact address it is about to connect to, IP literals included;
3. :func:`check_peer` verifies the connected transport's peername before any body is read.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from bot.core.errors import BlockedAddressError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})

# Ranges that Python's is_global / is_private do not (all) cover in 3.11, listed explicitly so
# the rule does not silently change with the interpreter version.
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, incl. the 169.254.169.254 metadata service
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, incl. broadcast
    )
)
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/128",
        "::1/128",
        "::/96",  # deprecated IPv4-compatible addresses
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001:db8::/32",
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # old site-local
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


def parse_ip(value: str) -> IPAddress | None:
    """The IP address ``value`` denotes (brackets and IPv6 zone ids allowed), else None."""
    text = value.strip().strip("[]")
    if "%" in text:  # zone id, e.g. fe80::1%eth0
        text = text.split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def is_public_address(ip: str | IPAddress) -> bool:
    """True only for globally routable unicast addresses (IPv4-in-IPv6 forms unwrapped)."""
    addr = parse_ip(ip) if isinstance(ip, str) else ip
    if addr is None:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_v4(addr)
        if inner is not None:
            return is_public_address(inner)
        if any(addr in net for net in _BLOCKED_V6):
            return False
    elif any(addr in net for net in _BLOCKED_V4):
        return False
    return (
        not (
            addr.is_private
            or addr.is_loopback
            or addr.is_link_local
            or addr.is_multicast
            or addr.is_unspecified
            or addr.is_reserved
        )
        and addr.is_global
    )


AddressCheck = Callable[[str], bool]


def check_url(
    url: str | URL,
    *,
    allow_private_networks: bool = False,
    is_allowed: AddressCheck = is_public_address,
) -> URL:
    """The parsed URL if its scheme is http(s) and an IP-literal host is public.

    aiohttp does not consult the resolver for IP literals, so they are checked here too
    (the socket factory would refuse them anyway; this gives the clearer message, earlier).
    """
    parsed = url if isinstance(url, URL) else URL(url)
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise BlockedAddressError(str(url), f"only http and https URLs are allowed: {url}")
    host = parsed.raw_host
    if not host:
        raise BlockedAddressError(str(url), f"URL has no host: {url}")
    if not allow_private_networks:
        literal = parse_ip(host)
        if literal is not None and not is_allowed(str(literal)):
            raise BlockedAddressError(str(url), f"refusing non-public address {literal}")
        if host.rstrip(".").lower() == "localhost" or host.lower().endswith(".localhost"):
            raise BlockedAddressError(str(url), f"refusing non-public host {host}")
    return parsed


class BlockedSocketAddress(OSError):
    """Raised inside the connector; an OSError so aiohttp's happy-eyeballs treats it as a
    failed attempt (trying the next address) and reports it wrapped in ClientConnectorError."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(f"refusing to connect to non-public address {address}")


SocketFactory = Callable[[tuple[Any, ...]], socket.socket]


def guarded_socket_factory(
    allow_private_networks: bool = False, *, is_allowed: AddressCheck = is_public_address
) -> SocketFactory:
    """An aiohttp ``socket_factory`` that refuses to dial non-public addresses."""

    def factory(addr_info: tuple[Any, ...]) -> socket.socket:
        family, type_, proto, _canon, sockaddr = addr_info
        if not allow_private_networks and not is_allowed(str(sockaddr[0])):
            raise BlockedSocketAddress(str(sockaddr[0]))
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


def check_peer(
    peername: object,
    url: str,
    *,
    allow_private_networks: bool = False,
    is_allowed: AddressCheck = is_public_address,
) -> None:
    """Refuse a connection whose peer (``transport.get_extra_info('peername')``) is private."""
    if allow_private_networks:
        return
    if not isinstance(peername, tuple) or not peername:
        raise BlockedAddressError(url, "could not verify the connected address")
    if not is_allowed(str(peername[0])):
        raise BlockedAddressError(url, f"refusing non-public address {peername[0]}")


class GuardedResolver(AbstractResolver):
    """Wraps a resolver and drops non-public answers; refuses when none are left."""

    def __init__(
        self,
        inner: AbstractResolver | None = None,
        *,
        allow_private_networks: bool = False,
        is_allowed: AddressCheck = is_public_address,
    ) -> None:
        self._inner = inner if inner is not None else DefaultResolver()
        self._allow_private = allow_private_networks
        self._is_allowed = is_allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return answers
        public = [a for a in answers if self._is_allowed(a["host"])]
        if not public:
            shown = ", ".join(sorted({a["host"] for a in answers})) or "nothing"
            raise BlockedAddressError(host, f"{host} resolves to non-public address {shown}")
        return public

    async def close(self) -> None:
        await self._inner.close()


class StaticResolver(AbstractResolver):
    """A resolver answering from a fixed table (tests; pinned hosts). Unknown names fail."""

    def __init__(self, table: Mapping[str, str | Sequence[str]]) -> None:
        self._table = {
            name.lower().rstrip("."): ([v] if isinstance(v, str) else list(v))
            for name, v in table.items()
        }

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self._table.get(host.lower().rstrip("."))
        if not addresses:
            raise OSError(socket.EAI_NONAME, f"cannot resolve {host}")
        results: list[ResolveResult] = []
        for address in addresses:
            ip = ipaddress.ip_address(address)
            results.append(
                ResolveResult(
                    hostname=host,
                    host=address,
                    port=port,
                    family=socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                    proto=0,
                    flags=socket.AI_NUMERICHOST,
                )
            )
        return results

    async def close(self) -> None:
        return None
