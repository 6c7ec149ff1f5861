"""`techbrief run`: start everything, run until SIGTERM/SIGINT, then stop within 10 seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable
from typing import Any

import discord
from sqlalchemy.exc import SQLAlchemyError

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services, open_services
from bot.runtime.discord_api import point_discord_at
from bot.runtime.health import HealthChecks, HealthServer
from bot.runtime.scheduler import Ticker
from bot.runtime.settings import ROLES, Settings
from bot.runtime.single_process import AlreadyRunning, only_process, sqlite_file

log = logging.getLogger(__name__)

SHUTDOWN_BUDGET_S = 10.0
EXIT_USAGE = 2  # as bot.cli: the configuration (not the code) must change


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


async def _stop_connecting(task: asyncio.Task[None], deadline: float) -> None:
    """End `bot.start()` before closing the client, cancelling again if a cancel is lost.

    Cancelling first ends a (re)connect stuck in a gateway handshake during an outage; closing
    first would make discord.py's launch_shard fail, log a traceback and retry every 5 s,
    forever. And asyncio.wait_for (Python 3.11) drops a cancel that races the inner call's
    failure, which discord.py then retries too: so cancel until the task is really done.
    """
    while not task.done() and time.monotonic() < deadline:
        task.cancel()
        await asyncio.wait({task}, timeout=0.25)
    if not task.done():
        log.warning("shutdown step timed out", extra={"step": "discord connect"})
    elif not task.cancelled():
        task.exception()  # already reported via the exit code; mark it retrieved


async def _database_problem(services: Services) -> tuple[str, int] | None:
    """Why the bot cannot use its database (and the exit code), checked before Discord.

    Without this, an unmigrated database shows up only as a traceback from every job tick.
    """
    from bot.storage.migrate import current_revision, head_revision

    try:
        current = await current_revision(services.engine)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        # The URL itself is not repeated: it may carry a password. Exit 1, not 2: a database
        # that is still starting is worth a restart, a wrong setting is not.
        return f"cannot open the database (DATABASE_URL): {type(exc).__name__}: {reason}", 1
    head = head_revision()
    if current != head:
        return (
            f"the database schema is at revision {current or '(empty)'} but this version of "
            f"techbrief needs {head}: run `techbrief db upgrade` first (`make run` does).",
            EXIT_USAGE,
        )
    return None


def split_roles_problem(settings: Settings) -> str | None:
    """Why this process's roles cannot run on its database, or None.

    Splitting the roles over processes needs what only PostgreSQL has: leases taken with SKIP
    LOCKED and the sender's advisory lock. On SQLite one process does everything."""
    roles = tuple(settings.runtime.roles)
    if sqlite_file(settings.database.url) is None or roles == ROLES:
        return None
    return (
        f"--roles {','.join(roles)} splits the bot over processes, which needs PostgreSQL "
        "(DATABASE_URL=postgresql+asyncpg://…); on SQLite run all roles in one process."
    )


async def run_bot(settings: Settings) -> int:
    assert settings.discord.token is not None
    point_discord_at(settings.discord.api_base)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    refused = split_roles_problem(settings)
    if refused is not None:
        sys.stderr.write(f"techbrief: {refused}\n")
        return EXIT_USAGE
    try:
        with only_process(settings.database.url):
            return await _run(settings, stop)
    except AlreadyRunning as exc:
        sys.stderr.write(f"techbrief: {exc}\n")
        return EXIT_USAGE


async def _run(settings: Settings, stop: asyncio.Event) -> int:
    assert settings.discord.token is not None
    async with open_services(settings) as services:
        problem = await _database_problem(services)
        if problem is not None:
            message, exit_code = problem
            sys.stderr.write(f"techbrief: {message}\n")
            return exit_code
        bot = TechbriefBot(services)
        ticker = Ticker()
        schedule_jobs(ticker, services, bot)
        health = HealthServer(
            HealthChecks(
                gateway=lambda: _value(bot.gateway_connected() or "gateway" not in services.roles),
                database=services.database_ok,
                scheduler=lambda: _value(ticker.alive()),
            ),
            services.metrics,
            settings.http.host,
            settings.http.port,
            describe=lambda: roles_report(services, bot, ticker),
        )
        for role in services.roles:
            services.metrics.role.labels(role=role).set(1)
        if settings.http.enabled:
            try:
                await health.start()
            except OSError as exc:  # a second `make run`, or another service on the port
                sys.stderr.write(
                    f"techbrief: cannot serve /healthz on {settings.http.host}:"
                    f"{settings.http.port}: {exc.strerror or exc}. Stop whatever uses that port, "
                    "or pick another with TECHBRIEF_HTTP__PORT (or [http] port).\n"
                )
                return EXIT_USAGE
        ticker.start()
        token = settings.discord.token.get_secret_value()
        bot_task = asyncio.create_task(_connect(bot, token, services.roles, stop))
        stop_task = asyncio.create_task(stop.wait())
        await asyncio.wait({bot_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        code = 0
        if bot_task.done() and not stop.is_set():
            code = _exit_code(bot_task)
        log.info("shutting down")
        deadline = time.monotonic() + SHUTDOWN_BUDGET_S
        # Stop taking new work first; a tick in progress gets a share of the budget.
        await _bounded("scheduled jobs", ticker.stop(grace=SHUTDOWN_BUDGET_S / 3), deadline)
        await _bounded("in-flight sends", services.drain(), deadline)
        await _stop_connecting(bot_task, deadline)
        await _bounded("discord", bot.close(), deadline)
        stop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stop_task
        await _bounded("health endpoint", health.stop(), deadline)
    log.info("stopped", extra={"exit_code": code})
    return code


def roles_report(services: Services, bot: TechbriefBot, ticker: Ticker) -> dict[str, Any]:
    """What this process owns, per role, for /healthz."""
    report: dict[str, Any] = {}
    if "gateway" in services.roles:
        connected = sorted(i for i, shard in bot.shards.items() if not shard.is_closed())
        report["gateway"] = {"shards": connected, "shard_count": bot.shard_count}
    if "worker" in services.roles:
        report["worker"] = {"last_poll_seconds_ago": ticker.seconds_since("poll")}
    if "sender" in services.roles:
        lead = services.leadership
        report["sender"] = {"state": lead.state if lead is not None else "leader"}
    return report


async def _connect(
    bot: TechbriefBot, token: str, roles: tuple[str, ...], stop: asyncio.Event
) -> None:
    """The gateway role connects the shards and answers interactions; a process without it
    only logs in over REST (the sender delivers through it) and never opens a socket."""
    if "gateway" in roles:
        await bot.start(token)
        return
    await bot.login(token)
    await stop.wait()


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
