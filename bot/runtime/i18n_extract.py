"""`python -m bot.runtime.i18n_extract`: every user-facing string into bot/locales/techbrief.pot.

Two sources, one template: the strings marked in the code (Babel's Python extractor with the
keywords below: ``t.gettext``, ``t.ngettext``, ``N_`` and the user-facing error classes), and
the command tree itself (command and option names under their own msgctxt, descriptions,
choices, the context menus), read by loading every extension into a bot that never
connects. ``make i18n`` runs this, then ``pybabel update`` merges the template into each
language's .po and ``pybabel compile`` builds the .mo.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from bot.core.i18n import DOMAIN, locales_dir
from bot.runtime.extensions import EXTENSIONS
from bot.runtime.i18n import TreeString, tree_strings

# name -> which arguments are messages (Babel's keyword spec); the error classes take a
# template as their first argument (bot.core.errors.TechbriefError).
KEYWORDS: dict[str, Any] = {
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "UserInputError": None,
    "NotFoundError": None,
    "QueryError": None,
    "TechbriefError": None,
}
SOURCE_DIRS = ("bot", "cogs")
# The command line speaks English to operators; only what Discord users read is translated.
# (OPML files are read by the CLI only.)
METHOD_MAP = [
    ("commands/**.py", "ignore"),
    ("core/ingest/opml.py", "ignore"),
    ("runtime/i18n_extract.py", "ignore"),
    ("**.py", "python"),
]


def _code_messages(root: Path) -> Iterable[tuple[str | tuple[str, ...], str, int]]:
    for directory in SOURCE_DIRS:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            root / directory,
            method_map=METHOD_MAP,
            keywords=KEYWORDS,
            comment_tags=("i18n:",),
            strip_comment_tags=True,
        ):
            yield message, f"{directory}/{filename}", lineno


async def _tree_strings(extensions: Sequence[str]) -> list[TreeString]:
    # Imported here: the client pulls in discord.py and the whole runtime.
    from bot.runtime.client import TechbriefBot
    from bot.runtime.settings import load_settings

    settings = load_settings(environ={}, dotenv_path=None)
    services = SimpleNamespace(settings=settings, discord_http=None)
    bot = TechbriefBot(services, extensions=extensions)  # type: ignore[arg-type]
    # Never logged in: nothing to close (and discord.py's close() expects a started client).
    for name in extensions:
        await bot.load_extension(name)
    return list(tree_strings(bot.tree))


def command_strings(extensions: Sequence[str] = EXTENSIONS) -> list[TreeString]:
    return asyncio.run(_tree_strings(extensions))


def build_template(root: Path, extensions: Sequence[str] = EXTENSIONS) -> Catalog:
    catalog = Catalog(project="techbrief", domain=DOMAIN, fuzzy=False)
    for message, where, lineno in _code_messages(root):
        if isinstance(message, tuple) and len(message) == 1:
            message = message[0]
        if not message or (isinstance(message, tuple) and not all(message)):
            continue
        catalog.add(message, locations=[(where, lineno)])
    for item in command_strings(extensions):
        if item.text:
            # Names carry a msgctxt: the name "add" is translated apart from the word "add".
            existing = catalog.get(item.text, context=item.context)
            comments = [item.where] if existing is None else [*existing.auto_comments, item.where]
            catalog.add(item.text, auto_comments=comments, context=item.context)
    return catalog


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--output", type=Path, default=locales_dir() / f"{DOMAIN}.pot")
    args = parser.parse_args(argv)
    catalog = build_template(args.root)
    with args.output.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=False, omit_header=False)
    print(f"{len(catalog)} messages -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
