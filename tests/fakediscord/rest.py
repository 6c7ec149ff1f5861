"""The REST side: routing, body parsing, faults, rate limits, validation, handlers.

Every request under the API base goes through :meth:`RestApi.handle` so that unknown
routes are recorded as violations (a route the fake lacks is a route the tests would
silently not cover) and every body is validated before a handler sees it.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import forums, limits
from . import interactions as I
from . import permissions as P
from .faults import MISSING_ACCESS, MISSING_PERMISSIONS, UNKNOWN_CHANNEL, Faults
from .gateway import GUILD_MESSAGES_INTENT, Gateway
from .mentions import allowed_mentions_problems, apply_mentions
from .modals import MAY_OPEN_MODAL
from .openapi import OpenAPIValidator
from .ratelimit import RateLimiter
from .recorder import RecordedRequest, Recorder, SentFile
from .state import PUBLIC_THREAD, Channel, Guild, StoredMessage, World, iso_now, snowflake

API_PREFIX = "/api/v10"
JSON = "application/json"  # exactly this: discord.py compares the header verbatim
NONCE_WINDOW = 5 * 60.0


class DiscordError(Exception):
    """An error answer in Discord's shape: {"message": ..., "code": ...}."""

    def __init__(self, status: int, code: int, message: str, errors: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # web.json_response would add "; charset=utf-8" and discord.py would then treat
    # the body as text, so the header is set by hand.
    all_headers = {"Content-Type": JSON, "Via": "1.1 google"}
    all_headers.update(headers or {})
    if status == 204:
        all_headers.pop("Content-Type")
        return web.Response(status=204, headers=all_headers)
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


@dataclass
class Ctx:
    """What a handler gets: the parsed request."""

    method: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    files: list[SentFile]
    record: RecordedRequest

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise DiscordError(404, 10003, "Unknown Channel") from None


Handler = Callable[[Ctx], Awaitable[web.Response]]


@dataclass
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    needs_auth: bool


@dataclass
class RestApi:
    world: World
    recorder: Recorder
    gateway: Gateway
    limiter: RateLimiter
    faults: Faults
    openapi: OpenAPIValidator | None
    token: str
    base_url: Callable[[], str]
    ws_url: Callable[[], str]
    shard_count: int = 1
    response_window: float = I.RESPONSE_WINDOW
    interactions: dict[int, I.InteractionRecord] = field(default_factory=dict)
    _nonces: dict[tuple[int, str], tuple[float, int]] = field(default_factory=dict)
    _routes: list[_Route] = field(default_factory=list)

    def __post_init__(self) -> None:
        r = self._add
        r("GET", "/gateway", self.get_gateway, auth=False)
        r("GET", "/gateway/bot", self.get_gateway_bot)
        r("GET", "/users/@me", self.get_me)
        r("GET", "/oauth2/applications/@me", self.get_application)
        r("GET", "/applications/@me", self.get_application)
        r("GET", "/applications/{application_id}/commands", self.get_commands)
        r("PUT", "/applications/{application_id}/commands", self.put_commands)
        r("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self.get_commands)
        r("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self.put_commands)
        r("GET", "/guilds/{guild_id}", self.get_guild)
        r("GET", "/guilds/{guild_id}/channels", self.get_guild_channels)
        r("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member)
        r("GET", "/channels/{channel_id}", self.get_channel)
        r("GET", "/channels/{channel_id}/messages", self.get_messages)
        r("POST", "/channels/{channel_id}/messages", self.create_message)
        r("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message)
        r("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message)
        r("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message)
        r("POST", "/channels/{channel_id}/messages/{message_id}/threads", self.start_thread)
        forums.register(self)
        cb = "/interactions/{interaction_id}/{interaction_token}/callback"
        r("POST", cb, self.interaction_callback, auth=False)
        orig = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
        r("GET", orig, self.get_original, auth=False)
        r("PATCH", orig, self.edit_original, auth=False)
        r("DELETE", orig, self.delete_original, auth=False)
        r("POST", "/webhooks/{webhook_id}/{webhook_token}", self.create_followup, auth=False)
        msg = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
        r("GET", msg, self.get_followup, auth=False)
        r("PATCH", msg, self.edit_followup, auth=False)
        r("DELETE", msg, self.delete_followup, auth=False)

    def _add(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        pattern = "".join(
            f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[a-z_]+\})", template)
        )
        self._routes.append(_Route(method, template, re.compile(f"^{pattern}$"), handler, auth))

    def _match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        # Literal routes are registered before parameterised siblings (@original first).
        for route in self._routes:
            if route.method == method:
                m = route.regex.match(path)
                if m:
                    return route, m.groupdict()
        return None

    # -- the pipeline --------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.Response:
        path = request.path[len(API_PREFIX) :] or "/"
        method = request.method
        found = self._match(method, path)
        body, files = await self._parse_body(request)
        record = RecordedRequest(
            method=method,
            path=path,
            route=f"{method} {found[0].template}" if found else None,
            params=found[1] if found else {},
            query=dict(request.query),
            body=body,
            files=files,
        )
        self.recorder.requests.append(record)
        where = f"{method} {path}"
        if found is None:
            self.recorder.violation(where, "route not implemented by the fake (or by Discord)")
            return self._finish(
                record, json_response({"message": "404: Not Found", "code": 0}, 404)
            )
        route, params = found
        if route.needs_auth and request.headers.get("Authorization") != f"Bot {self.token}":
            self.recorder.violation(where, "missing or wrong Authorization header")
            return self._finish(
                record, json_response({"message": "401: Unauthorized", "code": 0}, 401)
            )
        route_key = f"{method} {route.template}"
        channel_id = record.channel_id
        faults = self.faults.match(route_key, channel_id)
        delay = sum(f.delay for f in faults)
        if delay:
            await asyncio.sleep(delay)
        major = "+".join(
            params[k]
            for k in ("channel_id", "guild_id", "webhook_id", "webhook_token")
            if k in params
        )
        error_fault = next((f for f in faults if f.status is not None), None)
        if error_fault is not None and error_fault.status == 429:
            return self._finish(
                record,
                self._too_many(route_key, major, error_fault.retry_after, error_fault.is_global),
            )
        decision = self.limiter.check(route_key, major)
        if not decision.allowed:
            return self._finish(
                record,
                self._too_many(
                    route_key, major, decision.retry_after, decision.is_global, decision.headers
                ),
            )
        if error_fault is not None:
            assert error_fault.status is not None
            return self._finish(
                record,
                json_response(
                    {"message": error_fault.message, "code": error_fault.code},
                    error_fault.status,
                    decision.headers,
                ),
            )
        problems = self._validate(method, route.template, body)
        if problems:
            for problem in problems:
                self.recorder.violation(where, problem)
            # Discord nests field errors as {"path": {"_errors": [...]}}; discord.py
            # flattens exactly that shape into its exception text.
            errors = {
                "fakediscord": {
                    "_errors": [{"code": "FAKEDISCORD_LIMIT", "message": p} for p in problems]
                }
            }
            error = {"message": "Invalid Form Body", "code": 50035, "errors": errors}
            return self._finish(record, json_response(error, 400, decision.headers))
        ctx = Ctx(method, params, dict(request.query), body, files, record)
        try:
            response = await route.handler(ctx)
        except DiscordError as exc:
            data: dict[str, Any] = {"message": exc.message, "code": exc.code}
            if exc.errors is not None:
                data["errors"] = exc.errors
            response = json_response(data, exc.status)
        response.headers.update(decision.headers)
        return self._finish(record, response)

    def _finish(self, record: RecordedRequest, response: web.Response) -> web.Response:
        record.status = response.status
        if response.status == 429:
            self.recorder.rate_limited.append(record)
        return response

    def _too_many(
        self,
        route_key: str,
        major: str,
        retry_after: float,
        is_global: bool,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        hdrs = dict(headers or {})
        hdrs.setdefault("X-RateLimit-Bucket", RateLimiter.bucket_hash(route_key))
        hdrs["X-RateLimit-Scope"] = "global" if is_global else "user"
        hdrs["Retry-After"] = str(max(1, int(retry_after + 0.999)))
        if is_global:
            hdrs["X-RateLimit-Global"] = "true"
        else:
            hdrs.setdefault("X-RateLimit-Limit", "1")
            hdrs["X-RateLimit-Remaining"] = "0"
            hdrs["X-RateLimit-Reset-After"] = f"{retry_after:.3f}"
            hdrs["X-RateLimit-Reset"] = f"{time.time() + retry_after:.3f}"
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        return json_response(body, 429, hdrs)

    async def _parse_body(self, request: web.Request) -> tuple[Any, list[SentFile]]:
        if request.method in ("GET", "DELETE") or not request.can_read_body:
            return None, []
        ctype = request.content_type
        files: list[SentFile] = []
        if ctype == "multipart/form-data":
            body: Any = None
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not hasattr(part, "read"):
                    continue  # nested multipart: Discord does not use it
                name = getattr(part, "name", None) or ""
                data = await part.read(decode=False)  # type: ignore[union-attr]
                if name == "payload_json":
                    body = json.loads(bytes(data).decode())
                else:
                    files.append(
                        SentFile(
                            name,
                            part.filename or "",  # type: ignore[union-attr]
                            part.headers.get("Content-Type", "application/octet-stream"),
                            bytes(data),
                        )
                    )
            return body, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            return raw.decode(errors="replace"), []

    def _validate(self, method: str, template: str, body: Any) -> list[str]:
        if method in ("GET", "DELETE"):
            return []
        problems: list[str] = []
        if template.endswith("/callback"):
            problems += limits.check_interaction_callback(body)
        elif template.endswith("/commands") and method == "PUT":
            problems += limits.check_command_list(body)
        elif (
            "/messages" in template or template.startswith("/webhooks/")
        ) and not template.endswith("/threads"):
            problems += limits.check_message(
                body, allow_ephemeral=template.startswith("/webhooks/")
            )
            if isinstance(body, dict):
                problems += allowed_mentions_problems(body.get("allowed_mentions"))
        if self.openapi is not None and body is not None:
            problems += self.openapi.check(method, template, body)
        return problems

    # -- helpers -------------------------------------------------------------------------
    def _channel(self, channel_id: int) -> tuple[Guild, Channel]:
        found = self.world.find_channel(channel_id)
        if found is None:
            raise DiscordError(404, *UNKNOWN_CHANNEL)
        return found

    def _require(self, guild: Guild, channel: Channel, needed: int) -> None:
        perms = guild.permissions_in(channel, self.world.bot.id)
        if not perms & P.VIEW_CHANNEL:
            raise DiscordError(403, *MISSING_ACCESS)
        if perms & needed != needed:
            raise DiscordError(403, *MISSING_PERMISSIONS)

    def _build_message(
        self,
        channel_id: int,
        guild_id: int | None,
        body: dict[str, Any],
        files: list[SentFile],
        *,
        webhook_id: int | None = None,
        flags: int | None = None,
    ) -> dict[str, Any]:
        attachments = []
        for i, f in enumerate(files):
            meta: dict[str, Any] = next(
                (a for a in body.get("attachments") or [] if str(a.get("id")) == str(i)), {}
            )
            aid = snowflake()
            attachments.append(
                {
                    "id": str(aid),
                    "filename": meta.get("filename") or f.filename,
                    "description": meta.get("description"),
                    "size": len(f.data),
                    "url": f"{self.base_url()}/attachments/{aid}/{f.filename}",
                    "proxy_url": f"{self.base_url()}/attachments/{aid}/{f.filename}",
                    "content_type": f.content_type,
                }
            )
        payload: dict[str, Any] = {
            "id": str(snowflake()),
            "channel_id": str(channel_id),
            "author": self.world.bot.payload(),
            "content": body.get("content") or "",
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments,
            "embeds": [dict(e, type=e.get("type", "rich")) for e in body.get("embeds") or []],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": int(body.get("flags") or 0) if flags is None else flags,
        }
        if guild_id is not None:
            payload["guild_id"] = str(guild_id)
        if body.get("nonce") is not None:
            payload["nonce"] = body["nonce"]
        if webhook_id is not None:
            payload["webhook_id"] = str(webhook_id)
            payload["application_id"] = str(self.world.application_id)
        return payload

    def _store(self, payload: dict[str, Any], files: list[SentFile]) -> StoredMessage:
        stored = StoredMessage(payload, list(files))
        self.world.messages[stored.id] = stored
        return stored

    def _apply_edit(
        self, stored: StoredMessage, body: dict[str, Any], files: list[SentFile]
    ) -> None:
        p = stored.payload
        for key in ("content", "components"):
            if key in body and body[key] is not None:
                p[key] = body[key]
        if body.get("embeds") is not None:
            p["embeds"] = [dict(e, type=e.get("type", "rich")) for e in body["embeds"]]
        if body.get("flags") is not None:
            p["flags"] = int(body["flags"]) | (p["flags"] & I.EPHEMERAL)
        p["flags"] &= ~I.LOADING  # an edit of a deferred response ends the "thinking" state
        p["edited_timestamp"] = iso_now()
        stored.files += files
        stored.edits += 1

    def _announce(self, guild: Guild, event: str, data: dict[str, Any]) -> None:
        """Send the gateway event Discord would send, without delaying the HTTP answer."""
        try:
            session = self.gateway.session_for_guild(guild.id)
        except RuntimeError:
            return
        if event.startswith("MESSAGE_") and not session.intents & GUILD_MESSAGES_INTENT:
            return
        task = asyncio.get_running_loop().create_task(
            self.gateway.dispatch_to(session, event, data)
        )
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    # -- handlers: connection ------------------------------------------------------------
    async def get_gateway(self, ctx: Ctx) -> web.Response:
        return json_response({"url": self.ws_url()})

    async def get_gateway_bot(self, ctx: Ctx) -> web.Response:
        return json_response(
            {
                "url": self.ws_url(),
                "shards": self.shard_count,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def get_me(self, ctx: Ctx) -> web.Response:
        return json_response(self.world.bot.payload() | {"verified": True, "mfa_enabled": False})

    async def get_application(self, ctx: Ctx) -> web.Response:
        owner = {
            "id": "1",
            "username": "owner",
            "discriminator": "0",
            "avatar": None,
            "global_name": "owner",
            "public_flags": 0,
            "flags": 0,
        }
        return json_response(
            {
                "id": str(self.world.application_id),
                "name": self.world.bot.username,
                "icon": None,
                "description": "fake application",
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": owner,
                "team": None,
                "flags": 0,
                "bot": self.world.bot.payload(),
                "summary": "",
                "rpc_origins": [],
                "tags": [],
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self.world.guilds),
            }
        )

    # -- handlers: application commands --------------------------------------------------
    def _check_app(self, ctx: Ctx) -> None:
        if ctx.params.get("application_id") != str(self.world.application_id):
            raise DiscordError(403, 50001, "Missing Access")

    async def get_commands(self, ctx: Ctx) -> web.Response:
        self._check_app(ctx)
        scope = int(ctx.params["guild_id"]) if "guild_id" in ctx.params else None
        return json_response(list(self.world.commands.get(scope, {}).values()))

    async def put_commands(self, ctx: Ctx) -> web.Response:
        self._check_app(ctx)
        scope = int(ctx.params["guild_id"]) if "guild_id" in ctx.params else None
        if scope is not None and scope not in self.world.guilds:
            raise DiscordError(403, *MISSING_ACCESS)
        old = self.world.commands.get(scope, {})
        stored: dict[str, dict[str, Any]] = {}
        for cmd in ctx.body or []:
            previous = old.get(cmd["name"])
            full = {
                "type": 1,
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                "integration_types": [0],
                "contexts": None,
                **cmd,
                # Discord keeps a command's id when it is overwritten with the same name.
                "id": previous["id"] if previous else str(snowflake()),
                "application_id": str(self.world.application_id),
                "version": str(snowflake()),
            }
            if scope is not None:
                full["guild_id"] = str(scope)
            stored[cmd["name"]] = full
        self.world.commands[scope] = stored
        return json_response(list(stored.values()))

    # -- handlers: guilds and channels ---------------------------------------------------
    def _guild(self, ctx: Ctx) -> Guild:
        guild = self.world.guilds.get(int(ctx.params["guild_id"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        return guild

    async def get_guild(self, ctx: Ctx) -> web.Response:
        return json_response(self._guild(ctx).rest_payload())

    async def get_guild_channels(self, ctx: Ctx) -> web.Response:
        guild = self._guild(ctx)
        return json_response([c.payload() for c in guild.channels.values() if not c.is_thread])

    async def get_member(self, ctx: Ctx) -> web.Response:
        member = self._guild(ctx).members.get(int(ctx.params["user_id"]))
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return json_response(member.payload())

    async def get_channel(self, ctx: Ctx) -> web.Response:
        guild, channel = self._channel(ctx.int_param("channel_id"))
        self._require(guild, channel, P.VIEW_CHANNEL)
        return json_response(channel.payload())

    # -- handlers: messages --------------------------------------------------------------
    def _message(self, channel_id: int, message_id: int) -> StoredMessage:
        stored = self.world.messages.get(message_id)
        if stored is None or stored.deleted or stored.channel_id != channel_id:
            raise DiscordError(404, 10008, "Unknown Message")
        return stored

    async def get_messages(self, ctx: Ctx) -> web.Response:
        guild, channel = self._channel(ctx.int_param("channel_id"))
        self._require(guild, channel, P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY)
        msgs = sorted(self.world.channel_messages(channel.id), key=lambda m: -m.id)
        limit = int(ctx.query.get("limit", 50))
        return json_response([m.payload for m in msgs[:limit]])

    async def get_message(self, ctx: Ctx) -> web.Response:
        guild, channel = self._channel(ctx.int_param("channel_id"))
        self._require(guild, channel, P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY)
        return json_response(self._message(channel.id, int(ctx.params["message_id"])).payload)

    async def create_message(self, ctx: Ctx) -> web.Response:
        guild, channel = self._channel(ctx.int_param("channel_id"))
        forums.refuse_forum_message(channel)
        needed = P.SEND_MESSAGES_IN_THREADS if channel.is_thread else P.SEND_MESSAGES
        if ctx.files:
            needed |= P.ATTACH_FILES
        self._require(guild, channel, needed)
        body = ctx.body if isinstance(ctx.body, dict) else {}
        if not (
            body.get("content")
            or body.get("embeds")
            or ctx.files
            or body.get("components")
            or body.get("sticker_ids")
            or body.get("poll")
        ):
            raise DiscordError(400, 50006, "Cannot send an empty message")
        nonce = body.get("nonce")
        now = time.monotonic()
        if nonce is not None and body.get("enforce_nonce"):
            # Discord: with enforce_nonce, a nonce reused within a few minutes returns
            # the message created first instead of a duplicate.
            seen = self._nonces.get((channel.id, str(nonce)))
            if seen is not None and now - seen[0] < NONCE_WINDOW:
                original = self.world.messages.get(seen[1])
                if original is not None:
                    ctx.record.deduplicated = True
                    return json_response(original.payload)
        payload = self._build_message(channel.id, guild.id, body, ctx.files)
        apply_mentions(self.world, guild, channel, body, payload)
        self._store(payload, ctx.files)
        if nonce is not None:
            self._nonces[(channel.id, str(nonce))] = (now, int(payload["id"]))
        self._announce(
            guild, "MESSAGE_CREATE", payload | {"member": {"roles": [], "joined_at": iso_now()}}
        )
        return json_response(payload)

    async def edit_message(self, ctx: Ctx) -> web.Response:
        guild, channel = self._channel(ctx.int_param("channel_id"))
        self._require(guild, channel, P.VIEW_CHANNEL)
        stored = self._message(channel.id, int(ctx.params["message_id"]))
        if stored.payload["author"]["id"] != str(self.world.bot.id):
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        self._apply_edit(stored, ctx.body if isinstance(ctx.body, dict) else {}, ctx.files)
        self._announce(guild, "MESSAGE_UPDATE", stored.payload)
        return json_response(stored.payload)

    async def delete_message(self, ctx: Ctx) -> web.Response:
        guild, channel = self._channel(ctx.int_param("channel_id"))
        stored = self._message(channel.id, int(ctx.params["message_id"]))
        if stored.payload["author"]["id"] != str(self.world.bot.id):
            self._require(guild, channel, P.MANAGE_MESSAGES)
        stored.deleted = True
        self._announce(
            guild,
            "MESSAGE_DELETE",
            {"id": str(stored.id), "channel_id": str(channel.id), "guild_id": str(guild.id)},
        )
        return json_response(None, 204)

    async def start_thread(self, ctx: Ctx) -> web.Response:
        guild, channel = self._channel(ctx.int_param("channel_id"))
        if channel.is_thread:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        self._require(guild, channel, P.CREATE_PUBLIC_THREADS)
        stored = self._message(channel.id, int(ctx.params["message_id"]))
        body = ctx.body if isinstance(ctx.body, dict) else {}
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            raise DiscordError(
                400,
                50035,
                "Invalid Form Body",
                {"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH", "message": "1-100"}]}},
            )
        # A thread started from a message has the message's id, as on Discord.
        thread = Channel(
            stored.id, guild.id, name, PUBLIC_THREAD, 0, channel.id, owner_id=self.world.bot.id
        )
        if thread.id in guild.channels:
            raise DiscordError(400, 160004, "A thread has already been created for this message")
        guild.channels[thread.id] = thread
        self._announce(guild, "THREAD_CREATE", thread.payload() | {"newly_created": True})
        return json_response(thread.payload(), 201)

    # -- handlers: interactions ----------------------------------------------------------
    def _interaction(self, interaction_id: str, token: str) -> I.InteractionRecord:
        try:
            rec = self.interactions.get(int(interaction_id))
        except ValueError:
            rec = None
        if rec is None or rec.token != token:
            raise DiscordError(404, 10062, "Unknown interaction")
        return rec

    def _by_token(self, ctx: Ctx) -> I.InteractionRecord:
        if ctx.params["webhook_id"] != str(self.world.application_id):
            raise DiscordError(404, 10015, "Unknown Webhook")
        token = ctx.params["webhook_token"]
        for rec in self.interactions.values():
            if rec.token == token:
                if time.monotonic() - rec.pushed_at > I.TOKEN_LIFETIME:
                    raise DiscordError(401, 50027, "Invalid Webhook Token")
                return rec
        raise DiscordError(404, 10015, "Unknown Webhook")

    async def interaction_callback(self, ctx: Ctx) -> web.Response:
        where = f"POST {ctx.record.path}"
        rec = self._interaction(ctx.params["interaction_id"], ctx.params["interaction_token"])
        now = time.monotonic()
        if rec.callback is not None:
            self.recorder.violation(where, "interaction already acknowledged (second callback)")
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        if now - rec.pushed_at > self.response_window:
            self.recorder.violation(
                where, f"callback {now - rec.pushed_at:.2f}s after the interaction (limit 3 s)"
            )
            raise DiscordError(404, 10062, "Unknown interaction")
        body = ctx.body if isinstance(ctx.body, dict) else {}
        kind = int(body.get("type", 0))
        data = body.get("data") or {}
        if kind == I.MODAL and int(rec.payload.get("type", 0)) not in MAY_OPEN_MODAL:
            self.recorder.violation(where, "a modal can only answer a command or a component")
            raise DiscordError(400, 50035, "Invalid Form Body")
        rec.callback, rec.callback_at = body, now
        channel_id = int(rec.payload["channel_id"])
        guild_id = int(rec.payload["guild_id"]) if rec.payload.get("guild_id") else None
        resource: dict[str, Any] = {"type": kind}
        flags = int(data.get("flags") or 0)
        if kind == I.CHANNEL_MESSAGE_WITH_SOURCE:
            payload = self._build_message(
                channel_id, guild_id, data, ctx.files, webhook_id=self.world.application_id
            )
            payload["type"] = 20  # CHAT_INPUT_COMMAND reply
            rec.original = self._store(payload, ctx.files)
            resource["message"] = payload
        elif kind == I.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            payload = self._build_message(
                channel_id,
                guild_id,
                {},
                [],
                webhook_id=self.world.application_id,
                flags=(flags & I.EPHEMERAL) | I.LOADING,
            )
            payload["type"] = 20
            rec.original = self._store(payload, [])
            resource["message"] = payload
        elif kind == I.UPDATE_MESSAGE:
            target = self._component_message(rec)
            if target is not None:
                self._apply_edit(target, data, ctx.files)
                resource["message"] = target.payload
        answer = {
            "interaction": {
                "id": str(rec.id),
                "type": rec.payload["type"],
                "response_message_id": resource["message"]["id"] if "message" in resource else None,
                "response_message_loading": kind == I.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
                "response_message_ephemeral": bool(flags & I.EPHEMERAL),
            },
            "resource": resource,
        }
        rec.answered.set()
        return json_response(answer)

    def _component_message(self, rec: I.InteractionRecord) -> StoredMessage | None:
        message = rec.payload.get("message")
        return self.world.messages.get(int(message["id"])) if message else None

    def _original(self, rec: I.InteractionRecord) -> StoredMessage:
        target = rec.original or self._component_message(rec)
        if target is None or target.deleted:
            raise DiscordError(404, 10008, "Unknown Message")
        return target

    async def get_original(self, ctx: Ctx) -> web.Response:
        return json_response(self._original(self._by_token(ctx)).payload)

    async def edit_original(self, ctx: Ctx) -> web.Response:
        rec = self._by_token(ctx)
        target = self._original(rec)
        body = ctx.body if isinstance(ctx.body, dict) else {}
        self._apply_edit(target, body, ctx.files)
        rec.original_edits.append(body)
        return json_response(target.payload)

    async def delete_original(self, ctx: Ctx) -> web.Response:
        self._original(self._by_token(ctx)).deleted = True
        return json_response(None, 204)

    async def create_followup(self, ctx: Ctx) -> web.Response:
        rec = self._by_token(ctx)
        if rec.callback is None:
            raise DiscordError(404, 10015, "Unknown Webhook")  # Discord: respond first
        body = ctx.body if isinstance(ctx.body, dict) else {}
        channel_id = int(rec.payload["channel_id"])
        guild_id = int(rec.payload["guild_id"]) if rec.payload.get("guild_id") else None
        payload = self._build_message(
            channel_id, guild_id, body, ctx.files, webhook_id=self.world.application_id
        )
        stored = self._store(payload, ctx.files)
        rec.followups.append(stored)
        return json_response(payload)

    def _followup(self, ctx: Ctx) -> StoredMessage:
        rec = self._by_token(ctx)
        mid = int(ctx.params["message_id"])
        for stored in [*rec.followups, *([rec.original] if rec.original else [])]:
            if stored.id == mid and not stored.deleted:
                return stored
        raise DiscordError(404, 10008, "Unknown Message")

    async def get_followup(self, ctx: Ctx) -> web.Response:
        return json_response(self._followup(ctx).payload)

    async def edit_followup(self, ctx: Ctx) -> web.Response:
        stored = self._followup(ctx)
        self._apply_edit(stored, ctx.body if isinstance(ctx.body, dict) else {}, ctx.files)
        return json_response(stored.payload)

    async def delete_followup(self, ctx: Ctx) -> web.Response:
        self._followup(ctx).deleted = True
        return json_response(None, 204)
