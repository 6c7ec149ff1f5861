"""A local fake Discord (REST + gateway on 127.0.0.1) for real, unmodified discord.py 2.7.

Public API
----------
``FakeDiscord(token=..., shard_count=1, default_guild=True, global_limit=50,
route_limits=None, default_route_limit=(50, 1.0), openapi_path=None,
validate_openapi=True, response_window=3.0, require_registered_commands=False)``

* lifecycle: ``await start()`` -> API base ``http://127.0.0.1:PORT/api/v10``;
  ``await stop()``; ``async with FakeDiscord() as fake``; ``api_base``, ``ws_url``, ``token``.
* world: ``guild`` / ``channel`` (default guild and its #general), ``tester`` (a user),
  ``add_guild()``, ``await join_guild()``, ``guild.add_channel(name, overwrites=[...])``,
  ``guild.add_role()``, ``deny_bot(channel, perms)``, ``await update_channel(channel)``,
  ``Overwrite.role()/member()``, permission bits in ``permissions``.
* interactions (each waits for the callback, default 3 s, and returns an
  ``InteractionRecord`` with ``type``, ``data``, ``flags``, ``ephemeral``, ``content``,
  ``choices``, ``elapsed``, ``original``, ``original_edits``, ``followups``):
  ``interact_command("feed add", {"url": ...}, member_permissions=..., app_permissions=...)``,
  ``interact_autocomplete(cmd, options, focused)``, ``interact_component(custom_id, msg)``,
  ``interact_message_command(name, target)``, ``interact(payload)`` (see ``builders``);
  a record answered with a form has ``.modal``, and ``interact_modal_submit(record,
  {text_input_custom_id: text})`` fills it in and submits it (``modals``: Discord's rules
  for the form, checked on every MODAL callback).
* gateway: ``await dispatch(event, data, guild_id=None)``, ``drop_websocket()``,
  ``request_reconnect()``, ``invalidate_session(resumable=False)``,
  ``hold_gateway()`` / ``release_gateway()`` (an outage: new handshakes hang), ``gateway_log``
  (identifies, resumes, resumed_ok, heartbeats, connections, connect_queries, ...).
* records: ``requests`` / ``sent(route, channel_id=)`` (``RecordedRequest``: content,
  embeds, components, nonce, enforce_nonce, allowed_mentions, flags, files, status),
  ``messages(channel_id)``, ``violations``, ``assert_no_violations()``,
  ``wait_until(predicate, timeout)``.
* faults / limits: ``faults.forbid_channel(id)`` (403/50001), ``faults.unknown_channel(id)``
  (404/10003), ``faults.server_error(route, status=500|502)``, ``faults.rate_limit(route,
  retry_after=, is_global=)``, ``faults.slow(route, delay=)``; ``ratelimits``
  (``set_route_limit``, ``global_limit``, ``count_429``; ``DISCORD_ROUTE_LIMITS`` preset).
  Routes are named like ``"POST /channels/{channel_id}/messages"``.

pytest: ``tests.fakediscord.fixtures.fake_discord`` yields a started fake with
discord.py pointed at it in-process, and fails the test at teardown when
``violations`` is not empty (a test that provokes one on purpose clears the list).

Pointing discord.py at the fake (what the bot runtime must do with ``DISCORD_API_BASE``,
e.g. ``http://127.0.0.1:PORT/api/v10``), before ``login()``/``start()``::

    import discord.gateway, discord.http, yarl
    discord.http.Route.BASE = api_base            # REST, interaction callbacks, webhooks

    # and in setup_hook (runs after login, before the gateway connects):
    _, url, _ = await self.http.get_bot_gateway()  # GET /gateway/bot -> the fake's ws
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

Why both: an ``AutoShardedClient`` without ``shard_count`` takes its gateway from
``GET /gateway/bot`` and later resumes at READY's ``resume_gateway_url`` (both the fake),
but a plain ``Client``'s first connect, an ``AutoShardedClient`` with a fixed
``shard_count``, ``Shard.reconnect()`` and every re-IDENTIFY after a non-resumable
INVALID_SESSION use ``DiscordWebSocket.DEFAULT_GATEWAY`` (``wss://gateway.discord.gg/``).
The fake's gateway is always ``ws://HOST:PORT/gateway`` (``gateway_url_for(api_base)``).

Test-speed knobs for bots under test: ``guild_ready_timeout=0.05`` (discord.py otherwise
waits 2 s after the last GUILD_CREATE before on_ready) and a ``before_identify_hook``
that does not sleep (discord.py sleeps 5 s before every non-initial IDENTIFY).

Gateway compression: discord.py 2.7 always asks ``compress=zlib-stream`` (or
``zstd-stream`` when ``zstandard`` is importable); the fake answers zlib-stream with a
real shared zlib stream, zstd-stream with zstandard when available, and otherwise
plain TEXT frames, which discord.py accepts.

Modules: server (FakeDiscord), rest (routes, pipeline), gateway (websocket), ratelimit,
faults, limits (Discord's length/count rules), openapi (schema check), recorder (what
was sent, violations), builders (interaction payloads), modals (forms), state (guilds, channels,
permissions), interactions (callback bookkeeping), discordpy (pointing discord.py),
fixtures (pytest fixture), forums (forum channels and posts: ``add_forum(guild, name,
tags)``, ``tag_names``), mentions (who a message pings by Discord's rules: ``pinged(payload)``;
roles have ``mentionable``).
"""

from __future__ import annotations

from . import permissions
from .discordpy import gateway_url_for, pointed_at
from .faults import Fault, Faults
from .interactions import EPHEMERAL, InteractionRecord
from .ratelimit import DISCORD_ROUTE_LIMITS, RateLimiter
from .recorder import RecordedRequest, SentFile, Violation
from .server import FakeDiscord
from .state import Channel, Guild, Overwrite, Role, StoredMessage, User

__all__ = [
    "DISCORD_ROUTE_LIMITS",
    "EPHEMERAL",
    "Channel",
    "FakeDiscord",
    "Fault",
    "Faults",
    "Guild",
    "InteractionRecord",
    "Overwrite",
    "RateLimiter",
    "RecordedRequest",
    "Role",
    "SentFile",
    "StoredMessage",
    "User",
    "Violation",
    "gateway_url_for",
    "permissions",
    "pointed_at",
]
