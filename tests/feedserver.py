"""A local feed server for tests: real HTTP on 127.0.0.1, nothing leaves the machine.

Usage (the ``feed_server`` fixture is function-scoped, so every test starts empty)::

    async def test_x(feed_server):
        feed_server.add("/feed.xml", rss_feed(items=3), etag=True)
        url = feed_server.url("/feed.xml")
        ...
        assert feed_server.hits["/feed.xml"] == 1

Routes can also be redirects and redirect chains, chosen statuses with Retry-After, gzip,
slow (delay before headers, delay between chunks), and oversized streamed bodies.
"""

from __future__ import annotations

import asyncio
import gzip as gzip_module
import hashlib
import html
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest_asyncio
from aiohttp import web
from multidict import CIMultiDictProxy

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json"


@dataclass
class Route:
    body: bytes = b""
    content_type: str = RSS
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    delay: float = 0.0  # before the response headers
    chunk_delay: float = 0.0  # between body chunks
    chunk_size: int = 64 * 1024
    stream_size: int | None = None  # stream this many zero bytes instead of body
    send_length: bool = True


@dataclass(frozen=True)
class SeenRequest:
    path: str
    headers: CIMultiDictProxy[str]


class FeedServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        # Requests of a path being served right now, and the most ever served at once.
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.requests: list[SeenRequest] = []
        self._runner: web.AppRunner | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        address = self._runner.addresses[0]
        self.port = int(address[1])
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- registration -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str, *, host: str | None = None) -> str:
        """Absolute URL of ``path``; ``host`` swaps the host name (e.g. 'evil.test')."""
        return f"http://{host or self.host}:{self.port}{path}"

    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = RSS,
        status: int = 200,
        headers: dict[str, str] | None = None,
        etag: bool | str = False,
        last_modified: bool | str = False,
        gzip: bool = False,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        chunk_size: int = 64 * 1024,
    ) -> Route:
        data = body.encode("utf-8") if isinstance(body, str) else body
        if etag is True:
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        if last_modified is True:
            last_modified = format_datetime(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), True)
        route = Route(
            body=data,
            content_type=content_type,
            status=status,
            headers=dict(headers or {}),
            etag=etag or None,
            last_modified=last_modified or None,
            gzip=gzip,
            delay=delay,
            chunk_delay=chunk_delay,
            chunk_size=chunk_size,
        )
        self.routes[path] = route
        return route

    def add_feed(self, path: str, *, items: int = 3, kind: str = "rss", **kwargs: object) -> Route:
        """A generated feed ('rss', 'atom' or 'json') with ETag and Last-Modified."""
        makers = {"rss": (rss_feed, RSS), "atom": (atom_feed, ATOM), "json": (json_feed, JSON_FEED)}
        maker, content_type = makers[kind]
        kwargs.setdefault("etag", True)
        kwargs.setdefault("last_modified", True)
        return self.add(path, maker(items=items), content_type=content_type, **kwargs)  # type: ignore[arg-type]

    def redirect(self, path: str, location: str, *, status: int = 302) -> Route:
        return self.add(path, b"", status=status, headers={"Location": location})

    def redirect_chain(self, path: str, length: int, final: str, *, status: int = 302) -> str:
        """``length`` redirects starting at ``path`` and ending at ``final``; returns path."""
        hops = [path] + [f"{path}/hop{i}" for i in range(1, length)]
        for i, hop in enumerate(hops):
            self.redirect(hop, hops[i + 1] if i + 1 < len(hops) else final, status=status)
        return path

    def status(
        self, path: str, code: int, *, retry_after: str | None = None, body: bytes = b""
    ) -> Route:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return self.add(path, body, status=code, headers=headers, content_type="text/plain")

    def huge(self, path: str, size: int, *, gzip: bool = False, send_length: bool = False) -> Route:
        """A body of ``size`` zero bytes, streamed (or gzip-compressed whole: a small bomb)."""
        if gzip:
            return self.add(path, b"\0" * size, gzip=True, content_type="application/xml")
        route = self.add(path, b"", content_type="application/xml")
        route.stream_size = size
        route.send_length = send_length
        return route

    def reset(self) -> None:
        self.routes.clear()
        self.hits.clear()
        self.requests.clear()
        self.in_flight.clear()
        self.max_in_flight.clear()

    # -- serving ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        self.requests.append(SeenRequest(path, request.headers))
        self.in_flight[path] += 1
        self.max_in_flight[path] = max(self.max_in_flight[path], self.in_flight[path])
        try:
            return await self._respond(request, path)
        finally:
            self.in_flight[path] -= 1

    async def _respond(self, request: web.Request, path: str) -> web.StreamResponse:
        route = self.routes.get(path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.delay:
            await asyncio.sleep(route.delay)
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.status == 200 and _not_modified(request, route):
            return web.Response(status=304, headers=headers)
        body = route.body
        if route.gzip:
            body = gzip_module.compress(body, compresslevel=6)
            headers["Content-Encoding"] = "gzip"
        headers["Content-Type"] = route.content_type
        if route.stream_size is None and not route.chunk_delay:
            return web.Response(status=route.status, body=body, headers=headers)
        response = web.StreamResponse(status=route.status, headers=headers)
        total = route.stream_size if route.stream_size is not None else len(body)
        if route.send_length:
            response.content_length = total
        await response.prepare(request)
        sent = 0
        try:
            while sent < total:
                size = min(route.chunk_size, total - sent)
                chunk = b"\0" * size if route.stream_size is not None else body[sent : sent + size]
                await response.write(chunk)
                sent += size
                if route.chunk_delay:
                    await asyncio.sleep(route.chunk_delay)
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the client hung up, which is what cap/timeout tests want
        return response


def _not_modified(request: web.Request, route: Route) -> bool:
    if route.etag and request.headers.get("If-None-Match") == route.etag:
        return True
    return bool(
        route.last_modified and request.headers.get("If-Modified-Since") == route.last_modified
    )


# -- generated feeds ------------------------------------------------------------------------


def _item_date(i: int) -> datetime:
    return datetime(2026, 11, 20, 12, 0, tzinfo=UTC) - timedelta(hours=i)


def rss_feed(
    items: int = 3, *, title: str = "Generated blog", link: str = "https://blog.test/"
) -> str:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>{html.escape(title)}</title><link>{link}</link><ttl>30</ttl>",
    ]
    for i in range(items):
        parts.append(
            f"<item><title>Post {i}</title><link>{link}post-{i}</link>"
            f"<guid>{link}post-{i}</guid>"
            f"<pubDate>{format_datetime(_item_date(i))}</pubDate>"
            f"<description>&lt;p&gt;Summary {i}&lt;/p&gt;</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts)


def atom_feed(
    items: int = 3, *, title: str = "Generated blog", link: str = "https://blog.test/"
) -> str:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">',
        f'<title>{html.escape(title)}</title><link href="{link}"/><id>{link}</id>',
        f"<updated>{_item_date(0).isoformat()}</updated>",
    ]
    for i in range(items):
        parts.append(
            f'<entry><title>Post {i}</title><link href="{link}post-{i}"/>'
            f"<id>tag:blog.test,2026:{i}</id><updated>{_item_date(i).isoformat()}</updated>"
            f'<content type="html">&lt;p&gt;Body {i}&lt;/p&gt;</content></entry>'
        )
    parts.append("</feed>")
    return "".join(parts)


def json_feed(
    items: int = 3, *, title: str = "Generated blog", link: str = "https://blog.test/"
) -> str:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "home_page_url": link,
            "items": [
                {
                    "id": str(i),
                    "url": f"{link}post-{i}",
                    "title": f"Post {i}",
                    "content_html": f"<p>Body {i}</p>",
                    "date_published": _item_date(i).isoformat(),
                }
                for i in range(items)
            ],
        }
    )


@pytest_asyncio.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    server = FeedServer()
    await server.start()
    try:
        yield server
    finally:
        await server.close()
