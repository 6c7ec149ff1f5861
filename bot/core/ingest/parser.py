"""Feed bytes -> ParsedFeed -> NormalizedStory, off the event loop.

``parse_and_normalize`` is a pure top-level function so it pickles into a
``ProcessPoolExecutor``: feed parsing is CPU-bound and would otherwise stall the Discord gateway
heartbeat during a cold ingest. feedparser runs with its sanitizer and relative-URI rewriting
off: both are slow regex passes over every HTML field, and normalize cleans text with a real
HTML parser afterwards anyway ("sanitize last").
"""

from __future__ import annotations

import asyncio
import calendar
import html
import io
import multiprocessing
import os
import re
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import feedparser

from bot.core.errors import ParseError
from bot.core.ingest.jsonfeed import looks_like_json_feed, parse_json_feed
from bot.core.ingest.media import entry_media, feed_image
from bot.core.ingest.normalize import SearchText, normalize_document, search_text_for
from bot.core.models import NormalizedStory, ParsedEntry, ParsedFeed
from bot.core.text import clean_text

# Everything before the root element: XML declaration, comments, DOCTYPE with internal subset.
_PROLOG_END = re.compile(rb"<[A-Za-z_]")
_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(%\s+)?([^\s>]+)\s+(.*?)>", re.S)
# An entity whose value is a plain literal (or one character reference) cannot amplify.
_SAFE_ENTITY_VALUE = re.compile(rb"""^(?:"(?:&\#\w+;|[^&"%<]*)"|'(?:&\#\w+;|[^&'%<]*)')\s*$""")
_HTML_HINT = re.compile(rb"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_IMAGE_EXT = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)(?:$|[?#])", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    """Result of one document: feed metadata (entries dropped unless asked) and its stories."""

    feed: ParsedFeed
    stories: tuple[NormalizedStory, ...]
    # Search text per story (parallel to ``stories``) when asked for: segmenting 100 KB of
    # text per feed is CPU work that belongs in the worker, not on the event loop.
    search: tuple[SearchText, ...] | None = None
    # Key kinds not used for ``stories``: those passed in (the feed's) plus those this
    # document repeats. Saved with the feed after a successful parse.
    unusable_key_kinds: frozenset[str] = frozenset()


def reject_entity_expansion(body: bytes) -> None:
    """Refuse documents that declare expandable or external XML entities (billion laughs, XXE).

    expat >= 2.4 has amplification limits and feedparser strips most declarations, but the
    loose fallback parser and future library changes are not ours to rely on; real feeds never
    need entity declarations beyond simple literals.
    """
    head = body[:65536]
    match = _PROLOG_END.search(head)
    prolog = head[: match.start()] if match else head
    if b"<!ENTITY" not in prolog:
        return
    for param, name, value in _ENTITY_DECL.findall(prolog):
        if param or not _SAFE_ENTITY_VALUE.match(value):
            shown = name.decode("ascii", "replace")
            raise ParseError(
                f"document declares an expandable or external XML entity ({shown}); refused"
            )


def _get(mapping: Mapping[str, Any], key: str) -> Any:
    # Plain dict lookup: FeedParserDict's aliasing (e.g. updated_parsed -> published_parsed)
    # warns, and would blur "updated" into "published".
    return dict.get(mapping, key) if isinstance(mapping, dict) else mapping.get(key)


def _struct_to_dt(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time | tuple) or len(value) < 6:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _images(entry: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for thumb in _get(entry, "media_thumbnail") or ():
        url = _str(thumb.get("url"))
        if url:
            found.append(url)
    for media in _get(entry, "media_content") or ():
        url = _str(media.get("url"))
        medium = (media.get("medium") or "").lower()
        mime = (media.get("type") or "").lower()
        if url and (
            medium == "image"
            or mime.startswith("image/")
            or (not medium and not mime and _IMAGE_EXT.search(url))
        ):
            found.append(url)
    for link in _get(entry, "links") or ():
        if link.get("rel") == "enclosure" and (link.get("type") or "").lower().startswith("image/"):
            url = _str(link.get("href"))
            if url:
                found.append(url)
    itunes = _get(entry, "image")
    if isinstance(itunes, Mapping):
        url = _str(itunes.get("href"))
        if url:
            found.append(url)
    return tuple(dict.fromkeys(found))


def _as_html(value: Any, detail: Any) -> str | None:
    """The value as HTML: text/plain constructs are escaped so "Why <div> is bad" stays text."""
    text = _str(value)
    if text is None:
        return None
    kind = detail.get("type", "") if isinstance(detail, Mapping) else ""
    return html.escape(text, quote=False) if kind == "text/plain" else text


def _plain(value: Any, detail: Any) -> str | None:
    """Feed titles are shown as is, so they get the same cleaning as story text."""
    return clean_text(_as_html(value, detail), single_line=True) or None


def _content(entry: Mapping[str, Any]) -> str | None:
    values = [_as_html(c.get("value"), c) for c in _get(entry, "content") or ()]
    present = [v for v in values if v]
    return max(present, key=len) if present else None


def _author(entry: Mapping[str, Any]) -> str | None:
    author = _str(_get(entry, "author"))
    if author:
        return author
    detail = _get(entry, "author_detail")
    if isinstance(detail, Mapping):
        return _str(detail.get("name")) or _str(detail.get("email"))
    return None


def _tags(entry: Mapping[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    for tag in _get(entry, "tags") or ():
        term = _str(tag.get("label")) or _str(tag.get("term"))
        if term:
            out.append(term)
    return tuple(out)


def _entry(entry: Mapping[str, Any]) -> ParsedEntry:
    published = _struct_to_dt(_get(entry, "published_parsed")) or _struct_to_dt(
        _get(entry, "created_parsed")
    )
    updated = _struct_to_dt(_get(entry, "updated_parsed"))
    link = _str(_get(entry, "link"))
    if link is None:
        for candidate in _get(entry, "links") or ():
            if candidate.get("rel", "alternate") == "alternate" and _str(candidate.get("href")):
                link = _str(candidate.get("href"))
                break
    return ParsedEntry(
        guid=_str(_get(entry, "id")),
        link=link,
        title=_as_html(_get(entry, "title"), _get(entry, "title_detail")),
        summary_html=_as_html(_get(entry, "summary"), _get(entry, "summary_detail")),
        content_html=_content(entry),
        author=_author(entry),
        tags=_tags(entry),
        published=published or updated,
        updated=updated,
        image_urls=_images(entry),
        media=entry_media(entry),
    )


def _ttl(value: Any) -> int | None:
    text = _str(value)
    if text is None or not text.isdigit():
        return None
    minutes = int(text)
    return minutes if 0 < minutes <= 7 * 24 * 60 else None


def _not_a_feed(body: bytes, content_type: str, result: Any) -> ParseError:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in ("text/html", "application/xhtml+xml") or _HTML_HINT.search(body[:2048]):
        return ParseError("this is an HTML page, not a feed (look for its RSS/Atom link)")
    problem = _get(result, "bozo_exception")
    detail = f": {problem}" if problem else ""
    return ParseError(f"not an RSS, Atom or JSON feed{detail}")


def parse_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0, Atom 0.3/1.0 or JSON Feed bytes; ParseError if none of them."""
    lowered = {k.lower(): v for k, v in headers.items()}
    content_type = lowered.get("content-type", "")
    if not body or not body.strip():
        raise ParseError("empty document")
    if looks_like_json_feed(body, content_type):
        stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
        if stripped.startswith((b"{", b"[")):
            return parse_json_feed(body)
        # Mislabelled XML (servers love application/json for everything): try XML below.
    reject_entity_expansion(body)
    # No Content-Location on purpose: feedparser would resolve every <guid> against it, so a
    # feed that moved (or was fetched through a redirect) would get new story keys and re-post
    # everything. normalize resolves links itself, against the site link or the feed URL.
    response_headers = {"content-type": content_type or "application/xml"}
    if "content-language" in lowered:
        response_headers["content-language"] = lowered["content-language"]
    # BytesIO, never raw bytes/str: feedparser treats a string that looks like a URL or a path
    # as something to open, which would be an SSRF/file-read hole for hostile bodies.
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    feed_meta = _get(result, "feed") or {}
    entries = _get(result, "entries") or []
    if not _get(result, "version") and not entries:
        raise _not_a_feed(body, content_type, result)
    bozo = _get(result, "bozo_exception") if _get(result, "bozo") else None
    return ParsedFeed(
        title=_plain(_get(feed_meta, "title"), _get(feed_meta, "title_detail")),
        link=_str(_get(feed_meta, "link")),
        language=_str(_get(feed_meta, "language")),
        entries=tuple(_entry(e) for e in entries),
        ttl_minutes=_ttl(_get(feed_meta, "ttl")),
        format=str(_get(result, "version") or ""),
        bozo=f"{type(bozo).__name__}: {bozo}" if bozo is not None else None,
        image_url=feed_image(feed_meta),
    )


def parse_and_normalize(
    body: bytes,
    headers: dict[str, str],
    url: str,
    fetched_at: datetime,
    keep_entries: bool = False,
    with_search: bool = False,
    unusable: frozenset[str] = frozenset(),
) -> ParseOutcome:
    """Parse and normalize one document; runs in a worker process (pure, picklable I/O).

    ``unusable``: the key kinds the feed already lost (``FeedRow.unusable_key_kinds``).
    """
    feed = parse_feed(body, headers, url)
    stories, kinds = normalize_document(feed, url, fetched_at, unusable)
    search = tuple(search_text_for(s) for s in stories) if with_search else None
    if not keep_entries:
        # Raw HTML entries would double the bytes pickled back to the parent for nothing.
        feed = ParsedFeed(
            title=feed.title,
            link=feed.link,
            language=feed.language,
            entries=(),
            ttl_minutes=feed.ttl_minutes,
            format=feed.format,
            bozo=feed.bozo,
            image_url=feed.image_url,
        )
    return ParseOutcome(feed=feed, stories=stories, search=search, unusable_key_kinds=kinds)


def _exit_with_parent(parent: int, poll_seconds: float = 1.0) -> None:
    """A worker ends itself once the process that started it is gone.

    ProcessPoolExecutor workers do not notice a parent killed with SIGKILL (or OOM): they
    would linger as orphans, holding memory and the parent's stdout/stderr. A daemon thread
    watching the parent pid is portable and costs nothing while the parent lives. The pid
    comes from the parent itself: a worker still starting when its parent was killed would
    otherwise read its new parent (init) and wait for it forever.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _warm_up(parent: int | None = None) -> None:
    """Imported modules are paid for once per worker, not on the first real feed."""
    if parent is not None:
        _exit_with_parent(parent)
    parse_feed(
        b'<rss version="2.0"><channel><title>w</title><item><title>w</title></item>'
        b"</channel></rss>",
        {"content-type": "application/rss+xml"},
        "http://warm.invalid/",
    )


class _SharedPool(Executor):
    """A ParserPool's executor for other callers, created when they first submit work; its
    owner shuts it down (shutdown here is the base class's no-op)."""

    def __init__(self, owner: ParserPool) -> None:
        self._owner = owner

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return self._owner._ensure().submit(fn, *args, **kwargs)


class ParserPool:
    """Runs ``parse_and_normalize`` in worker processes so the event loop never blocks."""

    def __init__(
        self,
        executor: Executor | None = None,
        *,
        max_workers: int | None = None,
        mp_start_method: str = "spawn",
    ) -> None:
        self._executor = executor
        self._owns_executor = executor is None
        self._max_workers = max_workers
        self._start_method = mp_start_method

    def _ensure(self) -> Executor:
        if self._executor is None:
            # spawn: forking a process that already runs threads (aiohttp's resolver, the DB
            # driver) can deadlock the child. Not forkserver either: the fork server outlives
            # a SIGKILLed parent, and so would its workers (see _exit_with_parent).
            context = multiprocessing.get_context(self._start_method)
            self._executor = ProcessPoolExecutor(
                max_workers=self._max_workers,
                mp_context=context,
                initializer=_warm_up,
                initargs=(os.getpid(),),
            )
        return self._executor

    def executor(self) -> Executor:
        """The pool for other CPU-bound work of this process (extractive summaries): in a
        thread it would hold the GIL the event loop needs. Started on the first submit, so a
        process that never summarizes (gateway, sender) never starts it (even building a
        process pool starts multiprocessing's resource tracker process)."""
        return _SharedPool(self)

    def started(self) -> bool:
        """Whether the worker processes exist (started by a parse, a summary or start())."""
        executor = self._executor
        return executor is not None and bool(getattr(executor, "_processes", None))

    async def start(self) -> None:
        """Spawn every worker now, so process start-up never stalls a busy ingest later."""
        executor = self._ensure()
        workers = self._max_workers or int(getattr(executor, "_max_workers", 1) or 1)
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(executor, _warm_up) for _ in range(workers)))

    async def parse(
        self,
        body: bytes,
        headers: dict[str, str],
        url: str,
        fetched_at: datetime,
        *,
        keep_entries: bool = False,
        with_search: bool = False,
        unusable: frozenset[str] = frozenset(),
    ) -> ParseOutcome:
        loop = asyncio.get_running_loop()
        job = partial(
            parse_and_normalize,
            body,
            dict(headers),
            url,
            fetched_at,
            keep_entries,
            with_search,
            frozenset(unusable),
        )
        return await loop.run_in_executor(self._ensure(), job)

    def close(self, *, wait: bool = True) -> None:
        if self._executor is not None and self._owns_executor:
            self._executor.shutdown(wait=wait, cancel_futures=True)
        self._executor = None
