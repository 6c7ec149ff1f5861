from __future__ import annotations

import pytest

from bot.core.summarize import split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Kim joined the U.S. Army in 2019. She now leads the platform team.",
            ["Dr. Kim joined the U.S. Army in 2019.", "She now leads the platform team."],
        ),
        (
            "Pick a store, e.g. Redis or Memcached, and measure. Then decide, i.e. commit.",
            ["Pick a store, e.g. Redis or Memcached, and measure.", "Then decide, i.e. commit."],
        ),
        (
            "Python 3.14 is faster than 3.12 by 7.5%. We upgraded to v2.0.1 last week.",
            ["Python 3.14 is faster than 3.12 by 7.5%.", "We upgraded to v2.0.1 last week."],
        ),
        (
            "Read https://docs.example.com/v1.2/guide.html?x=1.5 for details. It helps.",
            ["Read https://docs.example.com/v1.2/guide.html?x=1.5 for details.", "It helps."],
        ),
        (
            "Mail ops.team@example.co.uk now. Or ask Mr. Lee vs. Ms. Park.",
            ["Mail ops.team@example.co.uk now.", "Or ask Mr. Lee vs. Ms. Park."],
        ),
        (
            "Acme Inc. announced it. The deal closed, etc. The rest is history.",
            ["Acme Inc. announced it.", "The deal closed, etc.", "The rest is history."],
        ),
        (
            'He said "it works." Then the pager rang (again.) Nobody slept.',
            ['He said "it works."', "Then the pager rang (again.)", "Nobody slept."],
        ),
        (
            "We waited... And waited. Was it DNS? It was always DNS!",
            ["We waited...", "And waited.", "Was it DNS?", "It was always DNS!"],
        ),
        (
            "Each request took 38 ms. The cache took 2 ms. See Fig. 3 for details.",
            ["Each request took 38 ms.", "The cache took 2 ms.", "See Fig. 3 for details."],
        ),
        (
            "1. Install the agent. 2. Restart the node.",
            ["1. Install the agent.", "2. Restart the node."],
        ),
        (
            "The team shipped it. iOS builds followed.",
            ["The team shipped it.", "iOS builds followed."],
        ),
    ],
)
def test_english(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_never_splits_inside_url_email_or_decimal() -> None:
    text = (
        "Our endpoint is https://api.example.com/v2.1/items?limit=10&sort=desc. "
        "Write to first.last@mail.example.org. Latency fell 12.75 ms. Node.js 20.11.1 is fine."
    )
    sentences = split_sentences(text)
    joined = "\n".join(sentences)
    assert "https://api.example.com/v2.1/items?limit=10&sort=desc" in joined
    assert any("first.last@mail.example.org" in s for s in sentences)
    assert any("12.75 ms" in s for s in sentences)
    assert any("Node.js 20.11.1" in s for s in sentences)
    assert len(sentences) == 4


def test_each_line_is_a_unit_and_sentences_are_substrings() -> None:
    text = "Heading without a period\nFirst sentence here. Second one!\n\n  Third?  "
    sentences = split_sentences(text)
    assert sentences == [
        "Heading without a period",
        "First sentence here.",
        "Second one!",
        "Third?",
    ]
    assert all(s in text for s in sentences)


def test_korean() -> None:
    text = "오늘 새 버전을 배포했다. 장애는 없었어요. 다음 주에는 v3.2를 준비한다! 괜찮을까요?"
    assert split_sentences(text) == [
        "오늘 새 버전을 배포했다.",
        "장애는 없었어요.",
        "다음 주에는 v3.2를 준비한다!",
        "괜찮을까요?",
    ]


def test_japanese_and_chinese() -> None:
    assert split_sentences(
        "本日リリースしました。速度は２倍です！本当？「完了。」と彼は言った。"
    ) == [
        "本日リリースしました。",
        "速度は２倍です！",
        "本当？",
        "「完了。」と彼は言った。",
    ]
    assert split_sentences("円周率は３．１４です．次に進みます") == [
        "円周率は３．１４です．",
        "次に進みます",
    ]
    assert split_sentences("我们发布了新版本。性能提升了30%！你觉得呢？") == [
        "我们发布了新版本。",
        "性能提升了30%！",
        "你觉得呢？",
    ]


def test_empty() -> None:
    assert split_sentences("") == []
    assert split_sentences("   \n\n ") == []
