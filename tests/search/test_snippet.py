"""Snippets: short, around the match, bold, and safe to drop into a Discord message."""

from __future__ import annotations

import re

import pytest

from bot.core.search.snippet import make_snippet

BIDI_AND_CONTROL = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]"
)


def bold_pairs_balanced(snippet: str) -> bool:
    """Every ``**`` that is not escaped opens or closes a pair, and each pair holds text."""
    unescaped = re.sub(r"\\.", "", snippet)
    markers = unescaped.count("**")
    return markers % 2 == 0 and "****" not in unescaped


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
    assert "**needle**" in out and len(out) <= 80


def test_falls_back_to_later_texts_then_to_the_start() -> None:
    assert make_snippet(["no match", "here is cost"], ["cost"]) == "here is **cost**"
    assert make_snippet(["", "no match"], ["cost"]) == "no match"
    assert make_snippet(["", ""], ["x"]) == ""


def test_mentions_and_links_are_neutralised() -> None:
    out = make_snippet(["@everyone <@123> [x](http://a) # h > q | s ~ `c`"], ["zzz"])
    assert "@everyone" not in out and "<@123>" not in out
    assert "\\[x\\]\\(http" in out and "\\#" in out and "\\>" in out and "\\|" in out


def test_hostile_story_body() -> None:
    """Markdown, spoilers, mentions and a right-to-left override around and inside the match:
    balanced bold, nothing live, no bidi control, escapes from the one escaping module."""
    body = (
        "**Breaking** ||spoiler|| @everyone look <@123> and <@&456> \u202eevil\u202c "
        "**cost** cut by *half* @here **unclosed cost** ~~gone~~ `code` <#789> cost**"
    )
    out = make_snippet(["", body], ["cost"])
    assert bold_pairs_balanced(out)
    assert "**cost**" in out  # the matches are the only live bold
    assert re.sub(r"\\.", "", out).replace("**cost**", "").count("**") == 0
    for live in ("@everyone", "@here", "<@123>", "<@&456>", "<#789>", "||spoiler||"):
        assert live not in out
    assert not BIDI_AND_CONTROL.search(out)
    assert "\\|\\|spoiler\\|\\|" in out and "\\~\\~gone\\~\\~" in out


def test_match_inside_a_mention_stays_inert() -> None:
    out = make_snippet(["ping @everyone now <@123>"], ["everyone", "123"])
    assert "@everyone" not in out and "<@123>" not in out
    assert bold_pairs_balanced(out)


def test_pieces_next_to_a_match_are_not_line_starts() -> None:
    # Escaping each piece on its own would read " 2.5x" after the match as a numbered list
    # item at a line start and show a stray backslash ("\2.5x").
    assert make_snippet(["cost 2.5x lower - 40% > before"], ["cost"]) == (
        "**cost** 2.5x lower - 40% \\> before"
    )


@pytest.mark.parametrize("size", [40, 80, 120, 200])
def test_length_is_enforced_after_escaping_without_splitting_bold(size: int) -> None:
    # Every character escapes to two: the raw window alone would be twice the size.
    hostile = "*_|~`" * 20 + " cost " + "<>[]()" * 40 + " cost " + "#:" * 50
    out = make_snippet([hostile], ["cost"], size=size)
    assert 0 < len(out) <= size
    assert bold_pairs_balanced(out)
    assert not out.rstrip("…").endswith("\\") or out.rstrip("…").endswith("\\\\")


def test_a_long_clean_text_is_cut_to_size_on_a_word() -> None:
    text = "intro words " * 10 + "the cost of it " + "more words here " * 40
    out = make_snippet([text], ["cost"], size=100)
    assert len(out) <= 100 and "**cost**" in out and out.endswith("…")


def test_cjk_in_original_text() -> None:
    assert make_snippet(["쿠버네티스 비용을 줄였다"], ["비용"]) == "쿠버네티스 **비용**을 줄였다"
    assert make_snippet(["分散システムの設計"], ["システム"]) == "分散**システム**の設計"
