"""discord.py objects from the core renderer's API-shaped payloads (no limits decided here)."""

from __future__ import annotations

from typing import Any

import discord

from bot.core.briefs import render_admin
from bot.core.i18n import Messages


def embed(data: dict[str, Any]) -> discord.Embed:
    return discord.Embed.from_dict(data)


def help_embed(commands: list[tuple[str, str]], t: Messages | None = None) -> discord.Embed:
    return embed(render_admin.help_embed(commands, t))
