"""Who a message would ping, by Discord's rules, so tests can assert on notifications.

A mention in the content notifies only when ``allowed_mentions`` lets it (absent means
Discord's default: parse everything) and, for a role, when the role is mentionable or the
author may mention everyone in the channel; @everyone/@here need that permission too. The
result is written into the stored message as Discord does (``mention_roles``,
``mention_everyone``, ``mentions``), and a malformed ``allowed_mentions`` is refused as
Discord refuses it.
"""

from __future__ import annotations

import re
from typing import Any

from . import permissions as P
from .state import Channel, Guild, World

ROLE = re.compile(r"<@&(\d+)>")
USER = re.compile(r"<@!?(\d+)>")
EVERYONE = re.compile(r"@(everyone|here)")
PARSE_TYPES = frozenset({"roles", "users", "everyone"})
DEFAULT = {"parse": sorted(PARSE_TYPES)}


def allowed_mentions_problems(allowed: Any) -> list[str]:
    """Why Discord would answer 400 Invalid Form Body to this allowed_mentions."""
    if allowed is None:
        return []
    if not isinstance(allowed, dict):
        return ["allowed_mentions is not an object"]
    problems = []
    parse = allowed.get("parse") or []
    if not set(parse) <= PARSE_TYPES:
        unknown = sorted(set(parse) - PARSE_TYPES)
        problems.append(f"allowed_mentions.parse has unknown types {unknown}")
    for kind in ("roles", "users"):
        ids = allowed.get(kind) or []
        if kind in parse and ids:
            problems.append(f"allowed_mentions: parse:[{kind}] and {kind}: are mutually exclusive")
        if len(ids) > 100:
            problems.append(f"allowed_mentions.{kind} has {len(ids)} ids (max 100)")
    return problems


def apply_mentions(
    world: World, guild: Guild, channel: Channel, body: dict[str, Any], payload: dict[str, Any]
) -> None:
    """Fill the stored message's mention fields with who this body really pings."""
    allowed = body.get("allowed_mentions")
    allowed = DEFAULT if allowed is None else allowed
    parse = set(allowed.get("parse") or [])
    listed_roles = {str(r) for r in allowed.get("roles") or []}
    listed_users = {str(u) for u in allowed.get("users") or []}
    content = str(body.get("content") or "")
    may_everyone = bool(guild.permissions_in(channel, world.bot.id) & P.MENTION_EVERYONE)
    roles = []
    for role_id in dict.fromkeys(ROLE.findall(content)):
        role = guild.roles.get(int(role_id))
        if role is None or not ("roles" in parse or role_id in listed_roles):
            continue
        if role.mentionable or may_everyone:
            roles.append(role_id)
    users = [
        world.users[int(u)].payload()
        for u in dict.fromkeys(USER.findall(content))
        if int(u) in world.users and ("users" in parse or u in listed_users)
    ]
    payload["mention_roles"] = roles
    payload["mentions"] = users
    payload["mention_everyone"] = bool(
        EVERYONE.search(content) and "everyone" in parse and may_everyone
    )


def pinged(payload: dict[str, Any]) -> dict[str, Any]:
    """What a stored message notifies: {"everyone": bool, "roles": [...], "users": [...]}."""
    return {
        "everyone": bool(payload.get("mention_everyone")),
        "roles": [int(r) for r in payload.get("mention_roles") or []],
        "users": [int(u["id"]) for u in payload.get("mentions") or []],
    }
