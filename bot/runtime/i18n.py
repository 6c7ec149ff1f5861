"""Korean and Japanese for the Discord side: the command tree's Translator, the reader's
Messages, and the list of every string the command tree shows (for the catalogs and tests).

Everything the command tree shows is localised: command, group, subcommand and option names,
descriptions, choice names and the message context menus' names. A Korean or Japanese
client shows (and lets its reader type) only the localised names, so every Korean or
Japanese text that names a command names it the way that client does ("`/브리핑 설정`",
"`/検索 検索語:source:…`"; tests/i18n checks each such reference against the tree).
English text names the English commands. A channel post is in the server's language,
command names included, like the rest of a brief (a reader whose client speaks another
language sees the server's names there). The search syntax inside a query (``source:``,
``after:``) is the query's own language, not an option name, and stays as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.core.i18n import COMMAND_NAME, LOCALES, OPTION_NAME, Localizer, Messages, valid_name

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


# msgctxt of the names of slash commands, groups and subcommands, and of options.
NAME_CONTEXTS = {
    Where.command_name: COMMAND_NAME,
    Where.group_name: COMMAND_NAME,
    Where.parameter_name: OPTION_NAME,
}


def _limit(location: Where, data: object) -> int | None:
    if location in TRANSLATED:
        return TRANSLATED[location]
    if location is Where.command_name and isinstance(data, app_commands.ContextMenu):
        return MENU_NAME_MAX
    return None


def _name(messages: Messages, location: Where, source: str) -> str | None:
    """A slash command, group or option name, or None for Discord's English default when
    the catalog has none or it breaks Discord's name rule."""
    text = messages.pgettext(NAME_CONTEXTS[location], source)
    if text == source:
        return None
    if not valid_name(text):
        log.warning(
            "translated name breaks Discord's name rule; English is used",
            extra={"locale": messages.locale, "msgid": source, "translation": text},
        )
        return None
    return text


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
        if code is None:
            return None
        source = string.message
        if context.location in NAME_CONTEXTS and not isinstance(
            context.data, app_commands.ContextMenu
        ):
            return _name(self.localizer.messages(code), context.location, source)
        limit = _limit(context.location, context.data)
        if limit is None:
            return None
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
    context: str | None = None  # msgctxt: COMMAND_NAME or OPTION_NAME for names

    @property
    def is_name(self) -> bool:
        return self.context is not None


def tree_strings(tree: app_commands.CommandTree[Any]) -> Iterator[TreeString]:
    """Every string of the command tree a reader sees (what CatalogTranslator translates)."""

    def walk(cmd: Any) -> Iterator[TreeString]:
        name = f"/{cmd.qualified_name}"
        yield TreeString(cmd.name, f"{name}: name (lowercase, no spaces)", COMMAND_NAME)
        yield TreeString(cmd.description, f"{name}: description")
        if isinstance(cmd, app_commands.Group):
            for child in cmd.commands:
                yield from walk(child)
            return
        for param in cmd.parameters:
            yield TreeString(
                param.name, f"{name}: option {param.name}, name (lowercase, no spaces)", OPTION_NAME
            )
            yield TreeString(param.description, f"{name}: option {param.name}")
            for choice in param.choices:
                yield TreeString(choice.name, f"{name}: option {param.name}, choice")

    for cmd in tree.get_commands(type=discord.AppCommandType.chat_input):
        yield from walk(cmd)
    for menu in tree.get_commands(type=discord.AppCommandType.message):
        yield TreeString(menu.name, "message context menu name (at most 32 characters)")
