"""The one answer every command that needs Discord gives when the bot token is missing."""

from __future__ import annotations

import sys

from bot.runtime.settings import Settings

EXIT_USAGE = 2

TOKEN_HELP = """\
techbrief: DISCORD_TOKEN is not set, so the bot cannot connect to Discord.

The token is your bot's password: create an application and its bot at
  https://discord.com/developers/applications  ->  your app -> Bot -> Reset Token
then set it either in a .env file next to the Makefile:
  DISCORD_TOKEN=your-token-here
or in the environment:
  export DISCORD_TOKEN=your-token-here
and run `make run` again. Invite the bot with the scopes `bot applications.commands`.

Without a token you can still read the feeds in the terminal:
  techbrief preview --fetch      (today's brief)
  techbrief inspect URL          (how one feed is read)
"""


def token_of(settings: Settings) -> str:
    """The bot token, or "" when it is unset or blank."""
    token = settings.discord.token
    return token.get_secret_value().strip() if token is not None else ""


def missing_token() -> int:
    """Say what to do (on stderr) and return the exit code for a usage error."""
    sys.stderr.write(TOKEN_HELP)
    return EXIT_USAGE
