from __future__ import annotations

import pytest

from bot.core.summarize import Section, Summary, format_summary


def _escape(text: str) -> str:
    # The shape of a Discord markdown escaper: it can make text longer.
    for ch in "\\*_~`|>":
        text = text.replace(ch, "\\" + ch)
    return text


SUMMARY = Summary(
    lead="Netflix rebuilt its *feature store* for faster training. It now serves 2x the load.",
    sections=(
        Section("Design", ("Features are computed once and shared.", "Writes are batched.")),
        Section(None, ("Reads come from a regional cache.", "Backfills run off-peak.")),
    ),
    takeaway="Share features across teams before scaling hardware.",
    method="llm",
)


def test_full_rendering() -> None:
    text = format_summary(SUMMARY, limit=4096, escape=_escape)
    assert text == (
        "Netflix rebuilt its \\*feature store\\* for faster training. It now serves 2x the load."
        "\n\n**Design**\n• Features are computed once and shared.\n• Writes are batched."
        "\n\n• Reads come from a regional cache.\n• Backfills run off-peak."
        "\n\n**Takeaway:** Share features across teams before scaling hardware."
    )


@pytest.mark.parametrize("limit", [4096, 300, 250, 200, 150, 100, 60, 20, 5])
def test_always_within_limit(limit: int) -> None:
    text = format_summary(SUMMARY, limit=limit, escape=_escape)
    assert 0 < len(text) <= limit


def test_drops_whole_bullets_before_cutting() -> None:
    full = format_summary(SUMMARY, limit=4096, escape=_escape)
    text = format_summary(SUMMARY, limit=len(full) - 5, escape=_escape)
    assert "Backfills run off-peak." not in text
    assert "Takeaway:" in text  # the takeaway outlives later bullets
    assert not text.endswith("…")
    # Every bullet that remains is whole.
    for line in text.splitlines():
        if line.startswith("• "):
            assert line.endswith(".")


def test_drops_takeaway_then_lead_sentences_then_cuts_words() -> None:
    text = format_summary(SUMMARY, limit=130, escape=_escape)
    assert "Takeaway" not in text and text.count("• ") <= 1
    first = format_summary(SUMMARY, limit=70, escape=_escape)
    assert first == "Netflix rebuilt its \\*feature store\\* for faster training."
    cut = format_summary(SUMMARY, limit=40, escape=_escape)
    assert cut.endswith("…") and len(cut) <= 40
    assert cut[:-1] in first and not cut[:-1].endswith(" ")
    assert first[len(cut) - 1] == " "  # the cut fell between words


def test_cjk_lead_is_cut_with_ellipsis() -> None:
    summary = Summary(
        lead="検索インデックスの作成時間を六時間から四十分に短縮しました。", sections=()
    )
    text = format_summary(summary, limit=15, escape=_escape)
    assert len(text) <= 15 and text.endswith("…")
