"""/healthz and /metrics over HTTP (127.0.0.1 by default)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.runtime.metrics import Metrics

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[bool]]


@dataclass
class HealthChecks:
    gateway: Check
    database: Check
    scheduler: Check


class HealthServer:
    def __init__(self, checks: HealthChecks, metrics: Metrics, host: str, port: int) -> None:
        self._checks = checks
        self._metrics = metrics
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_view)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._port
        log.info("health endpoint listening", extra={"host": self._host, "port": self.port})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _run(self, check: Check) -> bool:
        try:
            return await check()
        except Exception:
            log.exception("health check failed")
            return False

    async def _healthz(self, _request: web.Request) -> web.Response:
        results = {
            "gateway": await self._run(self._checks.gateway),
            "database": await self._run(self._checks.database),
            "scheduler": await self._run(self._checks.scheduler),
        }
        healthy = all(results.values())
        body = {"status": "ok" if healthy else "unhealthy", "checks": results}
        return web.json_response(body, status=200 if healthy else 503)

    async def _metrics_view(self, _request: web.Request) -> web.Response:
        response = web.Response(body=self._metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response
