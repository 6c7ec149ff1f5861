"""`techbrief sync-commands`: register the slash commands with Discord over REST."""

from __future__ import annotations

import argparse
import sys

from bot.commands.token import missing_token, token_of
from bot.runtime.settings import Settings


async def sync_commands(args: argparse.Namespace, settings: Settings) -> int:
    token = token_of(settings)
    if not token:
        return missing_token()
    # Imported here, not at the top: every `techbrief` invocation builds the parser (and so
    # imports this module), and discord.py plus the whole runtime cost most of a second.
    import discord

    from bot.runtime.client import TechbriefBot
    from bot.runtime.container import open_services
    from bot.runtime.discord_api import point_discord_at

    point_discord_at(settings.discord.api_base)
    async with open_services(settings) as services:
        bot = TechbriefBot(services)
        try:
            await bot.login(token)  # runs setup_hook: the extensions add their commands
            synced = await bot.sync_commands(args.guild)
        except discord.LoginFailure:
            sys.stderr.write(
                "techbrief: Discord refused the token (DISCORD_TOKEN). Reset it in the developer "
                "portal (Bot -> Reset Token) and set the new one in .env.\n"
            )
            return 2
        except discord.Forbidden as exc:
            if args.guild is None:
                raise
            sys.stderr.write(
                f"techbrief: Discord refused to register commands in guild {args.guild} "
                f"({exc.status} {exc.text or 'Forbidden'}): is the bot in that server, invited "
                "with the `applications.commands` scope?\n"
            )
            return 1
        finally:
            await bot.close()
    where = f"guild {args.guild}" if args.guild else "globally (may take up to an hour to show)"
    names = ", ".join(sorted(c.name for c in synced))
    print(f"registered {len(synced)} commands {where}: {names}")
    if bot.failed_extensions:
        for name, reason in bot.failed_extensions.items():
            print(f"warning: extension {name} failed to load: {reason}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "sync-commands",
        help="register the slash commands with Discord",
        description="Register the slash commands with Discord (global, or one guild: instant).",
    )
    parser.add_argument(
        "--guild",
        type=int,
        default=None,
        metavar="ID",
        help="register in this guild only (shows up immediately)",
    )
    parser.set_defaults(handler=sync_commands)
