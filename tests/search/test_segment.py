"""searchable_text: what both backends index, so it decides what can be found."""

from __future__ import annotations

import pytest

from bot.core.search.segment import searchable_text, tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kubernetes Cost", "kubernetes cost"),
        ("node.js, C++ & k8s_v2!", "node js c k8s v2"),
        ("Café naïve Ünïcode", "cafe naive unicode"),
        ("ＡＢＣ１２３", "abc123"),  # full-width forms (NFKC)
        ("ﬁle", "file"),  # ligature
        ("Straße", "strasse"),  # case folding, not just lower()
        ("쿠버네티스 비용", "쿠버 버네 네티 티스 비용"),
        ("비용을", "비용 용을"),  # a particle glued on still leaves the 비용 bigram
        ("分散システムの設計", "分散 散シ シス ステ テム ムの の設 設計"),
        ("国 a 家", "国 a 家"),  # one-character runs stay single characters
        ("AWS비용", "aws 비용"),  # script boundary splits
        ("", ""),
        ("*** --- !!!", ""),
    ],
)
def test_searchable_text(text: str, expected: str) -> None:
    assert searchable_text(text) == expected


def test_query_and_document_agree() -> None:
    # A word typed alone yields tokens that appear, in order, in the text it came from.
    doc = tokens("쿠버네티스 비용 최적화를 위한 가이드")
    word = tokens("최적화")
    assert any(doc[i : i + len(word)] == word for i in range(len(doc)))


def test_output_is_capped_on_a_token_boundary() -> None:
    out = searchable_text("word " * 1000, max_chars=52)
    assert out == " ".join(["word"] * 10)


def test_absurdly_long_tokens_are_dropped() -> None:
    assert searchable_text("a" * 65 + " ok") == "ok"
    assert searchable_text("é" + "a" * 64 + " ok") == "ok"
