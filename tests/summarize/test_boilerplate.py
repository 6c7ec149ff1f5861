from __future__ import annotations

import pytest

from bot.core.summarize import is_boilerplate, strip_boilerplate


@pytest.mark.parametrize(
    "line",
    [
        "Continue reading on Medium »",
        "Continue reading →",
        "Read the whole story",
        "Read more",
        "Share this story",
        "Share on LinkedIn",
        "Delete",
        "Download audio: https://cdn.example.com/ep12.mp3",
        "Originally published at https://blog.example.com on March 3, 2026.",
        "Scaling search was originally published in Example Tech on Medium, where people are "
        "continuing the conversation by highlighting and responding to this story.",
        "The post Scaling search appeared first on Example Engineering.",
        "We use cookies to improve your experience on our site.",
        "Accept all cookies",
        "Follow us on X and LinkedIn for more engineering stories.",
        "Subscribe to our newsletter to get posts like this in your inbox.",
        "Sign up for our weekly newsletter",
        "구독하기",
        "공유하기",
        "뉴스레터를 구독해 주세요.",
        "더 보기",
        "続きを読む",
        "この記事をシェアする",
        "はてなブックマークに追加",
        "Tags: kubernetes, cost",
        "Photo by Jane Doe on Unsplash",
    ],
)
def test_recognised(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "sentence",
    [
        "We rebuilt the subscription billing service to handle annual plans.",
        "구독 서비스의 결제 시스템을 새로 설계했다.",
        "The newsletter team migrated 40 million subscribers to the new mail pipeline, which "
        "took three months of careful planning across four regions and two vendors, and we "
        "learned a great deal about bounce handling, DKIM rotation and retry budgets along the "
        "way, which this post describes in detail for anyone running a similar system today.",
        "Readers can share feedback through the in-app form.",
    ],
)
def test_content_is_kept(sentence: str) -> None:
    assert not is_boilerplate(sentence)


def test_strip_keeps_content_and_drops_trailing_prompt() -> None:
    text = (
        "The new cache cut p99 latency by half. Continue reading on Medium »\n"
        "Share this story\n"
        "\n"
        "Rollout took three weeks.\n"
        "続きを読む"
    )
    assert (
        strip_boilerplate(text)
        == "The new cache cut p99 latency by half.\n\nRollout took three weeks."
    )
