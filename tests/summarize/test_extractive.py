from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from bot.core.summarize import (
    Summary,
    SummaryInput,
    format_summary,
    is_boilerplate,
    split_sentences,
)
from bot.core.summarize.extractive import (
    ExtractiveConfig,
    ExtractiveSummarizer,
    summarize_extractive,
)
from tests.summarize.articles import (
    CENTRAL_LATE_ARTICLE,
    CENTRAL_LATE_TITLE,
    EN_ARTICLE,
    EN_TITLE,
    EN_URL,
    JA_ARTICLE,
    JA_TITLE,
    JA_URL,
    KO_ARTICLE,
    KO_TITLE,
    KO_URL,
)

STORIES = {
    "en": SummaryInput(EN_TITLE, EN_ARTICLE, EN_URL, "en"),
    "ko": SummaryInput(KO_TITLE, KO_ARTICLE, KO_URL, "ko"),
    "ja": SummaryInput(JA_TITLE, JA_ARTICLE, JA_URL, None),  # language unknown on purpose
}
BOILERPLATE_BITS = (
    "Continue reading",
    "Share this story",
    "appeared first on",
    "구독하기",
    "공유하기",
    "続きを読む",
    "シェア",
)


def _all_sentences(summary: Summary) -> list[str]:
    out = split_sentences(summary.lead)
    out += [s for b in summary.bullets for s in split_sentences(b)]
    if summary.takeaway:
        out.append(summary.takeaway)
    return out


@pytest.mark.parametrize("lang", sorted(STORIES))
async def test_shape_verbatim_and_clean(lang: str) -> None:
    story = STORIES[lang]
    summary = await ExtractiveSummarizer().summarize(story)
    assert summary.method == "extractive"
    assert summary.lead
    assert 2 <= len(summary.bullets) <= 4
    assert len(summary.sections) == 1
    # Every sentence is taken word for word from the article.
    for sentence in _all_sentences(summary):
        assert sentence in story.text, sentence
    # No sentence repeats between lead, points and takeaway.
    texts = [summary.lead, *summary.bullets, summary.takeaway or ""]
    assert len(set(texts)) == len(texts)
    for text in summary.texts():
        assert not is_boilerplate(text)
        assert not any(bit in text for bit in BOILERPLATE_BITS)
        assert "<" not in text and not re.search(r"&\w+;", text)
    rendered = format_summary(summary, limit=4096, escape=lambda s: s)
    assert 150 <= len(rendered) <= 1400


async def test_english_points_and_takeaway() -> None:
    summary = await ExtractiveSummarizer().summarize(STORIES["en"])
    assert summary.lead.startswith("Every millisecond at checkout")
    assert summary.takeaway is not None and summary.takeaway.startswith("The lesson:")
    assert any("regional cache" in b for b in summary.bullets)


async def test_key_points_are_not_the_first_sentences() -> None:
    story = SummaryInput(CENTRAL_LATE_TITLE, CENTRAL_LATE_ARTICLE, None, "en")
    config = ExtractiveConfig(with_takeaway=False, max_points=3)
    summary = summarize_extractive(story, config)
    sentences = split_sentences(CENTRAL_LATE_ARTICLE)
    central = sentences[-2]
    assert central.startswith("Finally the team agreed")
    assert central in summary.bullets
    lead_count = len(split_sentences(summary.lead))
    assert list(summary.bullets) != sentences[lead_count : lead_count + len(summary.bullets)]
    # Small talk shares nothing with the rest of the story and is not a key point.
    assert not any("sardines" in b or "pastries" in b for b in summary.bullets)


async def test_html_and_entities_never_reach_the_summary() -> None:
    text = (
        "<p>Our build farm moved to ARM runners &amp; saved 38% on compute costs.</p>\n"
        "<p>The migration took six weeks and touched 1,200 pipelines across the company.</p>\n"
        "<p>Flaky tests dropped because the new runners have more predictable I/O.</p>\n"
        "<p>Teams that pinned x86-only images needed help rebuilding them for ARM.</p>"
    )
    summary = await ExtractiveSummarizer().summarize(SummaryInput("ARM runners", text))
    for piece in summary.texts():
        assert "<" not in piece and "&amp;" not in piece
    assert "ARM runners & saved 38%" in summary.lead


async def test_tiny_and_empty_texts() -> None:
    one = await ExtractiveSummarizer().summarize(
        SummaryInput("Release notes", "Version 4.1 fixes a crash on startup.")
    )
    assert one.lead == "Version 4.1 fixes a crash on startup."
    assert one.sections == ()
    empty = await ExtractiveSummarizer().summarize(SummaryInput("Only a title", "   "))
    assert empty.lead == ""  # the card has the title already; no digest beats repeating it
    teaser = await ExtractiveSummarizer().summarize(
        SummaryInput("T", "A short teaser about storage engines […]\nRead more")
    )
    assert "Read more" not in teaser.lead


class _CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


async def test_runs_in_the_injected_executor() -> None:
    executor = _CountingExecutor()
    try:
        summary = await ExtractiveSummarizer(executor=executor).summarize(STORIES["en"])
    finally:
        executor.shutdown()
    assert executor.submitted == 1
    assert summary.bullets
