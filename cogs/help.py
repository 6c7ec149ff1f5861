"""/help: what the bot does and every command, only for the person who asked."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.i18n import Messages, command_path
from bot.runtime.client import TechbriefBot
from bot.runtime.i18n import messages_for
from bot.runtime.render import help_embed


def command_lines(
    tree: app_commands.CommandTree[TechbriefBot], t: Messages | None = None
) -> list[tuple[str, str]]:
    """(command, description) of every command in the reader's language: the name as their
    client shows it ("/브리핑 설정") and the description (the catalogs' entries for the tree)."""
    t = t or Messages.english()
    lines: list[tuple[str, str]] = []

    def walk(cmd: app_commands.Command[Any, ..., Any] | app_commands.Group) -> None:
        if isinstance(cmd, app_commands.Group):
            for child in cmd.commands:
                walk(child)
        else:
            lines.append((command_path(t, cmd.qualified_name), t.gettext(cmd.description)))

    for cmd in tree.get_commands(type=discord.AppCommandType.chat_input):
        if isinstance(cmd, app_commands.Command | app_commands.Group):
            walk(cmd)
    for menu in tree.get_commands(type=discord.AppCommandType.message):
        lines.append(
            (
                t.gettext("Apps > {name}", name=t.gettext(menu.name)),
                t.gettext("message context menu"),
            )
        )
    return sorted(lines)


class Help(commands.Cog):
    def __init__(self, bot: TechbriefBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What techbrief does, and every command")
    async def help(self, interaction: discord.Interaction) -> None:
        t = messages_for(interaction)
        embed = help_embed(command_lines(self.bot.tree, t), t)
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )


async def setup(bot: TechbriefBot) -> None:
    await bot.add_cog(Help(bot))
