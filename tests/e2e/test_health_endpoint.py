"""/healthz under failing checks (in-process: a hung database cannot be arranged from outside).

The healthy case, and /metrics, are covered against the real process in test_run_process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from bot.runtime.health import HealthChecks, HealthServer
from bot.runtime.metrics import Metrics

CHECK_TIMEOUT = 0.5


async def ok() -> bool:
    return True


async def hangs() -> bool:
    await asyncio.Event().wait()
    return True


async def raises() -> bool:
    raise ConnectionRefusedError("database is down")


async def _get(server: HealthServer) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{server.port}/healthz"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp,
    ):
        return resp.status, await resp.json()


@contextlib.asynccontextmanager
async def _serve(
    gateway: Callable[[], Awaitable[bool]] = ok,
    database: Callable[[], Awaitable[bool]] = ok,
    scheduler: Callable[[], Awaitable[bool]] = ok,
) -> AsyncIterator[HealthServer]:
    server = HealthServer(
        HealthChecks(gateway=gateway, database=database, scheduler=scheduler),
        Metrics(),
        "127.0.0.1",
        0,
        check_timeout=CHECK_TIMEOUT,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_a_hung_check_reads_unhealthy_quickly_and_names_itself(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with _serve(database=hangs, scheduler=hangs) as server:
        started = time.monotonic()
        status, body = await _get(server)
        elapsed = time.monotonic() - started

    assert status == 503
    assert body == {
        "status": "unhealthy",
        "checks": {"gateway": True, "database": False, "scheduler": False},
    }
    assert elapsed < 2 * CHECK_TIMEOUT  # both timed out together, not one after the other
    timed_out = {
        r.__dict__.get("check") for r in caplog.records if r.msg == "health check timed out"
    }
    assert timed_out == {"database", "scheduler"}


async def test_a_failing_check_is_logged_and_reads_unhealthy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with _serve(database=raises) as server:
        status, body = await _get(server)

    assert status == 503 and body["checks"]["database"] is False
    [record] = [r for r in caplog.records if r.msg == "health check failed"]
    assert record.__dict__["check"] == "database" and record.exc_info is not None


async def test_all_checks_true_is_200() -> None:
    async with _serve() as server:
        status, body = await _get(server)
    assert status == 200 and body["status"] == "ok"
