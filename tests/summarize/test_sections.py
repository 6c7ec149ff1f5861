"""Key points grouped under the article's own headings (issue 15: sections from structure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.ingest.normalize import normalize_entry, search_text_for
from bot.core.models import ParsedEntry
from bot.core.summarize import Summary, SummaryInput, format_summary
from bot.core.summarize.extractive import ExtractiveConfig, summarize_extractive
from bot.core.summarize.quality import rejection_reason
from bot.core.summarize.teaser import _marked_headings
from bot.core.text import HEADING_MARK, clean_html, without_headings
from tests.summarize import sectioned_posts as posts


def _feed_text(html: str) -> str:
    """What normalize stores as content_text: plain text with headings marked."""
    return clean_html(html, headings=True).text


def _summary(title: str, html: str, language: str, *, via_feed: bool = True) -> Summary:
    text = _feed_text(html) if via_feed else html
    return summarize_extractive(SummaryInput(title, text, None, language), ExtractiveConfig())


def test_clean_html_marks_headings_and_bold_paragraphs_only_when_asked() -> None:
    marked = _feed_text(posts.EN_HTML)
    assert f"{HEADING_MARK}Background" in marked.splitlines()
    assert f"{HEADING_MARK}Results:" in marked.splitlines()  # h3 too
    assert HEADING_MARK not in clean_html(posts.EN_HTML).text
    bold = _feed_text(posts.BOLD_HTML).splitlines()
    assert f"{HEADING_MARK}Caching the dependency graph" in bold
    assert f"{HEADING_MARK}Splitting the test suite" in bold
    # Bold words inside a sentence are emphasis, not a heading.
    assert not any(line.startswith(HEADING_MARK + "measuring") for line in bold)
    assert "We also learned that measuring every step" in without_headings("\n".join(bold))


@pytest.mark.parametrize("via_feed", [True, False], ids=["normalized", "stored-html"])
def test_english_post_points_sit_under_its_headings(via_feed: bool) -> None:
    summary = _summary(posts.EN_TITLE, posts.EN_HTML, "en", via_feed=via_feed)
    assert summary.lead.startswith("Our team rebuilt the ingestion pipeline")
    headings = [s.heading for s in summary.sections]
    # Article order, trailing colon dropped, at most four, never the acknowledgements.
    assert headings == [
        "Background",
        "Partitioning by tenant",
        "Results",
        "What we would do differently",
    ], headings
    assert all(1 <= len(s.bullets) <= 2 for s in summary.sections)
    results = next(s for s in summary.sections if s.heading == "Results")
    assert all(b in posts.EN_HTML for b in results.bullets)
    assert any("Consumer lag dropped" in b or "Costs fell" in b for b in results.bullets)
    # The concluding section gives the takeaway.
    assert summary.takeaway is not None
    assert summary.takeaway.startswith(("Partitioning by tenant was", "We recommend"))
    for text in summary.texts():
        assert "Thanks to" not in text and "kubectl" not in text and "Posted by" not in text
    for sentence in [*summary.bullets, summary.takeaway]:
        assert rejection_reason(sentence, "en") is None, sentence


def test_korean_post_sections_and_its_closing_section_as_takeaway() -> None:
    summary = _summary(posts.KO_TITLE, posts.KO_HTML, "ko")
    assert [s.heading for s in summary.sections] == ["배경", "설계", "결과"]
    assert summary.takeaway is not None and summary.takeaway in posts.KO_HTML
    assert "큐를 나누는" in summary.takeaway or "앞으로도" in summary.takeaway
    assert "마치며" not in [s.heading for s in summary.sections]


def test_japanese_post_sections_and_matome_as_takeaway() -> None:
    summary = _summary(posts.JA_TITLE, posts.JA_HTML, "ja")
    assert [s.heading for s in summary.sections] == ["課題", "解決策"]
    assert summary.takeaway is not None
    assert "差分更新" in summary.takeaway or "今後は" in summary.takeaway


def test_bold_paragraphs_act_as_headings() -> None:
    summary = _summary(posts.BOLD_TITLE, posts.BOLD_HTML, "en")
    assert [s.heading for s in summary.sections] == [
        "Caching the dependency graph",
        "Splitting the test suite",
    ]


def test_without_headings_lead_and_points_as_before() -> None:
    summary = _summary(posts.FLAT_TITLE, posts.FLAT_HTML, "en")
    assert len(summary.sections) == 1 and summary.sections[0].heading is None
    assert summary.sections[0].bullets


def test_one_heading_is_not_an_outline() -> None:
    html = posts.FLAT_HTML.replace("<p>A columnar", "<h2>Why columns</h2><p>A columnar")
    summary = _summary(posts.FLAT_TITLE, html, "en")
    assert [s.heading for s in summary.sections] == [None]


def test_the_digest_shows_headings_in_bold_and_escapes_them() -> None:
    html = posts.EN_HTML.replace("<h2>Background</h2>", "<h2>Back*ground* @everyone</h2>")
    summary = _summary(posts.EN_TITLE, html, "en")
    digest = format_summary(summary, limit=4096, escape=lambda t: t.replace("*", "\\*"))
    assert "**Back\\*ground\\* @everyone**" in digest, digest
    assert "**Partitioning by tenant**" in digest


def test_markers_never_reach_search_or_the_shown_summary() -> None:
    entry = ParsedEntry(
        guid=None,
        link="https://blog.test/pipeline",
        title=posts.EN_TITLE,
        summary_html=posts.EN_HTML,
        content_html=posts.EN_HTML,
        author=None,
    )
    story = normalize_entry(entry, base=None, fetched_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert f"{HEADING_MARK}Background" in story.content_text
    assert "##" not in story.summary
    _title, body = search_text_for(story)
    assert "##" not in body


def test_teaser_pages_keep_their_headings() -> None:
    text = "# Page title\n\nIntro with **bold** words.\n\n## Background\n\n**Results**\n\nDone."
    assert _marked_headings(text).splitlines() == [
        "Intro with bold words.",
        "",
        f"{HEADING_MARK}Background",
        "",
        f"{HEADING_MARK}Results",
        "",
        "Done.",
    ]


def test_a_heading_that_repeats_the_title_starts_no_section() -> None:
    # Medium posts open with the title again as an h3 before the first real section.
    html = f"<h3>{posts.EN_TITLE}</h3>" + posts.EN_HTML.replace(
        "<h2>",
        "<p>Ingestion at our scale means billions of events that land in the pipeline "
        "every day. The pipeline partitions those events before any consumer reads them. "
        "Every tenant gets its own partition so that a noisy tenant slows nobody else "
        "down.</p><h2>",
        1,
    )
    summary = _summary(posts.EN_TITLE, html, "en")
    headings = [s.heading for s in summary.sections]
    assert posts.EN_TITLE not in headings and "Background" in headings, headings
