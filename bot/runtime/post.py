"""Posting one rendered message (``MessageSpec``) into a channel now, outside the outbox.

For messages a person asked for and is waiting on (a shared story): sent at once through
discord.py's HTTP client, with a nonce Discord deduplicates on and no mention allowed.
"""

from __future__ import annotations

from typing import Any

from discord.http import HTTPClient, Route

from bot.core.briefs.render import MessageSpec

NO_MENTIONS: dict[str, list[str]] = {"parse": []}


async def post_message(http: HTTPClient, channel_id: int, spec: MessageSpec, *, nonce: str) -> int:
    """Post ``spec`` into ``channel_id``; the new message's id. discord.HTTPException (403,
    404, ...) propagates for the caller to answer."""
    payload: dict[str, Any] = {
        "embeds": list(spec.embeds),
        "components": list(spec.components),
        "nonce": nonce,
        "enforce_nonce": True,
        "allowed_mentions": NO_MENTIONS,
    }
    if spec.content:
        payload["content"] = spec.content
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
    data = await http.request(route, json=payload)
    return int(data["id"])
