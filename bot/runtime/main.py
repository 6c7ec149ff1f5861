"""`techbrief run`: start everything, run until SIGTERM/SIGINT, then stop within 10 seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable

import discord

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services, open_services
from bot.runtime.discord_api import point_discord_at
from bot.runtime.health import HealthChecks, HealthServer
from bot.runtime.scheduler import Ticker
from bot.settings import Settings

log = logging.getLogger(__name__)

SHUTDOWN_BUDGET_S = 10.0


def schedule_jobs(ticker: Ticker, services: Services, bot: TechbriefBot) -> None:
    """Register the periodic work each feature contributes (features add theirs here)."""
    for name, seconds, job in services.jobs(bot):
        ticker.every(name, seconds, job)


async def _bounded(step: str, awaitable: Awaitable[object], deadline: float) -> None:
    remaining = max(0.1, deadline - time.monotonic())
    try:
        await asyncio.wait_for(awaitable, timeout=remaining)
    except TimeoutError:
        log.warning("shutdown step timed out", extra={"step": step})
    except Exception:
        log.exception("shutdown step failed", extra={"step": step})


async def run_bot(settings: Settings) -> int:
    assert settings.discord.token is not None
    point_discord_at(settings.discord.api_base)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async with open_services(settings) as services:
        bot = TechbriefBot(services)
        ticker = Ticker()
        schedule_jobs(ticker, services, bot)
        health = HealthServer(
            HealthChecks(
                gateway=lambda: _value(bot.gateway_connected()),
                database=services.database_ok,
                scheduler=lambda: _value(ticker.alive()),
            ),
            services.metrics, settings.http.host, settings.http.port,
        )
        if settings.http.enabled:
            await health.start()
        ticker.start()
        bot_task = asyncio.create_task(bot.start(settings.discord.token.get_secret_value()))
        stop_task = asyncio.create_task(stop.wait())
        await asyncio.wait({bot_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        code = 0
        if bot_task.done() and not stop.is_set():
            code = _exit_code(bot_task)
        log.info("shutting down")
        deadline = time.monotonic() + SHUTDOWN_BUDGET_S
        ticker.shutdown()  # stop taking new work first
        await _bounded("in-flight sends", services.drain(), deadline)
        await _bounded("discord", bot.close(), deadline)
        for task in (bot_task, stop_task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await _bounded("health endpoint", health.stop(), deadline)
    log.info("stopped", extra={"exit_code": code})
    return code


async def _value(result: bool) -> bool:
    return result


def _exit_code(task: asyncio.Task[None]) -> int:
    exc = task.exception()
    if exc is None:
        return 0
    if isinstance(exc, discord.LoginFailure):
        sys.stderr.write(
            "techbrief: Discord refused the token (DISCORD_TOKEN). Reset it in the developer "
            "portal (Bot -> Reset Token) and set the new one in .env.\n"
        )
        return 2
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        sys.stderr.write("techbrief: Discord requires an intent the bot did not ask for.\n")
        return 2
    log.error("the Discord connection ended with an error", exc_info=exc)
    return 1
