"""FakeDiscord: the aiohttp server tying world, REST, gateway and helpers together."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from . import builders as B
from .faults import Faults
from .gateway import Gateway
from .interactions import RESPONSE_WINDOW, InteractionRecord
from .modals import submit_payload
from .openapi import OpenAPIValidator
from .ratelimit import RateLimiter
from .recorder import GatewayLog, RecordedRequest, Recorder, Violation
from .rest import API_PREFIX, RestApi
from .state import Channel, Guild, Overwrite, StoredMessage, User, World, snowflake


class FakeDiscord:
    """A local Discord (REST + gateway) for real, unmodified discord.py.

    ``await start()`` returns the API base (``http://127.0.0.1:PORT/api/v10``); the
    gateway is at :attr:`ws_url`. See the package docstring for pointing a bot at it.
    """

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        bot_name: str = "techbrief",
        shard_count: int = 1,
        default_guild: bool = True,
        global_limit: int = 50,
        route_limits: dict[str, tuple[int, float]] | None = None,
        default_route_limit: tuple[int, float] = (50, 1.0),
        openapi_path: Path | None = None,
        validate_openapi: bool = True,
        response_window: float = RESPONSE_WINDOW,
        require_registered_commands: bool = False,
        heartbeat_interval_ms: int = 41250,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.host = host
        self.port = 0
        bot = User(snowflake(), bot_name, bot=True)
        self.world = World(bot=bot, application_id=bot.id)
        self.recorder = Recorder()
        self.faults = Faults()
        self.ratelimits = RateLimiter(
            global_limit=global_limit,
            default_limit=default_route_limit[0],
            default_window=default_route_limit[1],
            route_limits=dict(route_limits or {}),
        )
        self.require_registered_commands = require_registered_commands
        self.gateway = Gateway(
            self.world, self.recorder, token, lambda: self.ws_url, heartbeat_interval_ms
        )
        self.rest = RestApi(
            world=self.world,
            recorder=self.recorder,
            gateway=self.gateway,
            limiter=self.ratelimits,
            faults=self.faults,
            openapi=OpenAPIValidator.load(openapi_path) if validate_openapi else None,
            token=token,
            base_url=lambda: self.base_url,
            ws_url=lambda: self.ws_url,
            shard_count=shard_count,
            response_window=response_window,
        )
        self.tester = self.world.add_user("tester")
        self._guild: Guild | None = None
        self._channel: Channel | None = None
        if default_guild:
            self._guild = self.add_guild()
            self._channel = self._guild.channel_by_name("general")
        self._runner: web.AppRunner | None = None

    # -- the default world ---------------------------------------------------------------
    # Properties, not Optional attributes: tests use them on nearly every line, and a fake
    # made with default_guild=False should fail loudly here rather than with a None error.
    @property
    def guild(self) -> Guild:
        """The default guild (the bot is a member); needs ``default_guild=True``."""
        if self._guild is None:
            raise AttributeError("this FakeDiscord has no default guild (default_guild=False)")
        return self._guild

    @property
    def channel(self) -> Channel:
        """#general of the default guild."""
        if self._channel is None:
            raise AttributeError("this FakeDiscord has no default guild (default_guild=False)")
        return self._channel

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What discord.http.Route.BASE must be set to."""
        return self.base_url + API_PREFIX

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def openapi_enabled(self) -> bool:
        return self.rest.openapi is not None

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self.gateway.handle)
        app.router.add_route("GET", "/attachments/{attachment_id}/{filename}", self._attachment)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self.rest.handle)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        # Bind port 0 ourselves so the chosen port is known without private attributes.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self.api_base

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _attachment(self, request: web.Request) -> web.Response:
        aid = request.match_info["attachment_id"]
        for stored in self.world.messages.values():
            for meta, f in zip(stored.payload.get("attachments", []), stored.files, strict=False):
                if meta["id"] == aid:
                    return web.Response(body=f.data, content_type=f.content_type)
        return web.Response(status=404)

    # -- world configuration -------------------------------------------------------------
    def add_guild(self, name: str = "Test Guild", **kwargs: Any) -> Guild:
        """A guild the bot is in (before start; use join_guild() once connected)."""
        guild = self.world.add_guild(name, **kwargs)
        guild.add_member(self.tester)
        return guild

    async def join_guild(self, name: str = "New Guild", **kwargs: Any) -> Guild:
        """Add a guild at runtime and send GUILD_CREATE, as when the bot is invited."""
        guild = self.add_guild(name, **kwargs)
        await self.gateway.dispatch(
            "GUILD_CREATE", guild.payload(self.world.bot), guild_id=guild.id
        )
        return guild

    def deny_bot(self, channel: Channel, permissions: int) -> None:
        """Add a member overwrite denying the bot ``permissions`` in ``channel``.

        Call before the bot connects, or follow with ``await update_channel(channel)``.
        """
        channel.overwrites.append(Overwrite.member(self.world.bot.id, deny=permissions))

    async def update_channel(self, channel: Channel) -> None:
        """Tell the connected bot about a changed channel (e.g. after deny_bot)."""
        await self.gateway.dispatch("CHANNEL_UPDATE", channel.payload(), guild_id=channel.guild_id)

    # -- recorded state ------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        return self.recorder.requests

    @property
    def violations(self) -> list[Violation]:
        return self.recorder.violations

    @property
    def gateway_log(self) -> GatewayLog:
        return self.recorder.gateway

    @property
    def interactions(self) -> dict[int, InteractionRecord]:
        return self.rest.interactions

    def sent(
        self, route: str | None = None, *, channel_id: int | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests, e.g. sent("POST /channels/{channel_id}/messages", channel_id=c)."""
        return self.recorder.find(route, channel_id=channel_id)

    def messages(self, channel_id: int) -> list[StoredMessage]:
        """Messages currently in a channel (created by the bot, not deleted), oldest first."""
        return sorted(self.world.channel_messages(channel_id), key=lambda m: m.id)

    def assert_no_violations(self) -> None:
        if self.violations:
            raise AssertionError(
                "fake Discord saw requests real Discord would reject:\n"
                + self.recorder.format_violations()
            )

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll ``predicate`` (cheap, in-memory) until true; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.005)

    async def wait_identified(self, sessions: int = 1, timeout: float = 5.0) -> None:
        await self.wait_until(lambda: len(self.gateway.live_sessions()) >= sessions, timeout)

    # -- gateway control -----------------------------------------------------------------
    async def dispatch(
        self, event: str, data: dict[str, Any], *, guild_id: int | None = None
    ) -> None:
        """Push any dispatch event (to the shard owning guild_id, or every session)."""
        await self.gateway.dispatch(event, data, guild_id=guild_id)

    async def drop_websocket(self, shard_id: int | None = None) -> int:
        return await self.gateway.drop(shard_id)

    async def request_reconnect(self, shard_id: int | None = None) -> None:
        await self.gateway.request_reconnect(shard_id)

    def hold_gateway(self) -> None:
        """Gateway outage: new websocket handshakes hang until ``release_gateway()``."""
        self.gateway.hold()

    def release_gateway(self) -> None:
        self.gateway.release()

    async def invalidate_session(
        self, shard_id: int | None = None, *, resumable: bool = False
    ) -> None:
        await self.gateway.invalidate_session(shard_id, resumable=resumable)

    # -- interactions --------------------------------------------------------------------
    def _context(
        self,
        guild: Guild | None,
        channel: Channel | None,
        user: User | None,
        member_permissions: int | None,
        app_permissions: int | None,
    ) -> dict[str, Any]:
        guild = guild or self._guild
        if guild is None:
            raise ValueError("no guild: pass guild= (the fake has no default guild)")
        if channel is None:
            channel = (
                self._channel if self._channel and self._channel.guild_id == guild.id else None
            )
            channel = channel or next(iter(guild.channels.values()))
        user = user or self.tester
        if user.id not in guild.members:
            guild.add_member(user)
        return {
            "world": self.world,
            "guild": guild,
            "channel": channel,
            "user": user,
            "member_permissions": (
                guild.permissions_in(channel, user.id)
                if member_permissions is None
                else member_permissions
            ),
            "app_permissions": (
                guild.permissions_in(channel, self.world.bot.id)
                if app_permissions is None
                else app_permissions
            ),
        }

    async def interact(
        self, payload: dict[str, Any], *, timeout: float | None = None
    ) -> InteractionRecord:
        """Push INTERACTION_CREATE and wait for the bot's callback (default: 3 s window)."""
        rec = self.push_interaction(payload)
        await self._await_answer(rec, timeout)
        return rec

    def push_interaction(self, payload: dict[str, Any]) -> InteractionRecord:
        """Register and push without waiting (the push itself runs as a task)."""
        rec = InteractionRecord(payload)
        self.rest.interactions[rec.id] = rec
        data = payload.get("data") or {}
        if (
            self.require_registered_commands
            and payload.get("type") in (2, 4)
            and B.registered_command(self.world, data.get("name", ""), int(payload["guild_id"]))
            is None
        ):
            self.recorder.violation(
                "INTERACTION_CREATE",
                f"command {data.get('name')!r} was never registered by the bot",
            )
        guild_id = int(payload["guild_id"]) if payload.get("guild_id") else None
        rec.pushed_at = time.monotonic()
        task = asyncio.get_running_loop().create_task(
            self.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=guild_id)
        )
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)
        return rec

    async def _await_answer(self, rec: InteractionRecord, timeout: float | None) -> None:
        limit = self.rest.response_window if timeout is None else timeout
        try:
            await asyncio.wait_for(rec.answered.wait(), limit)
        except TimeoutError:
            data = rec.payload.get("data") or {}
            what = data.get("name") or data.get("custom_id") or rec.id
            raise AssertionError(
                f"the bot did not answer interaction {what!r} within {limit}s"
            ) from None

    async def interact_command(
        self,
        command: str,
        options: dict[str, Any] | None = None,
        *,
        guild: Guild | None = None,
        channel: Channel | None = None,
        user: User | None = None,
        member_permissions: int | None = None,
        app_permissions: int | None = None,
        timeout: float | None = None,
        locale: str = "en-US",
    ) -> InteractionRecord:
        """Run a slash command: ``interact_command("feed add", {"url": "..."})``.

        Option types come from the bot's registered command when available; ``locale`` is
        the invoking user's client language (Discord's ``interaction.locale``).
        """
        ctx = self._context(guild, channel, user, member_permissions, app_permissions)
        data = B.slash_data(self.world, command, options or {}, ctx["guild"].id)
        payload = B.base_interaction(kind=B.APPLICATION_COMMAND, data=data, locale=locale, **ctx)
        return await self.interact(payload, timeout=timeout)

    async def interact_autocomplete(
        self,
        command: str,
        options: dict[str, Any],
        focused: str,
        *,
        guild: Guild | None = None,
        channel: Channel | None = None,
        user: User | None = None,
        member_permissions: int | None = None,
        timeout: float | None = None,
    ) -> InteractionRecord:
        """Ask for autocomplete of option ``focused``; the record's .choices has the answer."""
        ctx = self._context(guild, channel, user, member_permissions, None)
        data = B.slash_data(self.world, command, options, ctx["guild"].id, focused=focused)
        payload = B.base_interaction(kind=B.APPLICATION_COMMAND_AUTOCOMPLETE, data=data, **ctx)
        return await self.interact(payload, timeout=timeout)

    async def interact_component(
        self,
        custom_id: str,
        message: StoredMessage | dict[str, Any],
        *,
        component_type: int = 2,
        values: list[str] | None = None,
        user: User | None = None,
        member_permissions: int | None = None,
        timeout: float | None = None,
        locale: str = "en-US",
    ) -> InteractionRecord:
        """Click a button (or pick select ``values``) on a message the bot sent."""
        msg = message.payload if isinstance(message, StoredMessage) else message
        found = self.world.find_channel(int(msg["channel_id"]))
        if found is None:
            raise ValueError("message is not in a known channel")
        ctx = self._context(found[0], found[1], user, member_permissions, None)
        payload = B.base_interaction(
            kind=B.MESSAGE_COMPONENT,
            data=B.component_data(custom_id, component_type, values),
            locale=locale,
            **ctx,
        )
        payload["message"] = msg
        return await self.interact(payload, timeout=timeout)

    async def interact_message_command(
        self,
        name: str,
        target: StoredMessage | dict[str, Any] | str,
        *,
        guild: Guild | None = None,
        channel: Channel | None = None,
        user: User | None = None,
        member_permissions: int | None = None,
        app_permissions: int | None = None,
        timeout: float | None = None,
        locale: str = "en-US",
    ) -> InteractionRecord:
        """A message context-menu command; ``target`` may be message text to fabricate one.
        ``locale`` is the invoking user's client language (a form it opens submits in it)."""
        ctx = self._context(guild, channel, user, member_permissions, app_permissions)
        if isinstance(target, str):
            target = B.user_message(ctx["channel"], ctx["user"], target)
        msg = target.payload if isinstance(target, StoredMessage) else target
        data = B.message_command_data(self.world, name, msg, ctx["guild"].id)
        payload = B.base_interaction(kind=B.APPLICATION_COMMAND, data=data, locale=locale, **ctx)
        return await self.interact(payload, timeout=timeout)

    async def interact_modal_submit(
        self,
        opened_by: InteractionRecord,
        values: dict[str, str],
        *,
        timeout: float | None = None,
    ) -> InteractionRecord:
        """Fill in the form the bot opened in answer to ``opened_by`` (text input custom_id
        -> text) and submit it, as the same person in the same place. Raises ValueError for
        what Discord's form would not let anyone send (a required field empty, too long)."""
        modal = opened_by.modal
        if modal is None:
            raise ValueError(f"the bot answered with type {opened_by.type}, not a modal")
        return await self.interact(
            submit_payload(opened_by.payload, modal, values), timeout=timeout
        )
