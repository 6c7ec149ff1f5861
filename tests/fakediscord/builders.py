"""Builders for INTERACTION_CREATE payloads, shaped like what Discord sends.

Kept free of I/O: the server fills in ids/tokens and the channel/member from its world,
and a test can also build a payload here, tweak it, and pass it to ``fake.interact``.
"""

from __future__ import annotations

import secrets
from typing import Any

from .state import Channel, Guild, User, World, iso_now, snowflake

ALL_PERMS = (1 << 53) - 1

# Interaction types
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
APPLICATION_COMMAND_AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# Option types
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN = 1, 2, 3, 4, 5
USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 6, 7, 8, 9, 10, 11


def _infer_type(value: Any) -> int:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    return STRING


def _registered_options(world: World, name: str, guild_id: int | None) -> list[dict[str, Any]]:
    """The option definitions the bot registered for a command (guild scope first)."""
    for scope in (guild_id, None):
        cmd = world.commands.get(scope, {}).get(name)
        if cmd is not None:
            return list(cmd.get("options") or [])
    return []


def registered_command(world: World, name: str, guild_id: int | None) -> dict[str, Any] | None:
    for scope in (guild_id, None):
        cmd = world.commands.get(scope, {}).get(name)
        if cmd is not None:
            return cmd
    return None


def command_options(
    world: World,
    path: list[str],
    values: dict[str, Any],
    guild_id: int | None,
    focused: str | None = None,
) -> list[dict[str, Any]]:
    """Interaction `options` for "cmd [group] [sub]" with leaf ``values``.

    Types come from the bot's registered definition when there is one, else from the
    Python value (str -> STRING, int -> INTEGER, ...).
    """
    definitions = _registered_options(world, path[0], guild_id)
    for part in path[1:]:
        match = next((o for o in definitions if o.get("name") == part), None)
        definitions = list((match or {}).get("options") or [])
    types = {o["name"]: o.get("type", STRING) for o in definitions}
    leaf: list[dict[str, Any]] = []
    for name, value in values.items():
        kind = types.get(name, _infer_type(value))
        option: dict[str, Any] = {"name": name, "type": kind, "value": value}
        if kind in (USER, CHANNEL, ROLE, MENTIONABLE, ATTACHMENT):
            option["value"] = str(value)
        if name == focused:
            option["focused"] = True
        leaf.append(option)
    options = leaf
    # Wrap leaf options in subcommand (type 1) then group (type 2) layers, innermost first.
    for depth, part in reversed(list(enumerate(path[1:], start=1))):
        kind = SUB_COMMAND if depth == len(path) - 1 else SUB_COMMAND_GROUP
        options = [{"name": part, "type": kind, "options": options}]
    return options


def member_payload(
    user: User, permissions: int, role_ids: list[int] | None = None
) -> dict[str, Any]:
    return {
        "user": user.payload(),
        "roles": [str(r) for r in role_ids or []],
        "permissions": str(permissions),
        "nick": None,
        "avatar": None,
        "joined_at": iso_now(),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
    }


def base_interaction(
    *,
    kind: int,
    data: dict[str, Any] | None,
    world: World,
    guild: Guild,
    channel: Channel,
    user: User,
    member_permissions: int,
    app_permissions: int,
    locale: str = "en-US",
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(snowflake()),
        "application_id": str(world.application_id),
        "type": kind,
        "token": "itok_" + secrets.token_urlsafe(24),
        "version": 1,
        "guild_id": str(guild.id),
        "guild": {"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
        "channel_id": str(channel.id),
        "channel": channel.payload(),
        "member": member_payload(user, member_permissions),
        "app_permissions": str(app_permissions),
        "locale": locale,
        "guild_locale": guild.preferred_locale,
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild.id)},
        "context": 0,
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if data is not None:
        payload["data"] = data
    return payload


def slash_data(
    world: World, command: str, values: dict[str, Any], guild_id: int, focused: str | None = None
) -> dict[str, Any]:
    """`data` of a CHAT_INPUT command (or its autocomplete), command = "name [group] [sub]"."""
    path = command.split()
    registered = registered_command(world, path[0], guild_id)
    data: dict[str, Any] = {
        "id": registered["id"] if registered else str(snowflake()),
        "name": path[0],
        "type": 1,
        "options": command_options(world, path, values, guild_id, focused),
    }
    if registered is not None and registered.get("guild_id"):
        data["guild_id"] = registered["guild_id"]
    resolved = _resolved_channels(world, data["options"])
    if resolved:
        # Discord sends the full channel for channel options; discord.py needs it to give
        # the command a real channel object instead of a bare Object.
        data["resolved"] = {"channels": resolved}
    roles = _resolved_roles(world, data["options"])
    if roles:
        data.setdefault("resolved", {})["roles"] = roles
    return data


def _resolved_roles(world: World, options: list[dict[str, Any]]) -> dict[str, Any]:
    """Role options come with the role itself (discord.py builds a Role from it)."""
    found: dict[str, Any] = {}
    for option in options:
        if option.get("type") == ROLE:
            for guild in world.guilds.values():
                role = guild.roles.get(int(option["value"]))
                if role is not None:
                    found[str(role.id)] = role.payload()
        found.update(_resolved_roles(world, option.get("options") or []))
    return found


def _resolved_channels(world: World, options: list[dict[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for option in options:
        if option.get("type") == CHANNEL:
            hit = world.find_channel(int(option["value"]))
            if hit is not None:
                _guild, channel = hit
                found[str(channel.id)] = {**channel.payload(), "permissions": str(ALL_PERMS)}
        found.update(_resolved_channels(world, option.get("options") or []))
    return found


def message_command_data(
    world: World, name: str, target: dict[str, Any], guild_id: int
) -> dict[str, Any]:
    registered = registered_command(world, name, guild_id)
    data: dict[str, Any] = {
        "id": registered["id"] if registered else str(snowflake()),
        "name": name,
        "type": 3,
        "target_id": target["id"],
        "resolved": {"messages": {target["id"]: target}},
    }
    if registered is not None and registered.get("guild_id"):
        data["guild_id"] = registered["guild_id"]
    return data


def component_data(
    custom_id: str, component_type: int = 2, values: list[str] | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
    if values is not None:
        data["values"] = values
    return data


def user_message(channel: Channel, author: User, content: str) -> dict[str, Any]:
    """A message written by a (non-bot) user, e.g. as a context-menu target."""
    return {
        "id": str(snowflake()),
        "channel_id": str(channel.id),
        "guild_id": str(channel.guild_id),
        "author": author.payload(),
        "content": content,
        "timestamp": iso_now(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "components": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
    }
