"""The renderer owns Discord's limits: whatever the input, payloads stay within them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.briefs import Filters, StoryView, build_brief, render, render_admin
from bot.core.briefs import safetext as st

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def story(n: int, title: str = "Title", summary: str = "Summary.", **kw: object) -> StoryView:
    args: dict[str, object] = {
        "id": n,
        "source_key": "netflix",
        "source_name": "Netflix TechBlog",
        "source_color": 0xE50914,
        "title": title,
        "url": f"https://example.com/{n}",
        "author": "Jane",
        "published_at": NOW,
        "summary": summary,
    }
    args.update(kw)
    return StoryView(**args)  # type: ignore[arg-type]


def test_batches_respect_ten_embeds_and_six_thousand_characters() -> None:
    long = "word " * 2000
    stories = [story(n, title="T" * 400, summary=long) for n in range(23)]
    batches = render.story_batches(stories, "Europe/Berlin", description_limit=4096)
    assert sum(len(b.embeds) for b in batches) == 23
    for batch in batches:
        assert len(batch.embeds) <= st.EMBEDS_PER_MESSAGE
        assert sum(render.embed_length(e) for e in batch.embeds) <= st.EMBED_TOTAL
        assert all(len(e["title"]) <= st.EMBED_TITLE for e in batch.embeds)
        buttons = [c for row in batch.components for c in row["components"]]
        assert len(buttons) == len(batch.embeds)
        assert all(len(b["label"]) <= st.BUTTON_LABEL for b in buttons)


def test_button_labels_are_plain_text() -> None:
    (batch,) = render.story_batches([story(1, title="Rust: why (and how) we #migrated")], "UTC")
    label = batch.components[0]["components"][0]["label"]
    assert label == "1. Rust: why (and how) we #migrated"


def test_hostile_story_is_inert() -> None:
    evil = story(
        1,
        title="@everyone [click](https://evil.example) **now**",
        summary="<@123456789012345678> hi @here",
        author="\u202eevil",
        url="javascript:alert(1)",
        image_url="data:image/png;base64,xx",
    )
    embed = render.story_embed(evil, "UTC")
    text = str(embed)
    assert "@everyone" not in text and "@here" not in text and "<@123456789012345678>" not in text
    assert "url" not in embed and "thumbnail" not in embed
    assert "\u202e" not in embed["footer"]["text"]


def test_header_fits_and_counts_the_rest() -> None:
    stories = [story(n, title=f"A rather long title number {n} " * 3) for n in range(300)]
    brief = build_brief(stories, filters=Filters(), at_local=NOW, per_source_cap=300)
    header = render.brief_header(brief, "UTC")
    description = header.embeds[0]["description"]
    assert len(description) <= st.EMBED_DESCRIPTION
    assert description.endswith("more")


@dataclass
class Status:
    channel_id: int
    mode: str = "brief"
    timezone: str = "Europe/Berlin"
    brief_time: str = "09:00"
    sources: tuple[str, ...] = tuple(f"source-{n}" for n in range(30))
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    next_brief_at: datetime | None = NOW
    waiting: int = 3
    paused_reason: str | None = None


def test_status_embed_stays_within_six_thousand_characters() -> None:
    embed = render_admin.status_embed([Status(n) for n in range(40)], [], NOW)
    assert render.embed_length(embed) <= st.EMBED_TOTAL
    assert len(embed["fields"]) <= st.FIELDS
    assert "more configured channels" in embed["fields"][-1]["value"]


def test_header_lines_name_sources_and_hint_their_keys() -> None:
    stories = [
        story(n, title=f"Post {n}", source_key="fresh-eng-blog", source_name="Fresh Eng Blog")
        for n in range(4)
    ]
    brief = build_brief(stories, filters=Filters(), at_local=NOW, per_source_cap=2)
    description = render.brief_header(brief, "UTC").embeds[0]["description"]
    lines = description.splitlines()
    assert lines[0].startswith("**Fresh Eng Blog** · [Post ")
    assert lines[-1] == ("**Fresh Eng Blog** · …and 2 more: `/search query:source:fresh-eng-blog`")
    assert not any(line.startswith("**fresh-eng-blog**") for line in lines)
