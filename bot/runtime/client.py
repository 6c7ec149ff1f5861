"""The discord.py client: one extension per feature, explicit command sync, minimal intents."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.runtime.container import Services
from bot.runtime.discord_api import DISCORD_DEFAULT_BASE, use_gateway
from bot.runtime.errors import on_app_command_error
from bot.runtime.extensions import EXTENSIONS
from bot.runtime.i18n import CatalogTranslator
from bot.runtime.pacer import counts_toward_global_limit

log = logging.getLogger(__name__)

# How long discord.py waits after the last GUILD_CREATE before it calls the bot ready (its
# default is 2 s per shard). With only the guilds intent nothing is chunked, and a guild that
# arrives after readiness is still cached (dispatched as guild_available), so the wait only
# delays /healthz turning healthy; half a second still absorbs Discord's GUILD_CREATE burst.
GUILD_READY_TIMEOUT_S = 0.5


class TimedTree(app_commands.CommandTree["TechbriefBot"]):
    """Records how long each interaction takes to handle (Discord allows 3 s to acknowledge)."""

    async def _call(self, interaction: discord.Interaction[TechbriefBot]) -> None:
        started = time.monotonic()
        try:
            await super()._call(interaction)
        finally:
            self.client.services.metrics.interaction_latency.observe(time.monotonic() - started)


def _trace(services: Services) -> aiohttp.TraceConfig:
    """Paces every REST request discord.py sends (retries included) below the global limit,
    and counts its responses (and 429s), without touching its internals."""
    trace = aiohttp.TraceConfig()

    async def on_start(
        _session: aiohttp.ClientSession, _ctx: object, params: aiohttp.TraceRequestStartParams
    ) -> None:
        # Awaited before aiohttp starts the request's timeout, so waiting here costs none.
        if services.pacer is not None and counts_toward_global_limit(params.url):
            await services.pacer.wait()

    async def on_end(
        _session: aiohttp.ClientSession, _ctx: object, params: aiohttp.TraceRequestEndParams
    ) -> None:
        status = params.response.status
        services.metrics.discord_requests.labels(status=f"{status // 100}xx").inc()
        if status == 429:
            services.metrics.discord_429.inc()

    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    return trace


def intents() -> discord.Intents:
    # Slash commands and guild/channel lifecycle only: no message content, no members.
    value = discord.Intents.none()
    value.guilds = True
    return value


def _shard_ids(services: Services) -> list[int] | None:
    ids = services.settings.discord.shard_ids
    return list(ids) if ids is not None else None


class TechbriefBot(commands.AutoShardedBot):
    def __init__(
        self,
        services: Services,
        *,
        extensions: Sequence[str] = EXTENSIONS,
        guild_ready_timeout: float = GUILD_READY_TIMEOUT_S,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents(),
            tree_cls=TimedTree,
            allowed_mentions=discord.AllowedMentions.none(),
            http_trace=_trace(services),
            shard_count=services.settings.discord.shard_count,
            shard_ids=_shard_ids(services),  # type: ignore[arg-type]  # None: all shards
            guild_ready_timeout=guild_ready_timeout,
            activity=discord.Activity(type=discord.ActivityType.watching, name="engineering blogs"),
        )
        self.services = services
        services.discord_http = self.http
        self.extension_names = tuple(extensions)
        self.failed_extensions: dict[str, str] = {}

    async def setup_hook(self) -> None:
        if self.services.settings.discord.api_base != DISCORD_DEFAULT_BASE:
            # Re-identify after an invalidated session must go to the same (proxied) gateway.
            _shards, url, _limits = await self.http.get_bot_gateway()
            use_gateway(url)
        self.tree.on_error = on_app_command_error  # type: ignore[method-assign]
        # Before any sync: the payload carries each command's ko/ja localisations.
        await self.tree.set_translator(CatalogTranslator(self.services.localizer))
        for name in self.extension_names:
            try:
                await self.load_extension(name)
            except Exception as exc:  # one broken feature must not take the others down
                self.failed_extensions[name] = f"{type(exc).__name__}: {exc}"
                log.exception("extension failed to load", extra={"extension": name})
        if self.services.settings.discord.sync_commands_on_start:
            await self.sync_commands(self.services.settings.discord.sync_guild_id)

    async def sync_commands(self, guild_id: int | None = None) -> list[app_commands.AppCommand]:
        if guild_id is None:
            return await self.tree.sync()
        guild = discord.Object(id=guild_id)
        self.tree.copy_global_to(guild=guild)
        return await self.tree.sync(guild=guild)

    def gateway_connected(self) -> bool:
        """True while every shard's websocket is open: what /healthz reports as `gateway`."""
        if not self.is_ready() or self.is_closed() or self.is_ws_ratelimited():
            return False
        # is_ready() stays true through a dropped connection and its retries, so ask the
        # sockets themselves: while one is down, that shard's interactions go unanswered.
        return all(not shard.is_closed() for shard in self.shards.values())

    async def on_ready(self) -> None:
        self.services.metrics.gateway_connected.set(1)
        log.info("connected", extra={"user": str(self.user), "guilds": len(self.guilds)})

    async def on_disconnect(self) -> None:
        self.services.metrics.gateway_connected.set(0)

    async def on_resumed(self) -> None:
        self.services.metrics.gateway_connected.set(1)
        log.info("gateway session resumed")
