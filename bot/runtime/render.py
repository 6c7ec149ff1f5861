"""discord.py objects from the core renderer's API-shaped payloads (no limits decided here)."""

from __future__ import annotations

from typing import Any

import discord

from bot.core.briefs import render as core_render


def embed(data: dict[str, Any]) -> discord.Embed:
    return discord.Embed.from_dict(data)


def help_embed(commands: list[tuple[str, str]]) -> discord.Embed:
    return embed(core_render.help_embed(commands))
