"""The `techbrief` command line: one subcommand per job, one-line errors, no tracebacks."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from pydantic import ValidationError

from bot.commands.token import missing_token, token_of
from bot.core.errors import ConfigError, TechbriefError
from bot.runtime.settings import RuntimeSettings, Settings, load_settings

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def _add(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_: str,
    handler: Handler,
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_, description=help_)
    parser.set_defaults(handler=handler)
    return parser


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if not token_of(settings):
        return missing_token()
    from bot.runtime.main import run_bot

    if args.roles is not None:
        try:
            runtime = RuntimeSettings(roles=args.roles)
        except ValidationError:
            sys.stderr.write(
                f"techbrief: --roles {args.roles!r}: name one or more of gateway, worker, "
                "sender, comma-separated (e.g. --roles worker)\n"
            )
            return EXIT_USAGE
        settings = settings.model_copy(update={"runtime": runtime})
    return await run_bot(settings)


async def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.engine import create_engine
    from bot.storage.migrate import current_revision, head_revision, upgrade

    engine = create_engine(settings.database.url)
    try:
        if args.db_command == "upgrade":
            await upgrade(engine)
            print(f"database at revision {await current_revision(engine)} (head)")
        else:
            current = await current_revision(engine)
            print(f"current: {current or 'empty'}; head: {head_revision()}")
    finally:
        await engine.dispose()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="techbrief",
        description="A Discord bot that posts a daily tech brief from engineering blogs.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = _add(sub, "run", "connect to Discord and run the bot (needs DISCORD_TOKEN)", cmd_run)
    run.add_argument(
        "--roles",
        metavar="ROLES",
        help="what this process does, comma-separated: gateway (shards and interactions), "
        "worker (feeds and summaries), sender (briefs and the outbox); default all three "
        "(setting runtime.roles). Split roles need PostgreSQL",
    )
    db = _add(
        sub, "db", "database schema: `db upgrade` migrates, `db current` shows the revision", cmd_db
    )
    db.add_argument("db_command", choices=["upgrade", "current"], help="what to do")
    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]]:
    """Subcommands that live next to the feature they drive (imported lazily, cheaply)."""
    from bot.commands import registry

    return registry()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.stderr.write(f"techbrief: bad setting: {exc}\n")
        return EXIT_USAGE
    from bot.runtime.logs import setup_logging

    setup_logging(settings.log.level, json_output=settings.log.json_output)
    handler: Handler = args.handler
    try:
        return asyncio.run(handler(args, settings))
    except KeyboardInterrupt:
        return 130
    except TechbriefError as exc:
        sys.stderr.write(f"techbrief: {exc}\n")
        return EXIT_FAIL
    except Exception as exc:  # a command line answers in one line; the log keeps the details
        logging.getLogger("techbrief.cli").debug("command failed", exc_info=True)
        sys.stderr.write(
            f"techbrief: {type(exc).__name__}: {exc} "
            "(set TECHBRIEF_LOG__LEVEL=DEBUG for the traceback)\n"
        )
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
