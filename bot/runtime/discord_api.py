"""Pointing discord.py at a Discord API base other than discord.com (REST proxy, tests' fake).

discord.py offers no per-client seam for this: the REST base is the class attribute
``Route.BASE`` and the gateway fallback is ``DiscordWebSocket.DEFAULT_GATEWAY``. Both are set
here, once, by the composition root and nowhere else. The gateway URL itself is taken from
``GET /gateway/bot`` (AutoShardedClient asks for it), so one setting redirects REST and gateway.
"""

from __future__ import annotations

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

DISCORD_DEFAULT_BASE = "https://discord.com/api/v10"


def point_discord_at(api_base: str) -> None:
    Route.BASE = api_base.rstrip("/")


def use_gateway(url: str) -> None:
    """Used after /gateway/bot answered: resume and re-identify fall back to this address."""
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)


def discord_version() -> str:
    return discord.__version__
