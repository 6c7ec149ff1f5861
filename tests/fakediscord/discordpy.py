"""Pointing an in-process discord.py at the fake (what the bot runtime does in prod code).

discord.py has two hard-coded addresses:

* ``discord.http.Route.BASE`` (``https://discord.com/api/v10``) for every REST call,
  interaction callbacks and webhooks included;
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (``wss://gateway.discord.gg/``),
  used by a plain ``Client`` for its first connection, by ``AutoShardedClient`` when
  ``shard_count`` is given, and by everyone after a non-resumable INVALID_SESSION.
  ``AutoShardedClient`` without shard_count takes the URL from ``GET /gateway/bot``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route


def gateway_url_for(api_base: str) -> str:
    """The fake's gateway address derived from its API base (fake-specific layout)."""
    url = yarl.URL(api_base)
    return str(url.with_scheme("wss" if url.scheme == "https" else "ws").with_path("/gateway"))


@contextmanager
def pointed_at(api_base: str, gateway_url: str | None = None) -> Iterator[None]:
    """Temporarily redirect discord.py's REST base and default gateway."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_base.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url or gateway_url_for(api_base))
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway
