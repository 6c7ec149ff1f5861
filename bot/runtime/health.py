"""/healthz and /metrics over HTTP (127.0.0.1 by default)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.runtime.metrics import Metrics

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[bool]]

# A check that hangs (a database that stopped answering) must read as unhealthy, quickly:
# probes time out after a few seconds, and a named failing check beats a hung request.
CHECK_TIMEOUT_S = 2.0


@dataclass
class HealthChecks:
    gateway: Check
    database: Check
    scheduler: Check


class HealthServer:
    def __init__(
        self,
        checks: HealthChecks,
        metrics: Metrics,
        host: str,
        port: int,
        *,
        check_timeout: float = CHECK_TIMEOUT_S,
        describe: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._describe = describe
        self._checks = checks
        self._check_timeout = check_timeout
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

    async def _run(self, name: str, check: Check) -> bool:
        try:
            return await asyncio.wait_for(check(), self._check_timeout)
        except TimeoutError:
            log.warning("health check timed out", extra={"check": name})
            return False
        except Exception:
            log.exception("health check failed", extra={"check": name})
            return False

    async def _healthz(self, _request: web.Request) -> web.Response:
        named = {
            "gateway": self._checks.gateway,
            "database": self._checks.database,
            "scheduler": self._checks.scheduler,
        }
        # Concurrently: one slow check must not add its time to the others'.
        outcomes = await asyncio.gather(*(self._run(n, c) for n, c in named.items()))
        results = dict(zip(named, outcomes, strict=True))
        healthy = all(results.values())
        body: dict[str, Any] = {"status": "ok" if healthy else "unhealthy", "checks": results}
        if self._describe is not None:
            body["roles"] = self._describe()
        return web.json_response(body, status=200 if healthy else 503)

    async def _metrics_view(self, _request: web.Request) -> web.Response:
        response = web.Response(body=self._metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response
