"""One error handler for every app command: a specific ephemeral answer, a traceback in the log."""

from __future__ import annotations

import logging
import math
import uuid

import discord
from discord import app_commands

from bot.core.errors import NotFoundError, TechbriefError, UserInputError
from bot.core.i18n import N_, Messages
from bot.runtime.i18n import messages_for
from bot.runtime.replies import send_ephemeral

log = logging.getLogger(__name__)


# discord.py's attribute names differ from what Discord's UI shows in a few places; the
# translations are the names Discord's Korean and Japanese clients show.
UI_NAMES = {"manage_guild": N_("Manage Server"), "manage_messages": N_("Manage Messages")}


def permission_name(attr: str, t: Messages | None = None) -> str:
    if attr in UI_NAMES:
        return (t or Messages.english()).gettext(UI_NAMES[attr])
    return attr.replace("_", " ").title()


def error_text(error: BaseException, t: Messages) -> str:
    """A techbrief error in the reader's language: its template translated, fields filled."""
    if isinstance(error, TechbriefError) and error.template is not None:
        return t.gettext(error.template, **error.fields)
    return str(error)


def unexpected_text(error_id: str, t: Messages) -> str:
    return t.gettext(
        "Something went wrong on my side (error id `{error_id}`). "
        "It has been logged; please try again later.",
        error_id=error_id,
    )


def describe(error: app_commands.AppCommandError, t: Messages | None = None) -> tuple[str, bool]:
    """The message for the user, and whether this was unexpected (log a traceback)."""
    t = t or Messages.english()
    original = getattr(error, "original", error)
    if isinstance(original, UserInputError | NotFoundError):
        return error_text(original, t), False
    if isinstance(error, app_commands.MissingPermissions):
        perms = ", ".join(permission_name(p, t) for p in error.missing_permissions)
        return t.gettext(
            "You need the **{perms}** permission to use this command.", perms=perms
        ), False
    if isinstance(error, app_commands.BotMissingPermissions):
        perms = ", ".join(permission_name(p, t) for p in error.missing_permissions)
        return t.gettext("I am missing the **{perms}** permission here.", perms=perms), False
    if isinstance(error, app_commands.NoPrivateMessage):
        return t.gettext("This command only works inside a server."), False
    if isinstance(error, app_commands.CommandOnCooldown):
        wait = max(1, math.ceil(error.retry_after))
        return t.ngettext(
            "Easy there! Try again in {n} second.", "Easy there! Try again in {n} seconds.", wait
        ), False
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or t.gettext("You cannot use this command here."), False
    if isinstance(error, app_commands.TransformerError):
        return t.gettext(
            "I could not understand `{value}` for that option.", value=error.value
        ), False
    if isinstance(original, TechbriefError):
        return error_text(original, t), False
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
    t = messages_for(interaction)
    message, unexpected = describe(error, t)
    if unexpected:
        error_id = uuid.uuid4().hex[:8]
        command = interaction.command.qualified_name if interaction.command else "?"
        log.error(
            "command failed",
            exc_info=getattr(error, "original", error),
            extra={"error_id": error_id, "command": command},
        )
        message = unexpected_text(error_id, t)
    await answer(interaction, message)
