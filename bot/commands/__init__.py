"""CLI subcommands beyond run/db, one module per feature, each exposing `register(sub)`."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def registry() -> list[Register]:
    from bot.commands import briefs_cli, discord_cmds, ingest, search

    return [discord_cmds.register, briefs_cli.register, ingest.register, search.register]
