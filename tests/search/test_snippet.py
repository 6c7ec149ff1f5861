"""Snippets: short, around the match, bold, and safe to drop into a Discord message."""

from __future__ import annotations

from bot.core.search.snippet import escape_markdown, make_snippet


def test_bold_match_in_escaped_text() -> None:
    assert make_snippet(["Use *stars* and _under_ for cost"], ["cost"]) == (
        "Use \\*stars\\* and \\_under\\_ for **cost**"
    )


def test_whole_words_only_for_spaced_scripts() -> None:
    assert make_snippet(["costly cost"], ["cost"]) == "costly **cost**"


def test_case_and_accent_insensitive_but_original_shown() -> None:
    assert make_snippet(["Meet at the Café"], ["cafe"]) == "Meet at the **Café**"


def test_phrase_highlighted_as_one() -> None:
    assert make_snippet(["we cut Kubernetes  cost"], ["kubernetes cost"]) == (
        "we cut **Kubernetes cost**"
    )


def test_window_around_a_late_match_with_ellipses() -> None:
    text = "filler " * 100 + "the needle is here " + "tail " * 100
    out = make_snippet([text], ["needle"], size=80)
    assert out.startswith("…") and out.endswith("…")
    assert "**needle**" in out and len(out) < 120


def test_falls_back_to_later_texts_then_to_the_start() -> None:
    assert make_snippet(["no match", "here is cost"], ["cost"]) == "here is **cost**"
    assert make_snippet(["", "no match"], ["cost"]) == "no match"
    assert make_snippet(["", ""], ["x"]) == ""


def test_mentions_and_links_are_neutralised() -> None:
    out = escape_markdown("@everyone <@123> [x](http://a) # h > q | s ~ `c`")
    assert "@everyone" not in out and "<@123>" not in out
    assert "\\[x\\]\\(http" in out and "\\#" in out and "\\>" in out and "\\|" in out


def test_cjk_in_original_text() -> None:
    assert make_snippet(["쿠버네티스 비용을 줄였다"], ["비용"]) == "쿠버네티스 **비용**을 줄였다"
    assert make_snippet(["分散システムの設計"], ["システム"]) == "分散**システム**の設計"
