from __future__ import annotations

import pytest

from bot.core.briefs import safetext as st


@pytest.mark.parametrize(
    ("raw", "must_not_contain"),
    [
        ("ping @everyone now", "@everyone"),
        ("hi @here", "@here"),
        ("<@123456789012345678> look", "<@123456789012345678>"),
        ("<@!123456789012345678>", "<@!123456789012345678>"),
        ("<@&987654321098765432> role", "<@&987654321098765432>"),
        ("<#111111111111111111>", "<#111111111111111111>"),
    ],
)
def test_mentions_are_neutralised(raw: str, must_not_contain: str) -> None:
    out = st.inert(raw)
    assert must_not_contain not in out
    assert st.ZWSP in out


def test_markdown_is_escaped() -> None:
    out = st.inert("**bold** _it_ `code` ||spoiler|| [link](https://evil.example) > quote")
    assert "**bold**" not in out and "||spoiler||" not in out
    assert "[link](https://evil.example)" not in out
    assert out.count("\\*") == 4


def test_line_start_markers_are_escaped() -> None:
    out = st.inert("# Heading\n- item\n> quote\n1. one")
    assert "\n- " not in out and not out.startswith("#")
    assert "\\# Heading" in out


def test_control_and_bidi_characters_removed() -> None:
    assert st.inert("abc\u202edef\x00") == "abcdef"


@pytest.mark.parametrize("limit", [1, 5, 10, 17, 40])
def test_truncate_respects_limit_and_word_boundaries(limit: int) -> None:
    text = "The quick brown fox jumps over the lazy dog near the river bank"
    out = st.truncate(text, limit)
    assert len(out) <= limit
    if limit >= 17:
        assert out.endswith(st.ELLIPSIS)
        assert out[:-1].rstrip() in text and text.startswith(out[:-1].rstrip())
        assert text[len(out[:-1].rstrip())] == " "  # cut at a word boundary


def test_truncate_keeps_short_text() -> None:
    assert st.truncate("short", 10) == "short"


def test_truncate_never_splits_an_escape() -> None:
    escaped = st.escape_markdown("a" * 8 + "*" * 10)
    for limit in range(3, len(escaped)):
        out = st.truncate(escaped, limit)
        body = out.removesuffix(st.ELLIPSIS)
        trailing = len(body) - len(body.rstrip("\\"))
        assert trailing % 2 == 0, (limit, out)


def test_truncate_cjk_without_spaces() -> None:
    text = "분산시스템에서일관성을보장하는방법" * 5
    out = st.truncate(text, 20)
    assert len(out) == 20 and out.endswith(st.ELLIPSIS)


def test_safe_line_flattens_and_bounds() -> None:
    out = st.safe_line("Title\nwith @everyone and *stars*" * 30, st.EMBED_TITLE)
    assert "\n" not in out and len(out) <= st.EMBED_TITLE and "@everyone" not in out
