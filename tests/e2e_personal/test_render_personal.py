"""render_personal alone: Discord's limits and hostile text, without a bot."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.core.bookmarks import AddResult, BookmarkPage, SavedBookmark
from bot.core.briefs import render_personal as rp
from bot.core.briefs import safetext as st
from bot.core.briefs.render import embed_length
from bot.core.search import SearchHit, SearchPage
from bot.core.search.snippet import make_snippet

WHEN = datetime(2026, 11, 20, tzinfo=UTC)
HOSTILE = "@everyone <@123> **bold** [x](javascript:alert(1)) " + "ü" * 400


def saved(n: int, **kw: object) -> SavedBookmark:
    base: dict[str, object] = dict(
        story_id=n,
        title=f"{HOSTILE} {n}",
        url="javascript:alert(1)",
        source=HOSTILE,
        source_key="k",
        published_at=WHEN,
        bookmarked_at=WHEN,
        tags=("a", "b"),
        note=HOSTILE,
    )
    base.update(kw)
    return SavedBookmark(**base)  # type: ignore[arg-type]


def hit(n: int) -> SearchHit:
    return SearchHit(
        story_id=n,
        title=HOSTILE,
        url="https://e.com/a)b",
        source_key="k",
        source_name=HOSTILE,
        published_at=WHEN,
        snippet="x" * 5000,
        score=1.0,
    )


def assert_inert(text: str) -> None:
    assert "@everyone" not in text and "<@123>" not in text and "javascript:" not in text


def test_search_page_fits_and_is_inert() -> None:
    page = SearchPage(hits=[hit(n) for n in range(5)], total=None, offset=10)
    embed = rp.search_embed(HOSTILE, page, source=HOSTILE, after=WHEN)
    assert len(embed["description"]) <= st.EMBED_DESCRIPTION
    assert len(embed["title"]) <= st.EMBED_TITLE and embed_length(embed) <= st.EMBED_TOTAL
    assert_inert(embed["description"] + embed["title"])
    assert "(https://e.com/a%29b)" in embed["description"]  # ")" cannot end the link early
    assert "**11. " in embed["description"] and "Page 3 ·" in embed["footer"]["text"]
    assert rp.search_buttons(page)[0] == (0, "Bookmark 11")
    assert rp.search_pages(page) is None


def test_bookmark_page_fits_and_is_inert() -> None:
    page = BookmarkPage(items=tuple(saved(n) for n in range(5)), total=12, limit=5, offset=5)
    embed = rp.bookmarks_embed(page, tag="k8s", query=HOSTILE)
    assert len(embed["description"]) <= st.EMBED_DESCRIPTION and embed_length(embed) <= 6000
    assert_inert(embed["description"] + embed["title"])
    assert "Page 2 of 3" in embed["footer"]["text"] and "**6. " in embed["description"]


def test_labels_are_plain_and_short() -> None:
    name = rp.bookmark_choice_name(saved(1))
    assert len(name) <= st.CHOICE_NAME and name.endswith("2026-11-20") and "\\" not in name
    assert len(rp.hit_choice_name(hit(1))) <= st.CHOICE_NAME
    options = rp.message_story_options(
        [(1, "1. A \\*title\\*…"), (2, "Bookmark"), (1, "dup")], ["A \\*title\\*"]
    )
    assert [o.label for o in options] == ["1. A *title*…", "2. Story 2"]  # unpaired: labels
    paired = rp.message_story_options([(1, "x"), (2, "y")], ["A \\*t\\*", "B " + "x" * 300])
    assert paired[0].label == "1. A *t*" and len(paired[1].label) <= rp.SELECT_LABEL


def test_confirmations() -> None:
    result = AddResult(created=True, bookmark=saved(1), count=3, cap=5000)
    text = rp.saved_text(result)
    assert "3 of 5,000" in text and len(text) <= st.CONTENT
    assert_inert(text)
    again = rp.saved_text(AddResult(created=False, bookmark=saved(1), count=3, cap=5000))
    assert again.startswith("🔖 Already in your bookmarks")
    many = rp.saved_many_text([result] * 30, ["cap reached @everyone"])
    assert len(many) <= st.CONTENT and "more" in many
    assert_inert(rp.note_text(saved(1)))


def test_search_snippets_are_shown_whole_or_not_at_all() -> None:
    """The search service sizes its snippets; cutting one here could split a **bold** pair
    (the old 400-character truncate did: "…**cos…" left the rest of the result bold)."""
    text = "word " * 120 + "the cost of it " + "more " * 100
    made = make_snippet([text], ["cost"])
    assert len(made) <= rp.SNIPPET_IN_LIST and "**cost**" in made
    straddling = "a" * (rp.SNIPPET_IN_LIST - 4) + " **cost** and more"
    page = SearchPage(
        hits=[
            replace(hit(1), title="One", source_name="S", snippet=made),
            replace(hit(2), title="Two", source_name="S", snippet=straddling),
        ],
        total=2,
    )
    description = rp.search_embed("cost", page)["description"]
    assert made in description  # shown as the service made it
    assert "aaaa" not in description  # too long to show whole: left out, not cut
    assert description.count("**") % 2 == 0
