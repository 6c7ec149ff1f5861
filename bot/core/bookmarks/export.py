"""Bookmark exports: Markdown, JSON and the Netscape bookmark file browsers import.

Pure functions over plain data (no I/O, no ORM), so the formats are tested without a database.

Everything that ends up in an export came from a feed or from a person, so every piece of text
is treated as hostile: HTML-escaped in the Netscape file, backslash-escaped in Markdown, and
only ``http``/``https`` URLs ever become links (a ``javascript:`` or ``data:`` URL in a feed
must not turn into something a browser runs when the reader clicks it after an import).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bot.core.bookmarks.types import SavedBookmark

# C0 controls (except tab/newline) and DEL have no business in a title or note; some of them
# (NUL) even break parsers and importers downstream.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACE_RUN = re.compile(r"\s+")


def _clean(text: str | None) -> str:
    return _CONTROL.sub("", text or "")


def _one_line(text: str | None) -> str:
    """Collapse all whitespace: line-based importers and list items need a single line."""
    return _SPACE_RUN.sub(" ", _clean(text)).strip()


def safe_link(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL that is safe to put in an href, else None.

    Control characters and whitespace are refused rather than stripped: browsers silently
    drop tabs and newlines inside URLs, which is a classic way to smuggle ``java\\tscript:``
    past a naive scheme check.
    """
    if not url:
        return None
    candidate = url.strip()
    if not candidate or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:  # e.g. an invalid IPv6 literal
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    return candidate


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _display_title(item: SavedBookmark) -> str:
    return _one_line(item.title) or _one_line(item.url) or f"Story {item.story_id}"


# ---------------------------------------------------------------------------- Markdown

# Characters that start inline markup anywhere in a line (links, emphasis, code, raw HTML,
# entities, tables, strikethrough). Escaping them all keeps a hostile title plain text.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
# Constructs that only mean something at the start of a line (headings, lists, quotes, rules).
_MD_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+(?=[.)]))")


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker[0].isdigit():
        # "1." / "1)": digits cannot be escaped in CommonMark, so escape the punctuation that
        # follows them (the lookahead left it in place), which is all a list needs to break.
        return indent + marker + "\\"
    return indent + "\\" + marker


def escape_markdown(text: str) -> str:
    """Backslash-escape ``text`` so a CommonMark renderer shows it literally."""
    escaped = _MD_INLINE.sub(r"\\\1", text)
    return _MD_LINE_START.sub(_escape_line_start, escaped)


def _md_url(url: str) -> str:
    # Inside <...> a destination may hold anything except '<', '>' and line breaks; percent-
    # encoding them keeps the link pointing where it pointed (safe_link already refused spaces).
    return url.replace("<", "%3C").replace(">", "%3E")


def to_markdown(items: Sequence[SavedBookmark], *, exported_at: datetime) -> str:
    count = len(items)
    lines = [
        "# techbrief bookmarks",
        "",
        f"Exported {exported_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC · "
        f"{count} bookmark{'' if count == 1 else 's'}",
    ]
    for item in items:
        title = escape_markdown(_display_title(item))
        link = safe_link(item.url)
        heading = f"[{title}](<{_md_url(link)}>)" if link else title
        lines += ["", f"## {heading}", ""]
        if item.source:
            lines.append(f"- Source: {escape_markdown(_one_line(item.source))}")
        lines.append(f"- Published: {item.published_at.astimezone(UTC):%Y-%m-%d}")
        lines.append(f"- Bookmarked: {item.bookmarked_at.astimezone(UTC):%Y-%m-%d}")
        if item.tags:
            tags = ", ".join(escape_markdown(_one_line(tag)) for tag in item.tags)
            lines.append(f"- Tags: {tags}")
        note = _clean(item.note).strip()
        if note:
            lines.append("")
            # A block quote keeps the reader's line breaks; each line is escaped on its own
            # because line-start markup (headings, lists) is judged per line.
            lines += [f"> {escape_markdown(line)}".rstrip() for line in note.splitlines()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- JSON


def to_json_data(items: Sequence[SavedBookmark]) -> list[dict[str, object]]:
    return [
        {
            "title": _one_line(item.title),
            "url": item.url,
            "source": item.source,
            "published": _iso(item.published_at),
            "bookmarked_at": _iso(item.bookmarked_at),
            "tags": list(item.tags),
            "note": item.note or "",
        }
        for item in items
    ]


def to_json(items: Sequence[SavedBookmark]) -> str:
    # ensure_ascii=False: Korean and Japanese titles stay readable in the file (it is UTF-8).
    return json.dumps(to_json_data(items), ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------------------- Netscape HTML


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


def to_netscape_html(
    items: Sequence[SavedBookmark], *, exported_at: datetime, folder: str = "techbrief"
) -> str:
    """The Netscape bookmark file (``<!DOCTYPE NETSCAPE-Bookmark-file-1>``).

    Chrome, Firefox, Safari and Edge all import it. The bookmarks go into one folder so an
    import lands tidily instead of spilling over the reader's bookmarks bar.
    """
    stamp = int(exported_at.timestamp())
    out = [
        "<!DOCTYPE NETSCAPE-Bookmark-file-1>",
        "<!-- This is an automatically generated file.",
        "     It will be read and overwritten.",
        "     DO NOT EDIT! -->",
        '<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">',
        "<TITLE>Bookmarks</TITLE>",
        "<H1>Bookmarks</H1>",
        "<DL><p>",
        f'    <DT><H3 ADD_DATE="{stamp}" LAST_MODIFIED="{stamp}">{_attr(_one_line(folder))}</H3>',
        "    <DL><p>",
    ]
    for item in items:
        attrs = []
        link = safe_link(item.url)
        if link:
            attrs.append(f'HREF="{_attr(link)}"')
        attrs.append(f'ADD_DATE="{int(item.bookmarked_at.timestamp())}"')
        # TAGS is comma-separated, so a comma inside a tag would split it in two.
        tags = [t for t in (_one_line(tag).replace(",", " ").strip() for tag in item.tags) if t]
        if tags:
            attrs.append(f'TAGS="{_attr(",".join(tags))}"')
        out.append(f"        <DT><A {' '.join(attrs)}>{_attr(_display_title(item))}</A>")
        note = _one_line(item.note)
        if note:
            out.append(f"        <DD>{_attr(note)}")
    out += ["    </DL><p>", "</DL><p>"]
    return "\n".join(out) + "\n"
