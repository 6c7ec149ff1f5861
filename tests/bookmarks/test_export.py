"""Exports: Markdown, JSON and the Netscape bookmark file, with hostile titles and URLs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from bot.core.bookmarks.export import (
    SavedBookmark,
    escape_markdown,
    safe_link,
    to_json,
    to_markdown,
    to_netscape_html,
)
from bot.core.bookmarks.service import BookmarkService
from bot.core.errors import UserInputError
from tests.bookmarks.conftest import ALICE, GUILD, World

EXPORTED = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
PUBLISHED = datetime(2026, 10, 1, 8, 30, tzinfo=UTC)
SAVED = datetime(2026, 11, 20, 12, 0, 5, tzinfo=UTC)

HOSTILE_TITLE = '<script>alert(1)</script>"><img src=x onerror=alert(2)> & [x](javascript:y) *b*'
QUOTED_URL = "https://example.com/a?q=\"x\"&b=<1>'y'"


def item(
    title: str = "Plain title",
    url: str | None = "https://example.com/p/1",
    *,
    story_id: int = 1,
    tags: tuple[str, ...] = (),
    note: str | None = None,
    source: str = "Netflix TechBlog",
) -> SavedBookmark:
    return SavedBookmark(
        story_id=story_id,
        title=title,
        url=url,
        source=source,
        source_key="netflix",
        published_at=PUBLISHED,
        bookmarked_at=SAVED,
        tags=tags,
        note=note,
    )


@dataclass
class Link:
    attrs: dict[str, str | None]
    title: str = ""
    note: str | None = None


@dataclass
class NetscapeReader(HTMLParser):
    """Reads a Netscape bookmark file back the way an importer does, tag by tag."""

    links: list[Link] = field(default_factory=list)
    start_tags: list[str] = field(default_factory=list)
    doctype: str = ""
    metas: list[dict[str, str | None]] = field(default_factory=list)
    _in: str | None = None

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.start_tags.append(tag)
        if tag == "meta":
            self.metas.append(dict(attrs))
        if tag == "a":
            self.links.append(Link(dict(attrs)))
            self._in = "a"
        elif tag == "dd":
            self.links[-1].note = ""
            self._in = "dd"
        else:
            self._in = None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "a":
            self.links[-1].title += data
        elif self._in == "dd":
            note = (self.links[-1].note or "") + data
            self.links[-1].note = note


def read_netscape(text: str) -> NetscapeReader:
    reader = NetscapeReader()
    reader.feed(text)
    reader.close()
    for link in reader.links:
        if link.note is not None:
            link.note = link.note.strip()
    return reader


# ---------------------------------------------------------------------------- Netscape HTML


def test_netscape_file_structure() -> None:
    html = to_netscape_html([item(tags=("k8s", "cost"), note="read me")], exported_at=EXPORTED)
    assert html.startswith("<!DOCTYPE NETSCAPE-Bookmark-file-1>\n")
    assert '<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">' in html
    assert "<DL><p>" in html
    assert (
        '<DT><A HREF="https://example.com/p/1" ADD_DATE="1795176005" TAGS="k8s,cost">'
        "Plain title</A>" in html
    )
    assert "<DD>read me" in html
    reader = read_netscape(html)
    assert reader.doctype == "DOCTYPE NETSCAPE-Bookmark-file-1"
    assert reader.metas == [{"http-equiv": "Content-Type", "content": "text/html; charset=UTF-8"}]
    assert int(SAVED.timestamp()) == 1795176005


def test_netscape_round_trips_titles_urls_tags_and_notes() -> None:
    items = [
        item(HOSTILE_TITLE, QUOTED_URL, story_id=1, tags=("c++", "c#"), note='a <b>"note"</b>'),
        item("쿠버네티스 비용 & 大規模データ", "https://example.com/ko?a=1&b=2", story_id=2),
        item("Multi\nline\ttitle", "http://example.com/x", story_id=3, note="line 1\nline 2"),
    ]
    reader = read_netscape(to_netscape_html(items, exported_at=EXPORTED))
    assert [link.title for link in reader.links] == [
        HOSTILE_TITLE,
        "쿠버네티스 비용 & 大規模データ",
        "Multi line title",
    ]
    assert [link.attrs["href"] for link in reader.links] == [
        QUOTED_URL,
        "https://example.com/ko?a=1&b=2",
        "http://example.com/x",
    ]
    assert reader.links[0].attrs["tags"] == "c++,c#"
    assert reader.links[0].attrs["add_date"] == str(int(SAVED.timestamp()))
    assert reader.links[0].note == 'a <b>"note"</b>'
    assert reader.links[2].note == "line 1 line 2"
    assert reader.links[1].note is None
    # Each link carries only the attributes we wrote: the quote in the title or URL did not
    # open a new attribute such as onerror=.
    assert all(set(link.attrs) <= {"href", "add_date", "tags"} for link in reader.links)


def test_hostile_title_cannot_inject_markup() -> None:
    html = to_netscape_html(
        [item(HOSTILE_TITLE, note="</A><script>x</script>")], exported_at=EXPORTED
    )
    reader = read_netscape(html)
    assert "script" not in reader.start_tags
    assert "img" not in reader.start_tags
    assert reader.start_tags.count("a") == 1
    assert "<script>" not in html and "<img" not in html


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "file:///etc/passwd",
        "//example.com/protocol-relative",
        "/relative/path",
        "https://",
        "https://exa mple.com/",
        "https://example.com/\nx",
        "",
        None,
    ],
)
def test_only_http_urls_become_links(url: str | None) -> None:
    assert safe_link(url) is None
    html = to_netscape_html([item("T", url)], exported_at=EXPORTED)
    reader = read_netscape(html)
    assert "href" not in reader.links[0].attrs
    assert reader.links[0].title == "T"
    md = to_markdown([item("T", url)], exported_at=EXPORTED)
    assert "## T\n" in md and "](" not in md


def test_tags_with_commas_cannot_split() -> None:
    reader = read_netscape(to_netscape_html([item(tags=("a,b", "c"))], exported_at=EXPORTED))
    assert reader.links[0].attrs["tags"] == "a b,c"


def test_empty_netscape_file_is_valid() -> None:
    reader = read_netscape(to_netscape_html([], exported_at=EXPORTED))
    assert reader.links == [] and reader.doctype


# ---------------------------------------------------------------------------- Markdown


def test_markdown_layout() -> None:
    md = to_markdown(
        [item(tags=("k8s", "cost"), note="Compare with\nour plan")], exported_at=EXPORTED
    )
    assert md.startswith("# techbrief bookmarks\n\nExported 2026-11-23 03:00 UTC · 1 bookmark\n")
    assert "## [Plain title](<https://example.com/p/1>)\n" in md
    assert "- Source: Netflix TechBlog\n" in md
    assert "- Published: 2026-10-01\n" in md
    assert "- Bookmarked: 2026-11-20\n" in md
    assert "- Tags: k8s, cost\n" in md
    assert "> Compare with\n> our plan\n" in md


def test_markdown_escapes_hostile_text() -> None:
    md = to_markdown(
        [item(HOSTILE_TITLE, QUOTED_URL, note="# not a heading\n- not a list\n<b>x</b>")],
        exported_at=EXPORTED,
    )
    # Every '<' in the file is backslash-escaped: no raw HTML can reach a renderer.
    assert re.search(r"(?<!\\)<(?!https://)", md) is None, md
    assert "\\[x\\](javascript:y)" in md
    assert "> \\# not a heading\n> \\- not a list\n" in md
    assert "(<https://example.com/a?q=\"x\"&b=%3C1%3E'y'>)" in md


def test_markdown_renders_hostile_title_as_text() -> None:
    markdown_it = pytest.importorskip("markdown_it")
    title = HOSTILE_TITLE + " _u_ `c` ~~s~~ | t |"
    md = to_markdown([item(title, "https://example.com/p?a=1&b=2")], exported_at=EXPORTED)
    rendered = markdown_it.MarkdownIt("commonmark", {"html": True}).render(md)
    reader = read_netscape(rendered)  # any HTML parser will do: collect the tags it made
    assert "script" not in reader.start_tags and "img" not in reader.start_tags
    assert [link.attrs["href"] for link in reader.links] == ["https://example.com/p?a=1&b=2"]
    assert reader.links[0].title == title  # shown literally, markup and all
    assert not {"em", "code", "strong", "s", "del"} & set(reader.start_tags)


def test_escape_markdown_line_starts() -> None:
    assert escape_markdown("1. x") == "1\\. x"
    assert escape_markdown("> quote") == "\\> quote"
    assert escape_markdown("plain-text 1.5") == "plain-text 1.5"


# ---------------------------------------------------------------------------- JSON


def test_json_fields() -> None:
    data = json.loads(
        to_json([item(HOSTILE_TITLE, QUOTED_URL, tags=("a", "b"), note="n"), item(note=None)])
    )
    assert data[0] == {
        "title": HOSTILE_TITLE,
        "url": QUOTED_URL,
        "source": "Netflix TechBlog",
        "published": "2026-10-01T08:30:00Z",
        "bookmarked_at": "2026-11-20T12:00:05Z",
        "tags": ["a", "b"],
        "note": "n",
    }
    assert data[1]["note"] == "" and data[1]["tags"] == []


def test_json_keeps_non_latin_text_readable() -> None:
    text = to_json([item("쿠버네티스 비용")])
    assert "쿠버네티스 비용" in text


# ---------------------------------------------------------------------------- via the service


async def test_service_exports_all_three_formats(service: BookmarkService, world: World) -> None:
    first = await world.story("First <saved>", url="https://example.com/1")
    second = await world.story(HOSTILE_TITLE, url=QUOTED_URL)
    await service.add(ALICE, first, guild_id=GUILD)
    await service.add(ALICE, second, guild_id=GUILD)
    await service.set_tags(ALICE, second, "security, xss")
    await service.set_note(ALICE, second, "hostile on purpose")

    name, data = await service.export(ALICE, "html")
    assert name.startswith("techbrief-bookmarks-") and name.endswith(".html")
    reader = read_netscape(data.decode("utf-8"))
    assert [(link.title, link.attrs["href"]) for link in reader.links] == [
        (HOSTILE_TITLE, QUOTED_URL),  # newest first
        ("First <saved>", "https://example.com/1"),
    ]
    assert reader.links[0].attrs["tags"] == "security,xss"
    assert reader.links[0].note == "hostile on purpose"
    assert "script" not in reader.start_tags

    name, data = await service.export(ALICE, "Markdown")
    assert name.endswith(".md")
    md = data.decode("utf-8")
    assert "## [First \\<saved\\>](<https://example.com/1>)" in md
    assert "- Tags: security, xss" in md and "> hostile on purpose" in md
    assert md.index("hostile on purpose") < md.index("First \\<saved\\>")

    name, data = await service.export(ALICE, "json")
    assert name.endswith(".json")
    rows = json.loads(data)
    assert [r["title"] for r in rows] == [HOSTILE_TITLE, "First <saved>"]
    assert rows[0]["tags"] == ["security", "xss"] and rows[0]["source"] == "Netflix TechBlog"
    assert rows[1]["bookmarked_at"] < rows[0]["bookmarked_at"]


async def test_export_unknown_format(service: BookmarkService) -> None:
    with pytest.raises(UserInputError, match="choose markdown, html"):
        await service.export(ALICE, "pdf")
