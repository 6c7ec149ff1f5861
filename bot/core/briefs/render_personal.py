"""What a reader sees of their own things: search result pages, bookmark lists, confirmations.

The personal counterpart of :mod:`bot.core.briefs.render`, under the same rules (DESIGN invariants 6
and 10): pure and Discord-free, output is Discord API JSON (embeds as dicts, labels as str),
every piece of feed or user text enters through :mod:`bot.core.briefs.safetext`, every link through
:func:`bot.core.briefs.render.safe_url`, and every Discord limit is applied here, not in the cogs.

Two kinds of text are produced:

* markdown (embed descriptions, message content): hostile text is ``inert`` (escaped,
  mentions defused) *before* it is measured and cut;
* plain labels (autocomplete choices, button labels, select options): Discord shows these
  literally, so escaping would put visible backslashes on screen; they are only cleaned of
  control characters, flattened to one line and cut to their limit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.bookmarks import AddResult, BookmarkPage, SavedBookmark
from bot.core.briefs import safetext as st
from bot.core.briefs.render import BRAND, safe_url
from bot.core.i18n import N_, Messages
from bot.core.search import SearchHit, SearchPage

PER_PAGE = 5
SELECT_OPTIONS = 25  # Discord: at most 25 options in a select menu
SELECT_LABEL = 100
SELECT_DESCRIPTION = 100
TITLE_IN_LIST = 180  # a result title in a list line: long enough to read, short enough to scan
NOTE_IN_LIST = 200
# The search service's snippets are at most its snippet size (200 by default), escaped and
# bold included. One longer than this is left out, never cut: a cut could split a **pair**.
SNIPPET_IN_LIST = 400
SEARCH_COLOR = BRAND
BOOKMARK_COLOR = 0xF1C40F  # the bookmark ribbon's yellow: tells "yours" from search at a glance

# The (escaped) title text the brief renderer puts on story batch buttons: "3. Title…".
_NUMBERED = re.compile(r"^\d+\.\s+")
_UNESCAPE = re.compile(r"\\(.)")


# ---------------------------------------------------------------------------- plain labels


def plain_label(text: str | None, limit: int, *, fallback: str = "(untitled)") -> str:
    """Hostile text for a place Discord shows literally (choice, button, select option)."""
    flat = " ".join(st.clean_control(text or "").split())
    return st.truncate(flat, limit) if flat else fallback


def unescape_markdown(text: str) -> str:
    """Undo ``safetext.escape_markdown`` for a label: titles read back from a posted embed
    are escaped markdown, and a select option would otherwise show every backslash."""
    return _UNESCAPE.sub(r"\1", text)


def story_choice_name(title: str, source: str | None, published_at: datetime | None) -> str:
    """An autocomplete entry for a story: ``Title — Source · 2026-11-20`` in <= 100 chars.

    The title gets the room; source and date are cut first because the reader picks by title.
    """
    tail_parts = [p for p in (plain_label(source, 30, fallback=""),) if p]
    if published_at is not None:
        tail_parts.append(f"{published_at:%Y-%m-%d}")
    tail = " · ".join(tail_parts)
    room = st.CHOICE_NAME - (len(tail) + 3 if tail else 0)
    name = plain_label(title, room)
    return f"{name} — {tail}" if tail else name


def hit_choice_name(hit: SearchHit) -> str:
    return story_choice_name(hit.title, hit.source_name or hit.source_key, hit.published_at)


def bookmark_choice_name(item: SavedBookmark) -> str:
    return story_choice_name(item.title, item.source or item.source_key, item.published_at)


def tag_choice_name(tag: str, used: int) -> str:
    return plain_label(f"{tag} ({used})", st.CHOICE_NAME)


def source_choice_name(key: str, title: str | None) -> str:
    return plain_label(f"{key} — {title}" if title and title != key else key, st.CHOICE_NAME)


def _en(t: Messages | None) -> Messages:
    return t if t is not None else Messages.english()


def result_button_label(number: int, t: Messages | None = None) -> str:
    """A Bookmark button under a result list: short, so five fit in one row on a phone."""
    return st.truncate(_en(t).gettext("Bookmark {number}", number=number), st.BUTTON_LABEL)


@dataclass(frozen=True, slots=True)
class StoryOption:
    """One story a message holds, for the "Bookmark story" select menu."""

    story_id: int
    label: str  # <= 100, plain
    description: str | None = None  # <= 100, plain


def message_story_options(
    button_stories: Sequence[tuple[int, str | None]],
    embed_titles: Sequence[str | None],
) -> list[StoryOption]:
    """The stories of a posted brief/story message, titled, in the order they appear.

    ``button_stories`` are (story id, button label) of its Bookmark buttons; ``embed_titles``
    its embeds' titles. The brief renderer pairs embed *n* with button *n*, so when the counts
    agree the (full) embed title is used; otherwise the button label ("3. Title…"), else the id.
    Duplicates are dropped and at most 25 are kept (a select menu's limit; a batch has <= 10).
    """
    paired = len(embed_titles) == len(button_stories)
    seen: set[int] = set()
    options: list[StoryOption] = []
    for index, (story_id, label) in enumerate(button_stories):
        if story_id in seen:
            continue
        seen.add(story_id)
        title = embed_titles[index] if paired else None
        if title:
            text = unescape_markdown(title)
        elif label and _NUMBERED.match(label):
            text = unescape_markdown(_NUMBERED.sub("", label))  # made from the escaped title
        else:
            text = f"Story {story_id}"
        options.append(
            StoryOption(
                story_id=story_id,
                label=plain_label(f"{len(options) + 1}. {text}", SELECT_LABEL),
                description=f"Story id {story_id}",
            )
        )
        if len(options) == SELECT_OPTIONS:
            break
    return options


# ---------------------------------------------------------------------------- confirmations


def _linked_title(title: str, url: str | None, limit: int = TITLE_IN_LIST) -> str:
    text = st.safe_line(title, limit) or "(untitled)"
    link = safe_url(url)
    return f"[{text}]({link})" if link else text


def saved_text(result: AddResult, t: Messages | None = None) -> str:
    """Answer to a Bookmark click / `/bookmark add`: saved, or already there."""
    t = _en(t)
    b = result.bookmark
    title = _linked_title(b.title, b.url, 200)
    if not result.created:
        return t.gettext(
            "🔖 Already in your bookmarks: **{title}**\nSee them all with `/bookmarks`.",
            title=title,
        )
    return t.gettext(
        "🔖 Saved **{title}** to your bookmarks ({count:,} of {cap:,}).\n"
        "Add a note with `/bookmark note`, tags with `/bookmark tag`; only you can see them.",
        title=title,
        count=result.count,
        cap=result.cap,
    )


def saved_many_text(
    saved: Sequence[AddResult], failed: Sequence[str], t: Messages | None = None
) -> str:
    """Answer to picking several stories in the "Bookmark story" select menu."""
    t = _en(t)
    lines: list[str] = []
    for result in saved:
        b = result.bookmark
        title = _linked_title(b.title, b.url, 150)
        if result.created:
            lines.append(t.gettext("🔖 Saved: **{title}**", title=title))
        else:
            lines.append(t.gettext("🔖 Already saved: **{title}**", title=title))
    lines += [f"⚠️ {st.truncate(st.inert(reason), 300)}" for reason in failed]
    return _fit(lines, st.CONTENT, t)


def removed_text(item: SavedBookmark, t: Messages | None = None) -> str:
    return _en(t).gettext(
        "Removed **{title}** from your bookmarks.", title=_linked_title(item.title, item.url, 200)
    )


def note_text(item: SavedBookmark, t: Messages | None = None) -> str:
    t = _en(t)
    title = _linked_title(item.title, item.url, 200)
    if not item.note:
        return t.gettext("Removed the note from **{title}**.", title=title)
    note = st.truncate(st.inert(item.note), 1200)
    return t.gettext("Note on **{title}**:", title=title) + f"\n>>> {note}"


def tags_text(item: SavedBookmark, t: Messages | None = None) -> str:
    t = _en(t)
    title = _linked_title(item.title, item.url, 200)
    if not item.tags:
        return t.gettext("Removed all tags from **{title}**.", title=title)
    return t.gettext(
        "Tags on **{title}**: {tags}\nFilter by one with `/bookmarks tag:`.",
        title=title,
        tags=_tag_list(item.tags),
    )


EXPORT_KINDS = {
    "md": N_("Markdown"),
    "html": N_("a bookmarks file your browser can import (Bookmarks › Import)"),
    "json": N_("JSON"),
}


def export_text(filename: str, fmt: str, t: Messages | None = None) -> str:
    t = _en(t)
    kind = EXPORT_KINDS.get(filename.rsplit(".", 1)[-1])
    what = t.gettext(kind) if kind else st.safe_line(fmt, 20)
    return t.gettext(
        "Your bookmarks as {what}: `{filename}`", what=what, filename=st.safe_line(filename, 100)
    )


def _tag_list(tags: Sequence[str]) -> str:
    # Tags are validated to [\w+#.-] but still rendered inert: the rule is "escape everything".
    return " ".join(f"`{st.clean_control(t).replace('`', '')}`" for t in tags)


def _fit(lines: Sequence[str], limit: int, t: Messages | None = None) -> str:
    """Whole lines that fit in ``limit``, with a count of what was left out."""
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        tail = _en(t).gettext("…and {count} more", count=len(lines) - index)
        if used + len(line) + 1 + len(tail) > limit:
            out.append(tail)
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


# ---------------------------------------------------------------------------- pages


def _footer(page_no: int, pages: int | None, total_text: str, t: Messages) -> dict[str, str]:
    where = (
        t.gettext("Page {page} of {pages}", page=page_no, pages=pages)
        if pages
        else t.gettext("Page {page}", page=page_no)
    )
    return {"text": st.truncate(f"{where} · {total_text}", st.FOOTER)}


def _when(moment: datetime, style: str = "D") -> str:
    # A Discord timestamp: each reader sees it in their own time zone and language.
    return f"<t:{int(moment.timestamp())}:{style}>"


def search_pages(page: SearchPage, per_page: int = PER_PAGE) -> int | None:
    """How many pages the result has; None when the service only says "more than N"."""
    if page.total is None:
        return None
    return max(1, -(-page.total // per_page))


def search_embed(
    query: str,
    page: SearchPage,
    *,
    per_page: int = PER_PAGE,
    source: str | None = None,
    after: datetime | None = None,
    before: datetime | None = None,
    t: Messages | None = None,
) -> dict[str, Any]:
    """One page of `/search` results: numbered, linked titles, source, date, snippet.

    Snippets come from the search service already escaped, sized, with the matches in
    **bold**; they are shown as they are: never escaped twice, never cut (a cut could split
    a bold pair).
    """
    t = _en(t)
    filters = []
    if source:
        # Inside a code span markdown escapes would show as backslashes; only ` matters.
        shown = st.neutralize_mentions(plain_label(source, 40).replace("`", ""))
        filters.append(t.gettext("source `{key}`", key=shown))
    if after:
        filters.append(t.gettext("after {date}", date=after.strftime("%Y-%m-%d")))
    if before:
        filters.append(t.gettext("before {date}", date=before.strftime("%Y-%m-%d")))
    blocks: list[str] = []
    if filters:
        blocks.append(t.gettext("Filters: {filters}", filters=" · ".join(filters)))
    for number, hit in enumerate(page.hits, start=page.offset + 1):
        source_name = st.safe_line(hit.source_name or hit.source_key, 60)
        lines = [
            f"**{number}. {_linked_title(hit.title, hit.url)}**",
            f"{source_name} · {_when(hit.published_at)}",
        ]
        if hit.snippet and len(hit.snippet) <= SNIPPET_IN_LIST:
            lines.append(hit.snippet)
        blocks.append("\n".join(lines))
    if not page.hits:
        blocks.append(
            t.gettext("No stories match.")
            if page.offset == 0
            else t.gettext("No more results on this page: go back with **Previous**.")
        )
        if page.offset == 0:
            blocks.append(
                t.gettext(
                    "Try fewer or other words, drop a filter, or use the query language: "
                    '`"exact phrase"`, `-exclude`, `source:netflix`, `after:2026-10-01`, '
                    "`after:7d`."
                )
            )
    total_text = (
        t.gettext("more than 1,000 results (the newest are ranked)")
        if page.total is None
        else t.ngettext("{count:,} result", "{count:,} results", page.total, count=page.total)
    )
    page_no = page.offset // per_page + 1
    return {
        "type": "rich",
        "title": st.truncate(
            t.gettext("Search: {query}", query=st.safe_line(query, 200)), st.EMBED_TITLE
        ),
        "description": _fit(blocks, st.EMBED_DESCRIPTION, t),
        "color": SEARCH_COLOR,
        "footer": _footer(
            page_no,
            search_pages(page, per_page),
            total_text + " · " + t.gettext("only you see this"),
            t,
        ),
    }


def search_buttons(page: SearchPage, t: Messages | None = None) -> list[tuple[int, str]]:
    """(story id, label) of the Bookmark buttons under one result page, numbered like it."""
    return [
        (hit.story_id, result_button_label(number, t))
        for number, hit in enumerate(page.hits, start=page.offset + 1)
    ]


def bookmarks_embed(
    page: BookmarkPage,
    *,
    tag: str | None = None,
    query: str | None = None,
    t: Messages | None = None,
) -> dict[str, Any]:
    """One page of `/bookmarks`, newest first: title, source, dates, tags, note, story id."""
    t = _en(t)
    shown_tag = st.safe_line(tag, 40) if tag else ""
    shown_query = st.safe_line(query, 60) if query else ""
    if tag and query:
        heading = t.gettext(
            "Your bookmarks tagged {tag} matching “{query}”", tag=shown_tag, query=shown_query
        )
    elif tag:
        heading = t.gettext("Your bookmarks tagged {tag}", tag=shown_tag)
    elif query:
        heading = t.gettext("Your bookmarks matching “{query}”", query=shown_query)
    else:
        heading = t.gettext("Your bookmarks")
    blocks: list[str] = []
    for number, item in enumerate(page.items, start=page.offset + 1):
        source = st.safe_line(item.source or item.source_key or "", 60)
        saved = t.gettext("saved {when}", when=_when(item.bookmarked_at, "R"))
        meta = [p for p in (source, saved) if p]
        meta.append(f"id `{item.story_id}`")
        lines = [f"**{number}. {_linked_title(item.title, item.url)}**", " · ".join(meta)]
        if item.tags:
            lines.append(t.gettext("Tags: {tags}", tags=_tag_list(item.tags)))
        if item.note:
            # Notes may hold line breaks; one quoted line keeps the list readable.
            note = " ".join(st.clean_control(item.note).split())
            lines.append("> " + st.truncate(st.escape_markdown(note), NOTE_IN_LIST))
        blocks.append("\n".join(lines))
    if not page.items:
        if page.offset > 0:
            blocks.append(t.gettext("No more bookmarks on this page: go back with **Previous**."))
        elif tag or query:
            blocks.append(
                t.gettext(
                    "None of your bookmarks match. `/bookmarks` without options shows them all."
                )
            )
        else:
            blocks.append(
                t.gettext(
                    "You have no bookmarks yet. Save a story with its 🔖 **Bookmark** button, "
                    "the **Apps › Bookmark story** menu on a story message, `/bookmark add`, or "
                    "from `/search` results."
                )
            )
    total_text = (
        t.ngettext("{count:,} bookmark", "{count:,} bookmarks", page.total, count=page.total)
        + " · "
        + t.gettext("only you see these")
    )
    return {
        "type": "rich",
        "title": st.truncate(heading, st.EMBED_TITLE),
        "description": _fit(blocks, st.EMBED_DESCRIPTION, t),
        "color": BOOKMARK_COLOR,
        "footer": _footer(page.page, page.pages, total_text, t),
    }


def page_label(page_no: int, pages: int | None) -> str:
    """The (disabled) middle button of a paginator: "2/7", or "2" when the end is unknown."""
    return st.truncate(f"{page_no}/{pages}" if pages else f"{page_no}", st.BUTTON_LABEL)


SELECT_PROMPT = N_("This message has several stories. Pick the ones to bookmark:")
NO_STORY = N_(
    "That message holds no story I posted, so there is nothing to bookmark. Use **Apps › "
    "Bookmark story** on a story message (in a brief's thread, or a realtime post), or find the "
    "story with `/search` or `/bookmark add`."
)
