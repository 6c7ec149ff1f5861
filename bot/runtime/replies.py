"""Answering an interaction privately, the one way every command and error handler does it."""

from __future__ import annotations

from typing import Any

import discord

# Nothing the bot says may ping anyone: feed text is hostile (DESIGN invariant 6).
NO_MENTIONS = discord.AllowedMentions.none()


async def send_ephemeral(
    interaction: discord.Interaction[Any],
    content: str | None = None,
    *,
    embed: dict[str, Any] | None = None,
    view: discord.ui.View | None = None,
    file: discord.File | None = None,
) -> None:
    """An ephemeral answer, as the first response or as a followup after a deferral."""
    kwargs: dict[str, Any] = {"ephemeral": True, "allowed_mentions": NO_MENTIONS}
    if content is not None:
        kwargs["content"] = content
    if embed is not None:
        kwargs["embed"] = discord.Embed.from_dict(embed)
    if view is not None:
        kwargs["view"] = view
    if file is not None:
        kwargs["file"] = file
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs)
    else:
        await interaction.response.send_message(**kwargs)
