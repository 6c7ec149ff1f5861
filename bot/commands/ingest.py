"""Feed commands for operators: `inspect`, `fetch`, `feeds import|export`.

``inspect`` reads one feed (URL or file) without a database. The others work on the database
but never migrate it: they assume `techbrief db upgrade` ran and say so when it did not.
Every failure is one line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.core.errors import FetchError, ParseError, TechbriefError
from bot.core.ingest import ParseOutcome, parse_and_normalize
from bot.core.ingest.refresher import (
    BACKPRESSURE,
    FAILED,
    GONE,
    NEW,
    NOT_MODIFIED,
    UNCHANGED,
    UPDATED,
    CycleReport,
    FeedOutcome,
)
from bot.core.models import NormalizedStory

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.runtime.ingest import Ingest
    from bot.runtime.settings import Settings

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAIL = 0, 1
SCHEMA_HELP = "the database has no schema yet: run `techbrief db upgrade` first"


class CommandFailed(Exception):
    """A one-line reason to print before exiting with status 1."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    inspect = sub.add_parser(
        "inspect",
        help="read one feed (URL or file) and print its stories; touches no database",
        description="Read one feed, from a URL or a file, and print how techbrief sees each "
        "story. Exit status 1 with the reason when it cannot be read.",
    )
    inspect.add_argument("target", metavar="URL|FILE", help="feed URL (http/https) or file path")
    inspect.add_argument("--json", action="store_true", help="one JSON object per story per line")
    inspect.set_defaults(handler=cmd_inspect)

    fetch = sub.add_parser(
        "fetch",
        help="poll the feeds that are due now (or all of them) and store new stories",
        description="Poll feeds now: the due ones, every one (--all) or one (--feed).",
    )
    which = fetch.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every active feed, due or not")
    which.add_argument("--feed", metavar="KEY_OR_URL", help="just this feed, due or not")
    fetch.set_defaults(handler=cmd_fetch)

    feeds = sub.add_parser("feeds", help="import or export the feed list as OPML 2.0")
    action = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    imp = action.add_parser(
        "import",
        help="add every feed of an OPML file",
        description="Add every feed of an OPML file (validated, duplicates skipped); they are "
        "polled on the next cycle like catalog feeds.",
    )
    imp.add_argument("file", type=Path, metavar="FILE.opml")
    imp.set_defaults(handler=cmd_feeds_import)
    exp = action.add_parser("export", help="write all active feeds as OPML 2.0")
    exp.add_argument("file", type=Path, nargs="?", metavar="FILE", help="default: stdout")
    exp.set_defaults(handler=cmd_feeds_export)


def _fail(command: str, reason: str) -> int:
    sys.stderr.write(f"techbrief {command}: {reason}\n")
    return EXIT_FAIL


# -- inspect ----------------------------------------------------------------------------------


async def cmd_inspect(args: argparse.Namespace, settings: Settings) -> int:
    try:
        outcome, source = await _read_target(args.target, settings)
    except CommandFailed as exc:
        return _fail("inspect", str(exc))
    except Exception as exc:  # the promise is "never a traceback"
        return _fail("inspect", f"unexpected error: {type(exc).__name__}: {exc}")
    if args.json:
        write_json(outcome, sys.stdout, feed_url=_feed_url(args.target, source))
    else:
        write_plain(outcome, source, sys.stdout)
    return EXIT_OK


def _feed_url(target: str, source: str) -> str:
    """The URL a feed would be added under: the final URL, or the file's own URI."""
    return source if "://" in target else Path(source).resolve().as_uri()


async def _read_target(target: str, settings: Settings) -> tuple[ParseOutcome, str]:
    now = datetime.now(UTC)
    if "://" not in target:
        return _read_file(target, now)
    from bot.core.ingest import Fetcher
    from bot.runtime.ingest import fetch_policy

    url = target.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise CommandFailed(f"only http:// and https:// URLs (or a file path) can be read: {url}")
    try:
        async with Fetcher(fetch_policy(settings)) as fetcher:
            result = await fetcher.fetch(url, guarded=True)
    except FetchError as exc:
        raise CommandFailed(_fetch_reason(exc)) from None
    if result.body is None:
        raise CommandFailed("the server sent no document")
    return _parse(result.body, result.headers, result.final_url, now), result.final_url


def _read_file(target: str, now: datetime) -> tuple[ParseOutcome, str]:
    # Synchronous on purpose: the CLI does nothing else meanwhile.
    path = Path(target)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise CommandFailed(f"cannot read {target}: {exc.strerror or exc}") from None
    return _parse(body, {}, path.resolve().as_uri(), now), str(path)


def _fetch_reason(exc: FetchError) -> str:
    from bot.core.errors import BlockedAddressError, BodyTooLarge, FetchTimeout, HTTPStatusError

    if isinstance(exc, HTTPStatusError):
        return f"HTTP {exc.status}: {exc.reason}"
    if isinstance(exc, FetchTimeout):
        return f"timeout: {exc.reason}"
    if isinstance(exc, BodyTooLarge):
        return f"too large: {exc.reason}"
    if isinstance(exc, BlockedAddressError):
        return f"refused address: {exc.reason}"
    return exc.reason


def _parse(body: bytes, headers: dict[str, str], url: str, now: datetime) -> ParseOutcome:
    try:
        return parse_and_normalize(body, headers, url, now)
    except ParseError as exc:
        raise CommandFailed(f"not a feed: {exc}") from None


def story_json(
    story: NormalizedStory, *, digest: str | None = None, source_name: str | None = None
) -> dict[str, Any]:
    return {
        "key": story.key,
        "key_kind": story.key_kind,
        "title": story.title,
        "url": story.url,
        "canonical_url": story.canonical_url,
        "published": story.published_at.isoformat(),
        "author": story.author,
        "summary": story.summary,
        "image": story.image_url,
        "tags": list(story.tags),
        "kind": story.kind,
        "duration_s": story.duration_s,
        "media_url": story.media_url,
        "digest": digest,
        "source_name": source_name,
    }


def write_json(outcome: ParseOutcome, out: TextIO, *, feed_url: str) -> None:
    """One object per story: what was parsed, and the card text the bot would post for it."""
    from bot.commands.inspect_cards import inspected_cards

    for card in inspected_cards(outcome, feed_url):
        row = story_json(card.story, digest=card.digest, source_name=card.source_name)
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_plain(outcome: ParseOutcome, source: str, out: TextIO) -> None:
    feed = outcome.feed
    n = len(outcome.stories)
    out.write(f"{feed.title or '(untitled feed)'} — {feed.format or 'unknown format'}, ")
    out.write(f"{n} {'story' if n == 1 else 'stories'} ({source})\n")
    if feed.bozo:
        out.write(f"warning: tolerated a malformed document: {feed.bozo}\n")
    for i, story in enumerate(outcome.stories, start=1):
        summary = story.summary if len(story.summary) <= 300 else story.summary[:299] + "…"
        out.write(f"\n{i}. {story.title}\n")
        rows = [
            ("key", f"{story.key} ({story.key_kind})"),
            ("url", story.url or "-"),
            ("canonical", story.canonical_url or "-"),
            ("published", story.published_at.isoformat()),
            ("author", story.author or "-"),
            ("tags", ", ".join(story.tags) or "-"),
            ("image", story.image_url or "-"),
            ("kind", _media_text(story)),
            ("summary", " ".join(summary.split()) or "-"),
        ]
        for name, value in rows:
            out.write(f"   {name + ':':<11}{value}\n")


def _media_text(story: NormalizedStory) -> str:
    if story.kind == "article":
        return "article"
    from bot.core.briefs.media_line import duration_text

    length = duration_text(story.duration_s) or "length unknown"
    return f"{story.kind} · {length} · {story.media_url or 'no play link'}"


# -- database commands ------------------------------------------------------------------------


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    from bot.storage.engine import create_engine
    from bot.storage.migrate import current_revision

    engine = create_engine(
        settings.database.url, busy_timeout_ms=settings.database.sqlite_busy_timeout_ms
    )
    try:
        try:
            revision = await current_revision(engine)
        except Exception as exc:
            raise CommandFailed(f"cannot open the database: {type(exc).__name__}: {exc}") from None
        if revision is None:
            raise CommandFailed(SCHEMA_HELP)
        yield engine
    finally:
        await engine.dispose()


@asynccontextmanager
async def _ingest(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Ingest]:
    from bot.core.ingest import load_catalog
    from bot.runtime.ingest import build_ingest
    from bot.storage.engine import session_factory

    ingest = build_ingest(
        settings, session_factory(engine), catalog=load_catalog(settings.catalog.file)
    )
    try:
        yield ingest
    finally:
        await ingest.fetcher.close()
        ingest.parser.close()


async def cmd_fetch(args: argparse.Namespace, settings: Settings) -> int:
    try:
        async with _database(settings) as engine, _ingest(settings, engine) as ingest:
            report = await _run_fetch(args, ingest)
    except CommandFailed as exc:
        return _fail("fetch", str(exc))
    except Exception as exc:  # one line for the operator; the details go to the debug log
        log.debug("fetch failed", exc_info=True)
        return _fail(
            "fetch", f"{type(exc).__name__}: {exc} (TECHBRIEF_LOG__LEVEL=DEBUG shows more)"
        )
    console = Console(highlight=False, soft_wrap=True)
    print_report(console, report)
    everything_failed = report.polled > 0 and len(report.failures) == report.polled
    return EXIT_FAIL if everything_failed else EXIT_OK


async def _run_fetch(args: argparse.Namespace, ingest: Ingest) -> CycleReport:
    await ingest.refresher.start()  # syncs the catalog first, so --feed can name catalog keys
    feed_ids: list[int] | None = None
    if args.feed:
        repo = ingest.feeds_repo
        feed = await repo.by_key(args.feed) or await repo.by_url(args.feed)
        if feed is None:
            raise CommandFailed(f"no feed with key or URL {args.feed!r}")
        feed_ids = [feed.id]
    if not sys.stdout.isatty():
        return await ingest.refresher.run_due(ingest.owner, force=args.all, feed_ids=feed_ids)
    columns = (
        TextColumn("polling"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("", total=0)

        def leased(n: int) -> None:
            total = progress.tasks[0].total or 0
            progress.update(task, total=total + n)

        def done(outcome: FeedOutcome) -> None:
            progress.update(task, advance=1, description=outcome.key)

        return await ingest.refresher.run_due(
            ingest.owner, force=args.all, feed_ids=feed_ids, on_leased=leased, on_done=done
        )


_ROWS = (
    ("new", NEW),
    ("updated", UPDATED),
    ("unchanged", UNCHANGED),
    ("not modified", NOT_MODIFIED),
    ("slowed down", BACKPRESSURE),
    ("failed", FAILED),
    ("gone (410)", GONE),
)


def print_report(console: Console, report: CycleReport) -> None:
    if not report.polled:
        console.print("No feeds were due. Use --all to poll every feed now.")
        return
    table = Table(title=f"Polled {report.polled} feeds")
    table.add_column("result")
    table.add_column("feeds", justify="right")
    table.add_column("stories", justify="right")
    stories = {
        NEW: report.stories_new,
        UPDATED: report.stories_updated,
        UNCHANGED: report.stories_unchanged,
    }
    for label, kind in _ROWS:
        feeds = report.count(kind)
        if feeds or kind in (NEW, UPDATED, UNCHANGED, NOT_MODIFIED, FAILED):
            table.add_row(label, str(feeds), str(stories.get(kind, "")))
    console.print(table)
    problems = [o for o in report.outcomes if o.error]
    if problems:
        failures = Table(title="Problems")
        failures.add_column("feed")
        failures.add_column("reason", overflow="fold")
        for outcome in sorted(problems, key=lambda o: o.key):
            failures.add_row(outcome.key, outcome.error or "")
        console.print(failures)


async def cmd_feeds_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        return _fail("feeds import", f"cannot read {args.file}: {exc.strerror or exc}")
    try:
        async with _database(settings) as engine, _ingest(settings, engine) as ingest:
            report = await ingest.feeds.import_opml(data)
    except (CommandFailed, TechbriefError) as exc:
        return _fail("feeds import", str(exc))
    out = sys.stdout
    out.write(f"added {len(report.added)}")
    out.write(f": {', '.join(report.added)}\n" if report.added else "\n")
    out.write(f"skipped {len(report.duplicates)} already known\n")
    for url in report.duplicates:
        out.write(f"  = {url}\n")
    out.write(f"refused {len(report.refused)}\n")
    for url, reason in report.refused:
        out.write(f"  ! {url}: {reason}\n")
    return EXIT_OK


async def cmd_feeds_export(args: argparse.Namespace, settings: Settings) -> int:
    try:
        async with _database(settings) as engine, _ingest(settings, engine) as ingest:
            document = await ingest.feeds.export_opml()
    except (CommandFailed, TechbriefError) as exc:
        return _fail("feeds export", str(exc))
    if args.file is None:
        sys.stdout.write(document)
        return EXIT_OK
    try:
        args.file.write_text(document, encoding="utf-8")
    except OSError as exc:
        return _fail("feeds export", f"cannot write {args.file}: {exc.strerror or exc}")
    sys.stderr.write(f"wrote {document.count('<outline ')} feeds to {args.file}\n")
    return EXIT_OK


__all__ = ["register"]
