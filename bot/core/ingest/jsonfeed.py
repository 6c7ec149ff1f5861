"""JSON Feed 1.0 / 1.1 (https://jsonfeed.org) read with the standard library only."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any

from bot.core.errors import ParseError
from bot.core.ingest.media import kind_of, parse_duration
from bot.core.models import Media, ParsedEntry, ParsedFeed

_VERSION_PREFIX = "https://jsonfeed.org/version/"
_JSON_TYPES = ("application/feed+json", "application/json")


def looks_like_json_feed(body: bytes, content_type: str) -> bool:
    """JSON by declared type, or a document that starts like a JSON object."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in _JSON_TYPES or media_type.endswith("+json"):
        return True
    # No XML document starts with "{"; the version key may come after a long description
    # (and be written "https:\/\/jsonfeed.org"), so do not insist on seeing it here.
    return body[:64].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _date(value: Any) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _author(item: dict[str, Any], feed: dict[str, Any]) -> str | None:
    for source in (item, feed):
        authors = source.get("authors")
        if isinstance(authors, list):
            names = [_text(a.get("name")) for a in authors if isinstance(a, dict)]
            joined = ", ".join(n for n in names if n)
            if joined:
                return joined
        author = source.get("author")
        if isinstance(author, dict) and _text(author.get("name")):
            return _text(author.get("name"))
    return None


def _images(item: dict[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for key in ("image", "banner_image"):
        url = _text(item.get(key))
        if url:
            found.append(url)
    attachments = item.get("attachments")
    if isinstance(attachments, list):
        for attachment in attachments:
            if not isinstance(attachment, dict):
                continue
            mime = _text(attachment.get("mime_type")) or ""
            url = _text(attachment.get("url"))
            if url and mime.lower().startswith("image/"):
                found.append(url)
    return tuple(dict.fromkeys(found))


def _media(item: dict[str, Any]) -> Media | None:
    """The first audio or video attachment (JSON Feed's enclosure) as an episode."""
    attachments = item.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else ():
        if not isinstance(attachment, dict):
            continue
        mime = (_text(attachment.get("mime_type")) or "").lower()
        kind = kind_of(mime, "")
        if kind:
            duration = parse_duration(attachment.get("duration_in_seconds"))
            return Media(kind, duration, _text(attachment.get("url")))
    return None


def _entry(item: dict[str, Any], feed: dict[str, Any]) -> ParsedEntry:
    content_html = _text(item.get("content_html"))
    if content_html is None:
        content_plain = _text(item.get("content_text"))
        # Escaped so the HTML cleaner keeps "a < b" as text instead of reading a tag.
        content_html = html.escape(content_plain) if content_plain else None
    summary = _text(item.get("summary"))
    tags = item.get("tags")
    published = _date(item.get("date_published"))
    updated = _date(item.get("date_modified"))
    return ParsedEntry(
        guid=_text(item.get("id")),
        link=_text(item.get("url")) or _text(item.get("external_url")),
        title=_text(item.get("title")),
        summary_html=html.escape(summary) if summary else None,
        content_html=content_html,
        author=_author(item, feed),
        tags=tuple(t for t in (_text(x) for x in tags) if t) if isinstance(tags, list) else (),
        published=published or updated,
        updated=updated,
        image_urls=_images(item),
        media=_media(item),
    )


def parse_json_feed(body: bytes) -> ParsedFeed:
    """Parse a JSON Feed document; ParseError when it is not one."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ParseError(f"JSON feed is not valid UTF-8: {exc.reason}") from exc
    except RecursionError as exc:
        raise ParseError("JSON document is nested too deeply") from exc
    except ValueError as exc:
        raise ParseError(f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ParseError("JSON document is not a JSON Feed (top level is not an object)")
    version = _text(data.get("version")) or ""
    if not version.startswith(_VERSION_PREFIX):
        raise ParseError("JSON document is not a JSON Feed (no jsonfeed.org version)")
    items = data.get("items")
    if not isinstance(items, list):
        raise ParseError("JSON Feed has no items list")
    number = version[len(_VERSION_PREFIX) :].strip("/")
    return ParsedFeed(
        title=_text(data.get("title")),
        link=_text(data.get("home_page_url")),
        language=_text(data.get("language")),
        entries=tuple(_entry(item, data) for item in items if isinstance(item, dict)),
        ttl_minutes=None,
        format="json11" if number == "1.1" else "json10",
        bozo=None,
    )
