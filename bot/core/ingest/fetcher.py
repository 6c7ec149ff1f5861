"""Polite, bounded HTTP fetching of feeds and article pages (invariants 7 and 8).

One ``aiohttp.ClientSession`` is shared by every fetch so connections and DNS answers are
reused across a poll cycle. Redirects are followed by hand so the SSRF guard sees every hop, and
the body is streamed so the decompressed-size cap holds even for gzip bombs.
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import hashlib
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDictProxy
from yarl import URL

from bot.core.errors import (
    BackpressureError,
    BlockedAddressError,
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TooManyRedirects,
)
from bot.core.ingest.ssrf import (
    AddressCheck,
    BlockedSocketAddress,
    GuardedResolver,
    check_peer,
    check_url,
    guarded_socket_factory,
    is_public_address,
)
from bot.core.ingest.urls import host_of
from bot.core.models import FetchResult

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9,"
    " application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|[,\s])(?:no-cache|no-store)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """How the fetcher behaves; filled in by the composition root from settings."""

    user_agent: str = "techbrief/0.1 (+https://github.com/techbrief/techbrief)"
    connect_timeout: float = 10.0
    total_timeout: float = 20.0  # whole fetch, all redirect hops and the body included
    max_body_bytes: int = 10 * 1024 * 1024  # after decompression
    max_redirects: int = 5
    max_concurrency: int = 64
    max_per_host: int = 4
    allow_private_networks: bool = False
    dns_cache_seconds: int = 300

    def __post_init__(self) -> None:
        if "+" not in self.user_agent and "http" not in self.user_agent:
            # Invariant 8: site owners must be able to reach whoever runs the bot.
            raise ValueError("user_agent must include a contact URL")
        positive = {
            "connect_timeout": self.connect_timeout,
            "total_timeout": self.total_timeout,
            "max_body_bytes": self.max_body_bytes,
            "max_concurrency": self.max_concurrency,
            "max_per_host": self.max_per_host,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        if self.max_redirects < 0:
            raise ValueError(f"max_redirects must not be negative, got {self.max_redirects!r}")


class _HostLimiter:
    """Per-host semaphores that disappear when idle, so 10,000 feeds do not pin 10,000 locks."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        sem, users = self._slots.get(host, (asyncio.Semaphore(self._limit), 0))
        self._slots[host] = (sem, users + 1)
        try:
            async with sem:
                yield
        finally:
            sem, users = self._slots[host]
            if users <= 1:
                del self._slots[host]
            else:
                self._slots[host] = (sem, users - 1)

    def __len__(self) -> int:
        return len(self._slots)


class _ContextGuardResolver(AbstractResolver):
    """Applies the SSRF filter only when the requesting task is guarded (see ``guarded=``)."""

    def __init__(
        self,
        inner: AbstractResolver | None,
        guard: contextvars.ContextVar[bool],
        is_allowed: AddressCheck,
    ) -> None:
        self._guarded = GuardedResolver(inner, allow_private_networks=False, is_allowed=is_allowed)
        self._open = GuardedResolver(inner, allow_private_networks=True)
        self._guard = guard

    async def resolve(self, host: str, port: int = 0, family: Any = 0) -> list[ResolveResult]:
        chosen = self._guarded if self._guard.get() else self._open
        return await chosen.resolve(host, port, family)

    async def close(self) -> None:
        await self._guarded.close()


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def parse_max_age(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Freshness lifetime in seconds from Cache-Control (max-age, no-cache) or Expires."""
    cache_control = headers.get("cache-control", "")
    if cache_control:
        match = _MAX_AGE.search(cache_control)
        if match:
            return float(match.group(1))
        if _NO_CACHE.search(cache_control):
            return 0.0
    expires = headers.get("expires")
    if not expires:
        return None
    try:
        expires_at = email.utils.parsedate_to_datetime(expires).timestamp()
    except (TypeError, ValueError, IndexError):
        return 0.0  # RFC 9111: an invalid Expires means "already expired"
    reference = time.time() if now is None else now
    date = headers.get("date")
    if date:
        try:
            reference = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError):
            pass
    return max(0.0, expires_at - reference)


def _flat_headers(raw: CIMultiDictProxy[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


class Fetcher:
    """Fetches feeds and pages over one shared session; use ``async with`` or start()/close()."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        resolver: AbstractResolver | None = None,
        clock: Callable[[], float] = time.time,
        is_allowed: AddressCheck = is_public_address,
    ) -> None:
        """``resolver`` replaces DNS (tests map names to 127.0.0.1); ``is_allowed`` replaces the
        public-address rule (a test seam to treat the local server as "the internet")."""
        self.policy = policy or FetchPolicy()
        self._session = session
        self._owns_session = session is None
        self._resolver = resolver
        self._clock = clock
        self._is_allowed = is_allowed
        self._global = asyncio.Semaphore(self.policy.max_concurrency)
        self._hosts = _HostLimiter(self.policy.max_per_host)
        # Per instance (not module-level): whether the current request is SSRF-guarded.
        self._guard: contextvars.ContextVar[bool] = contextvars.ContextVar(
            f"techbrief_fetch_guard_{id(self)}", default=True
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def _socket_factory(self) -> Callable[[tuple[Any, ...]], Any]:
        strict = guarded_socket_factory(allow_private_networks=False, is_allowed=self._is_allowed)
        relaxed = guarded_socket_factory(allow_private_networks=True)

        def factory(addr_info: tuple[Any, ...]) -> Any:
            return strict(addr_info) if self._guarded_now() else relaxed(addr_info)

        return factory

    def _guarded_now(self) -> bool:
        return self._guard.get() and not self.policy.allow_private_networks

    async def start(self) -> None:
        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(
            resolver=_ContextGuardResolver(self._resolver, self._guard, self._is_allowed)
            if not self.policy.allow_private_networks
            else (self._resolver or aiohttp.DefaultResolver()),
            socket_factory=self._socket_factory(),
            limit=self.policy.max_concurrency,
            limit_per_host=self.policy.max_per_host,
            ttl_dns_cache=self.policy.dns_cache_seconds,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.policy.user_agent},
            # Our own total timeout spans all hops; the per-request one only bounds reads.
            timeout=aiohttp.ClientTimeout(
                total=None,
                sock_connect=self.policy.connect_timeout,
                sock_read=self.policy.total_timeout,
            ),
            auto_decompress=True,
            trust_env=False,
        )
        self._owns_session = True

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> Fetcher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- public API --------------------------------------------------------------------------

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        previous_hash: str | None = None,
        guarded: bool = True,
    ) -> FetchResult:
        """Conditional GET of a feed. See the module docstring and errors.py for outcomes."""
        headers = {"Accept": FEED_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._run(url, headers, previous_hash=previous_hash, guarded=guarded)

    async def fetch_page(self, url: str, *, guarded: bool = True) -> FetchResult:
        """GET an article page (same guard, caps and per-host limits as feeds)."""
        return await self._run(url, {"Accept": PAGE_ACCEPT}, previous_hash=None, guarded=guarded)

    # -- internals ---------------------------------------------------------------------------

    async def _run(
        self,
        url: str,
        headers: dict[str, str],
        *,
        previous_hash: str | None,
        guarded: bool,
    ) -> FetchResult:
        if self._session is None:
            raise RuntimeError("Fetcher.start() was not called (use 'async with Fetcher(...)')")
        token = self._guard.set(guarded)
        try:
            async with self._global:
                try:
                    async with asyncio.timeout(self.policy.total_timeout):
                        return await self._follow(url, headers, previous_hash=previous_hash)
                except TimeoutError as exc:
                    raise FetchTimeout(
                        url, f"timed out after {self.policy.total_timeout:g}s: {url}"
                    ) from exc
        finally:
            self._guard.reset(token)

    async def _follow(
        self, url: str, headers: dict[str, str], *, previous_hash: str | None
    ) -> FetchResult:
        assert self._session is not None
        guarded = self._guarded_now()
        if not self._guard.get() and not self.policy.allow_private_networks:
            # An unguarded connection must never be pooled and later reused by a guarded fetch.
            headers = {**headers, "Connection": "close"}
        current = url
        for _hop in range(self.policy.max_redirects + 1):
            target = self._checked(url, current, guarded)
            async with self._hosts.hold(host_of(current)):
                try:
                    async with self._session.get(
                        target, headers=headers, allow_redirects=False
                    ) as resp:
                        self._check_connected_peer(resp, url, guarded)
                        if resp.status in _REDIRECTS and "Location" in resp.headers:
                            location = resp.headers["Location"]
                            try:
                                current = str(target.join(URL(location)))
                            except ValueError as exc:
                                raise FetchError(
                                    url, f"bad redirect location {location!r}"
                                ) from exc
                            continue
                        return await self._finish(url, current, resp, previous_hash)
                except BlockedAddressError as exc:
                    raise BlockedAddressError(url, exc.reason) from exc
                except aiohttp.ClientConnectorDNSError as exc:
                    raise FetchError(url, f"cannot resolve host {host_of(current)!r}") from exc
                except aiohttp.ClientConnectorError as exc:
                    if isinstance(exc.os_error, BlockedSocketAddress) or (
                        "non-public address" in str(exc)
                    ):
                        raise BlockedAddressError(
                            url, f"refusing to connect to a non-public address for {current}"
                        ) from exc
                    raise FetchError(
                        url, f"cannot connect to {host_of(current)}: {exc.os_error}"
                    ) from exc
                except aiohttp.ServerTimeoutError as exc:
                    raise FetchTimeout(url, f"timed out reading {current}") from exc
                except aiohttp.ClientPayloadError as exc:
                    raise FetchError(url, f"broken response body from {current}") from exc
                except aiohttp.InvalidURL as exc:
                    raise FetchError(url, f"invalid URL {current}") from exc
                except aiohttp.ClientError as exc:
                    raise FetchError(url, f"request failed: {type(exc).__name__}: {exc}") from exc
        raise TooManyRedirects(
            url, f"more than {self.policy.max_redirects} redirects (last: {current})"
        )

    def _checked(self, original: str, current: str, guarded: bool) -> URL:
        try:
            return check_url(
                current, allow_private_networks=not guarded, is_allowed=self._is_allowed
            )
        except BlockedAddressError as exc:
            raise BlockedAddressError(original, exc.reason) from exc
        except ValueError as exc:
            raise FetchError(original, f"invalid URL {current}") from exc

    def _check_connected_peer(self, resp: aiohttp.ClientResponse, url: str, guarded: bool) -> None:
        if not guarded:
            return
        connection = resp.connection
        transport = connection.transport if connection is not None else None
        if transport is None:
            return  # body already complete and connection released; it was dialled guarded
        check_peer(transport.get_extra_info("peername"), url, is_allowed=self._is_allowed)

    async def _finish(
        self,
        url: str,
        final_url: str,
        resp: aiohttp.ClientResponse,
        previous_hash: str | None,
    ) -> FetchResult:
        headers = _flat_headers(resp.headers)
        status = resp.status
        now = self._clock()
        if status == 304:
            return FetchResult(
                url=url,
                final_url=final_url,
                status=status,
                body=None,
                headers=headers,
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
                body_hash=previous_hash,
                not_modified=True,
                max_age=parse_max_age(headers, now=now),
            )
        if status == 429 or (status == 503 and "retry-after" in headers):
            raise BackpressureError(
                url, status, parse_retry_after(headers.get("retry-after"), now=now)
            )
        if status >= 400:
            reason = "HTTP 410 Gone: the feed was removed" if status == 410 else None
            raise HTTPStatusError(url, status, reason or f"HTTP {status} from {final_url}")
        if status >= 300:
            raise HTTPStatusError(url, status, f"HTTP {status} without a usable Location")
        body = await self._read_capped(url, resp, headers)
        body_hash = hashlib.sha256(body).hexdigest()
        unchanged = previous_hash is not None and previous_hash == body_hash
        return FetchResult(
            url=url,
            final_url=final_url,
            status=status,
            body=None if unchanged else body,
            headers=headers,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            body_hash=body_hash,
            unchanged=unchanged,
            max_age=parse_max_age(headers, now=now),
        )

    async def _read_capped(
        self, url: str, resp: aiohttp.ClientResponse, headers: Mapping[str, str]
    ) -> bytes:
        cap = self.policy.max_body_bytes
        declared = headers.get("content-length", "")
        encoded = headers.get("content-encoding", "identity").lower() not in ("", "identity")
        if declared.isdigit() and not encoded and int(declared) > cap:
            raise BodyTooLarge(url, f"body of {int(declared)} bytes exceeds the {cap}-byte cap")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > cap:
                raise BodyTooLarge(url, f"body exceeds the {cap}-byte cap (after decompression)")
            chunks.append(chunk)
        return b"".join(chunks)
