"""One error handler for every app command: a specific ephemeral answer, a traceback in the log."""

from __future__ import annotations

import logging
import math
import uuid

import discord
from discord import app_commands

from bot.core.errors import NotFoundError, TechbriefError, UserInputError
from bot.runtime.replies import send_ephemeral

log = logging.getLogger(__name__)


# discord.py's attribute names differ from what Discord's UI shows in a few places.
UI_NAMES = {"manage_guild": "Manage Server", "manage_messages": "Manage Messages"}


def permission_name(attr: str) -> str:
    return UI_NAMES.get(attr, attr.replace("_", " ").title())


def describe(error: app_commands.AppCommandError) -> tuple[str, bool]:
    """The message for the user, and whether this was unexpected (log a traceback)."""
    original = getattr(error, "original", error)
    if isinstance(original, UserInputError | NotFoundError):
        return str(original), False
    if isinstance(error, app_commands.MissingPermissions):
        perms = ", ".join(permission_name(p) for p in error.missing_permissions)
        return f"You need the **{perms}** permission to use this command.", False
    if isinstance(error, app_commands.BotMissingPermissions):
        perms = ", ".join(permission_name(p) for p in error.missing_permissions)
        return f"I am missing the **{perms}** permission here.", False
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works inside a server.", False
    if isinstance(error, app_commands.CommandOnCooldown):
        wait = max(1, math.ceil(error.retry_after))
        return f"Easy there! Try again in {wait} second{'' if wait == 1 else 's'}.", False
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You cannot use this command here.", False
    if isinstance(error, app_commands.TransformerError):
        return f"I could not understand `{error.value}` for that option.", False
    if isinstance(original, TechbriefError):
        return str(original), False
    return "", True


async def answer(interaction: discord.Interaction, message: str) -> None:
    """The error message, ephemeral; a failure to deliver it is logged, never raised."""
    try:
        await send_ephemeral(interaction, message)
    except discord.HTTPException:
        log.warning("could not deliver an error message", exc_info=True)


async def on_app_command_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    message, unexpected = describe(error)
    if unexpected:
        error_id = uuid.uuid4().hex[:8]
        command = interaction.command.qualified_name if interaction.command else "?"
        log.error(
            "command failed",
            exc_info=getattr(error, "original", error),
            extra={"error_id": error_id, "command": command},
        )
        message = (
            f"Something went wrong on my side (error id `{error_id}`). "
            "It has been logged; please try again later."
        )
    await answer(interaction, message)
