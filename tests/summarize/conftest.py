"""Local HTTP servers (127.0.0.1 only) for the LLM and teaser tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.core.errors import HTTPStatusError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RecordingServer:
    """An aiohttp server whose routes the test sets; it records every request path and body."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.paths: list[str] = []
        self.bodies: list[dict[str, object]] = []
        self._server: TestServer | None = None

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.paths.append(request.path)
        if request.can_read_body and request.content_type == "application/json":
            self.bodies.append(await request.json())
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    def url(self, path: str = "") -> str:
        assert self._server is not None
        return str(self._server.make_url(path))


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    srv = RecordingServer()
    await srv.start()
    yield srv
    await srv.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def page_fetcher(session: aiohttp.ClientSession) -> Callable[[str], Awaitable[bytes]]:
    """A stand-in for the project's guarded fetcher: bytes on 200, HTTPStatusError otherwise."""

    async def fetch(url: str) -> bytes:
        assert url.startswith("http://127.0.0.1:"), url  # tests never leave the machine
        async with session.get(url) as resp:
            if resp.status != 200:
                raise HTTPStatusError(url, resp.status)
            return await resp.read()

    return fetch
