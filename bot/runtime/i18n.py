"""Korean and Japanese for the Discord side: the command tree's Translator, the reader's
Messages, and the list of every string the command tree shows (for the catalogs and tests).

Slash command and option *names* stay English on purpose: help texts, error messages, the
brief's "`/search query:source:…`" hint and the search syntax all name them, and a name
typed from a guide or a colleague's message must work in every client language. What a
reader reads is localised: command and option descriptions, choice names, and the message
context menu's name (free text there, so it reads as a label, not an identifier).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.core.i18n import LOCALES, Localizer, Messages

log = logging.getLogger(__name__)

# Discord's limits for what the translator returns (checked again by the fake Discord).
DESCRIPTION_MAX = 100
CHOICE_NAME_MAX = 100
MENU_NAME_MAX = 32

# Discord locales the catalogs serve (discord.Locale values are the catalog names).
DISCORD_LOCALES = {discord.Locale(code): code for code in LOCALES}

TRANSLATED = {
    Where.command_description: DESCRIPTION_MAX,
    Where.group_description: DESCRIPTION_MAX,
    Where.parameter_description: DESCRIPTION_MAX,
    Where.choice_name: CHOICE_NAME_MAX,
}


def messages_for(interaction: discord.Interaction[Any]) -> Messages:
    """The reader's language: their Discord client's locale (ko, ja, else English)."""
    localizer: Localizer = interaction.client.services.localizer
    return localizer.messages(interaction.locale)


def guild_messages_for(interaction: discord.Interaction[Any]) -> Messages:
    """The server's language (its preferred locale), for what the interaction posts into a
    channel for everyone there: channel posts follow the server, as briefs do."""
    localizer: Localizer = interaction.client.services.localizer
    return localizer.messages(interaction.guild_locale)


def _limit(location: Where, data: object) -> int | None:
    if location in TRANSLATED:
        return TRANSLATED[location]
    if location is Where.command_name and isinstance(data, app_commands.ContextMenu):
        return MENU_NAME_MAX
    return None  # slash command, group and option names stay English (module docstring)


class CatalogTranslator(app_commands.Translator):
    """discord.py asks this for every command string when it syncs the tree."""

    def __init__(self, localizer: Localizer) -> None:
        self.localizer = localizer

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        code = DISCORD_LOCALES.get(locale)
        limit = _limit(context.location, context.data)
        if code is None or limit is None:
            return None
        source = string.message
        # An untranslated string comes back as the English source: the same as none.
        text = self.localizer.messages(code).gettext(source)
        if not 1 <= len(text) <= limit:
            log.warning(
                "translation too long for Discord; English is used",
                extra={"locale": code, "msgid": source, "chars": len(text), "limit": limit},
            )
            return None
        return text


@dataclass(frozen=True, slots=True)
class TreeString:
    text: str
    where: str  # e.g. "/brief setup: option every, choice" (a translator's comment)


def tree_strings(tree: app_commands.CommandTree[Any]) -> Iterator[TreeString]:
    """Every string of the command tree a reader sees (what CatalogTranslator translates)."""

    def walk(cmd: Any) -> Iterator[TreeString]:
        name = f"/{cmd.qualified_name}"
        yield TreeString(cmd.description, f"{name}: description")
        if isinstance(cmd, app_commands.Group):
            for child in cmd.commands:
                yield from walk(child)
            return
        for param in cmd.parameters:
            yield TreeString(param.description, f"{name}: option {param.name}")
            for choice in param.choices:
                yield TreeString(choice.name, f"{name}: option {param.name}, choice")

    for cmd in tree.get_commands(type=discord.AppCommandType.chat_input):
        yield from walk(cmd)
    for menu in tree.get_commands(type=discord.AppCommandType.message):
        yield TreeString(menu.name, "message context menu name (at most 32 characters)")
