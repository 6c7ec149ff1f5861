"""Only complete sentences become a lead, a key point or a takeaway (issue 15)."""

from __future__ import annotations

import pytest

from bot.core.summarize import Section, Summary, SummaryInput, digest_formatter, split_sentences
from bot.core.summarize.extractive import ExtractiveConfig, ExtractiveSummarizer
from bot.core.summarize.quality import (
    is_complete_sentence,
    keep_complete_sentences,
    rejection_reason,
    strip_byline,
)
from tests.summarize import sentence_rule_posts as posts

STORIES = {
    "code": SummaryInput(posts.CODE_TITLE, posts.CODE_HTML, None, "en"),
    "math": SummaryInput(posts.MATH_TITLE, posts.MATH_HTML, None, None),
    "byline": SummaryInput(posts.BYLINE_TITLE, posts.BYLINE_HTML, None, "en"),
    "ko": SummaryInput(posts.KO_TITLE, posts.KO_HTML, None, "ko"),
    "ja": SummaryInput(posts.JA_TITLE, posts.JA_HTML, None, "ja"),
}
# Pieces of each post that are not sentences; none may appear anywhere in a summary.
NEVER = (
    "$ ", "# make", "#include", "class Store", "Traceback", "ERROR", "FAILED", "O(lg N)",
    "x = H", "one for record data", "two files,", "27 records,", "has size", "Posted by",
    "Image credit", "Table of contents", "Contents:", "March 3, 2025", "Kumasi", "Figure 2",
    "Follow us", "Subscribe", "run:", "글:", "2025년", "목차", "그림 1", "다음과 같다:",
    "처리량의 관계", "구독", "執筆", "2025年", "目次", "調べました:", "図1", "シェア",
)  # fmt: skip


def _shown_sentences(summary: Summary) -> list[str]:
    out = split_sentences(summary.lead)
    out += list(summary.bullets)
    if summary.takeaway is not None:
        out.append(summary.takeaway)
    return out


@pytest.mark.parametrize("kind", sorted(STORIES))
async def test_every_shown_sentence_is_complete(kind: str) -> None:
    story = STORIES[kind]
    summary = await ExtractiveSummarizer().summarize(story)
    assert summary.lead
    assert summary.bullets, "each post has enough real sentences for key points"
    for sentence in _shown_sentences(summary):
        assert rejection_reason(sentence, story.language) is None, sentence
    for text in summary.texts():
        for bit in NEVER:
            assert bit not in text, (bit, text)


async def test_byline_is_cut_from_the_lead() -> None:
    summary = await ExtractiveSummarizer().summarize(STORIES["byline"])
    assert summary.lead.startswith("An accurate record of building footprints")


async def test_code_post_lead_and_points_are_prose() -> None:
    summary = await ExtractiveSummarizer().summarize(STORIES["code"])
    assert summary.lead.startswith("Our team replaced a slow embedded database")
    assert any("flushed before the index" in b or "180,000" in b for b in summary.bullets)


async def test_math_post_takeaway_is_not_a_fragment() -> None:
    summary = await ExtractiveSummarizer().summarize(STORIES["math"])
    assert summary.lead.startswith("A transparency log is an append-only list")
    if summary.takeaway is not None:
        assert summary.takeaway.endswith((".", "!", "?"))


async def test_cjk_posts_keep_their_real_sentences() -> None:
    ko = await ExtractiveSummarizer().summarize(STORIES["ko"])
    assert ko.lead.startswith("우리 팀은 하루 수십억 건의 로그")
    ja = await ExtractiveSummarizer().summarize(STORIES["ja"])
    assert ja.lead.startswith("私たちのCIは1回の実行に平均30分")


async def test_takeaway_is_omitted_when_no_late_sentence_qualifies() -> None:
    text = (
        "Our team moved the build farm to ARM runners and saved a third of the compute bill.\n"
        "The migration took six weeks and touched twelve hundred pipelines in the company.\n"
        "Flaky tests dropped because the new runners have more predictable disk latency.\n"
        "Teams that pinned x86 images needed help rebuilding their containers for ARM.\n"
        "The new runner pools are cheaper and faster for most of the jobs we run,\n"
        "cheaper and faster for most of the jobs that we run every single day\n"
        "Thanks to the platform team and everyone who helped us with the move,\n"
        "$ ./migrate --all --arch arm64\n"
        "Follow us on Mastodon for more.\n"
    )
    config = ExtractiveConfig(max_points=2)
    summary = await ExtractiveSummarizer(config).summarize(SummaryInput("ARM", text))
    assert summary.takeaway is None
    for sentence in _shown_sentences(summary):
        assert is_complete_sentence(sentence), sentence


async def test_tiny_text_of_fragments_gives_no_digest_rather_than_the_title_again() -> None:
    summary = await ExtractiveSummarizer().summarize(
        SummaryInput("Release 4.1", "one for record data and one for hashes\n$ make install")
    )
    assert summary.lead == "" and summary.bullets == ()
    # The card then shows the feed's own text (here none), never the title a second time.
    assert digest_formatter(summary.to_dict(), 1000) is None


REJECTED = {
    "shell prompt": "$ cmake --build build --target install.",
    "root prompt": "# apt-get install build-essential.",
    "python prompt": ">>> print(summarize(story)).",
    "user@host prompt": "dev@build-01:~$ make test",
    "code line": "std::vector<int> values = {1, 2, 3};",
    "include": "#include <fstream>",
    "python code": "def summarize(story: Story) -> Summary:",
    "traceback": "Traceback (most recent call last):",
    "stack frame": "at com.example.Foo.bar(Foo.java:42)",
    "log line": "ERROR 2024-05-02T10:11:12Z flush failed because the disk is full.",
    "exception": "ValueError: summary lead must be a string.",
    "big-O start": "O(lg N) allowing the client to verify that R is in the log.",
    "assignment": "x = y + 2",
    "formula sentence": "Then h = H(l || r) and p = h mod q for the root.",
    "latex": "The bound is \\frac{n}{2} for every tree we built.",
    "list fragment": "one for record data and one for hashes",
    "capitalised fragment": "Faster builds, smaller images and fewer flaky tests.",
    "caption": "Figure 2: Precision and recall by region in the new dataset.",
    "ends with colon": "To build it locally, run the following commands:",
    "ends with comma": "For example, the proof for record 13 in a log with 27 records,",
    "posted by": "Posted by John Quinn, Software Engineer, Google Research",
    "written by": "Written by Jane Doe and the platform team.",
    "by dot": "By Jane Doe · 5 min read",
    "photo by": "Photo by Alex Smith on Unsplash, used with permission.",
    "image colon": "Image: a diagram of the new cache layer in each region.",
    "image credit": "Image credit: Example Satellite Imaging, used with permission.",
    "date line": "March 3, 2025",
    "date line iso": "Published on 2025-03-04.",
    "toc": "Table of contents",
    "contents": "Contents: Background, Method, Results and what comes next.",
    "follow": "Follow us on Mastodon for more posts like this one.",
    "subscribe": "Subscribe to our newsletter for the latest engineering posts.",
    "lowercase start": "and then the cache was warmed before traffic arrived.",
    "no ending": "The cache was warmed before traffic arrived",
    "ellipsis": "The cache was warmed before traffic arrived…",
    "too short": "It works well.",
    "korean no ender": "배치 크기와 처리량의 관계",
    "korean colon": "원인은 다음과 같다:",
    "korean byline": "글: 김민수 | 데이터 플랫폼팀",
    "korean caption": "그림 1. 배치 크기에 따른 처리량",
    "korean toc": "목차",
    "japanese no ender": "ジョブ数と実行時間の関係",
    "japanese byline": "執筆: 山田太郎（基盤チーム）",
    "japanese caption": "図1 ジョブ数と実行時間の関係。",
    "japanese date": "2025年2月10日",
    "thanks credit": "Thanks to Ana Ruiz and Li Wei for their help with the benchmarks.",
    "contents label": "Contents:",
    "dash link list": "Jens Ohlig — Wikidata — Gordon and Betty Moore Foundation — WikiCon 2013.",
    "en dash list": "OpenDataCity – Offshore-Leaks – Paul Bradshaw – Crowdsourcing – DATA.gov.",
}


@pytest.mark.parametrize("kind", sorted(REJECTED))
def test_rejected_kinds(kind: str) -> None:
    text = REJECTED[kind]
    assert not is_complete_sentence(text, None), (kind, text)


ACCEPTED = (
    "The regional cache cut checkout p99 latency from 910 ms to 430 ms.",
    "Every write is flushed before the index is updated, so a crash never loses data.",
    "By default, the cache keeps entries for five minutes before it refreshes them.",
    "iOS 18 ships with a new background task scheduler for apps.",
    '"We never expected the cache to matter this much," said the team lead.',
    "2024 was the year our team moved every service to ARM runners.",
    "Google releases a new open model for code review today.",
    "Flaky tests dropped because the new runners have more predictable I/O.",
    "See https://docs.example.com/kv/v2.0.1/overview.html for the details of the design.",
    "Can a transparency log prove that a record was never removed?",
    "LTR models — unlike classification models — receive a whole list of items as input.",
    "We tried three stores — Redis, Memcached and a local map — before settling on one.",
    "A client recomputes the root from those hashes and compares it with the signed head.",
    "In this post, we explain how the payments team rebuilt the read path.",
    "Thanks to the new cache, checkout latency fell by half in every region.",
    "Contents of the cache are flushed to disk every minute by a background job.",
    "증분 색인 덕분에 처리하는 상품 수를 90% 줄였다(그림 2).",
    "우리 팀은 하루 수십억 건의 로그를 수집하는 파이프라인을 운영하고 있다.",
    "그래서 메시지를 묶어서 한 번에 쓰도록 수집기를 바꿨습니다.",
    "왜 이렇게 느렸을까요?",
    "テストの実行が全体の70%を占めており、その多くは互いに独立していました。",
    "これにより、実行時間は平均10分に短縮されました！",
)


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_sentences(text: str) -> None:
    assert rejection_reason(text) is None, text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Posted by John Quinn, Software Engineer, Google Research, Ghana An accurate record "
            "of building footprints is important.",
            "An accurate record of building footprints is important.",
        ),
        (
            "Posted by Ann Lee, Head of Platform We moved every service to ARM this year.",
            "We moved every service to ARM this year.",
        ),
        (
            "By Jane Doe · 5 min read · The team rebuilt the cache in three weeks.",
            "The team rebuilt the cache in three weeks.",
        ),
        (
            "March 3, 2025 The team rebuilt the cache in three weeks.",
            "The team rebuilt the cache in three weeks.",
        ),
        ("Posted by Jane Doe", ""),
        (
            "By default, the cache keeps entries for five minutes.",
            "By default, the cache keeps entries for five minutes.",
        ),
        (
            "The team rebuilt the cache in three weeks.",
            "The team rebuilt the cache in three weeks.",
        ),
    ],
)
def test_strip_byline(text: str, expected: str) -> None:
    assert strip_byline(text) == expected


def test_stored_extractive_rows_lose_their_fragments() -> None:
    stored = Summary(
        lead="Posted by John Quinn, Software Engineer, Google Research, Ghana An accurate record "
        "of building footprints is important for planning.",
        sections=(
            Section(
                None,
                (
                    "O(lg N) allowing the client to verify that R is in the log.",
                    "The proof consists of the sibling hashes on the path to the root.",
                ),
            ),
        ),
        takeaway="For example, the proof for record 13 in a log with 27 records,",
    )
    clean = keep_complete_sentences(stored)
    assert clean.lead == "An accurate record of building footprints is important for planning."
    assert clean.bullets == ("The proof consists of the sibling hashes on the path to the root.",)
    assert clean.takeaway is None
    rendered = digest_formatter(stored.to_dict(), 4096)
    assert rendered is not None
    assert (
        "Posted by" not in rendered and "O(lg N)" not in rendered and "27 records," not in rendered
    )


def test_stored_llm_rows_are_left_alone() -> None:
    stored = Summary(lead="Short lead", sections=(Section(None, ("a point",)),), method="llm")
    rendered = digest_formatter(stored.to_dict(), 4096)
    assert rendered is not None and "a point" in rendered
