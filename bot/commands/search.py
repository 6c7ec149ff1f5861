"""`techbrief search QUERY [--json] [--limit N]`: the /search command, in a terminal."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING, TextIO

from bot.core.errors import QueryError
from bot.core.search.service import (
    MAX_LIMIT,
    RANK_WINDOW,
    SearchHit,
    SearchPage,
    SearchService,
)
from bot.storage.engine import create_engine, session_factory

if TYPE_CHECKING:
    from bot.runtime.settings import Settings

EXIT_OK, EXIT_FAIL = 0, 1
_UNESCAPE = re.compile(r"\\(.)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    help_ = "search the stored stories (same query language as /search)"
    parser = sub.add_parser(
        "search",
        help=help_,
        description=help_,
        epilog=(
            'Query: words (all must match), "exact phrases", -excluded, source:KEY, '
            "author:NAME, tag:NAME, after:/before: 2026-11-01 or 7d/2w/3m/1y. "
            "Put -- before a query that starts with -, e.g. search -- kubernetes -helm."
        ),
    )
    parser.add_argument("query", nargs="+", help="the search query (words are joined)")
    parser.add_argument("--json", action="store_true", help="one JSON object per hit per line")
    parser.add_argument("--limit", type=_limit, default=10, help=f"hits to show (1-{MAX_LIMIT})")
    parser.add_argument("--offset", type=_offset, default=0, help="skip this many hits")
    parser.add_argument("--source", default=None, help="only this feed key")
    parser.set_defaults(handler=handler)


def _limit(value: str) -> int:
    n = int(value)
    if not 1 <= n <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_LIMIT}")
    return n


def _offset(value: str) -> int:
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return n


async def handler(args: argparse.Namespace, settings: Settings) -> int:
    query = " ".join(args.query)
    engine = create_engine(settings.database.url)
    try:
        service = SearchService(
            session_factory(engine), max_query_chars=settings.search.max_query_chars
        )
        # The operator's tool: every feed, including each server's custom ones.
        page = await service.search(
            query, limit=args.limit, offset=args.offset, source=args.source, all_feeds=True
        )
    except QueryError as exc:
        sys.stderr.write(f"techbrief search: {exc}\n")
        return EXIT_FAIL
    finally:
        await engine.dispose()
    if args.json:
        write_json(page, sys.stdout)
    else:
        write_text(page, sys.stdout, color=sys.stdout.isatty())
    return EXIT_OK


def hit_json(hit: SearchHit) -> dict[str, object]:
    return {
        "id": hit.story_id,
        "title": hit.title,
        "url": hit.url,
        "source": hit.source_key,
        "source_name": hit.source_name,
        "published": hit.published_at.isoformat(),
        "snippet": hit.snippet,
        "score": round(hit.score, 6),
    }


def write_json(page: SearchPage, out: TextIO) -> None:
    for hit in page.hits:
        out.write(json.dumps(hit_json(hit), ensure_ascii=False) + "\n")


def terminal_text(snippet: str, *, color: bool) -> str:
    """Discord markdown -> terminal: bold as ANSI (or kept as **), escapes removed."""
    bold = r"\033[1m\1\033[0m" if color else r"**\1**"
    return _UNESCAPE.sub(r"\1", _BOLD.sub(bold, snippet)).replace("\u200b", "")


def write_text(page: SearchPage, out: TextIO, *, color: bool) -> None:
    if not page.hits:
        out.write("No stories found.\n")
        return
    shown = f"{page.offset + 1}-{page.offset + len(page.hits)}"
    # total is None past the ranking window: only the newest RANK_WINDOW matches are ranked.
    total = str(page.total) if page.total is not None else f"{RANK_WINDOW}+"
    out.write(f"{shown} of {total} stories\n\n")
    for n, hit in enumerate(page.hits, start=page.offset + 1):
        day = hit.published_at.strftime("%Y-%m-%d")
        out.write(f"{n}. {hit.title}\n   {hit.source_name} ({hit.source_key}) · {day}\n")
        if hit.url:
            out.write(f"   {hit.url}\n")
        if hit.snippet:
            out.write(f"   {terminal_text(hit.snippet, color=color)}\n")
        out.write("\n")
