"""`techbrief sync-commands`: register the slash commands with Discord over REST."""

from __future__ import annotations

import argparse
import sys

from bot.runtime.client import TechbriefBot
from bot.runtime.container import open_services
from bot.runtime.discord_api import point_discord_at
from bot.settings import Settings


async def sync_commands(args: argparse.Namespace, settings: Settings) -> int:
    if settings.discord.token is None:
        from bot.cli import TOKEN_HELP

        sys.stderr.write(TOKEN_HELP)
        return 2
    point_discord_at(settings.discord.api_base)
    async with open_services(settings) as services:
        bot = TechbriefBot(services)
        try:
            await bot.login(settings.discord.token.get_secret_value())  # runs setup_hook
            synced = await bot.sync_commands(args.guild)
        finally:
            await bot.close()
    where = f"guild {args.guild}" if args.guild else "globally (may take up to an hour to show)"
    print(f"registered {len(synced)} commands {where}: " + ", ".join(sorted(c.name for c in synced)))
    if bot.failed_extensions:
        for name, reason in bot.failed_extensions.items():
            print(f"warning: extension {name} failed to load: {reason}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "sync-commands", help="register the slash commands with Discord",
        description="Register the slash commands with Discord (global, or one guild: instant).",
    )
    parser.add_argument("--guild", type=int, default=None, metavar="ID",
                        help="register in this guild only (shows up immediately)")
    parser.set_defaults(handler=sync_commands)
