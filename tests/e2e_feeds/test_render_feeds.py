"""The /feed renderers against Discord's limits, with hostile feed text (pure, no bot)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.core.briefs import render
from bot.core.briefs import safetext as st
from bot.core.ingest.types import AddedFeed, FeedRow, RemovedFeed

NOW = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
HOSTILE = "@everyone **pwn** <@123> [x](https://evil.test) `code` " * 40


def feed(n: int, **kw: object) -> FeedRow:
    row = FeedRow(
        id=n,
        key=f"feed-{n}",
        url=f"https://blog{n}.test/feed.xml",
        title=f"Blog {n}",
        site_url=None,
        language=None,
        origin="custom",
        added_by_guild_id=1,
        active=True,
        etag=None,
        last_modified=None,
        body_hash=None,
        next_check_at=NOW + timedelta(hours=1),
        last_checked_at=NOW,
        last_success_at=NOW - timedelta(days=1),
        last_status=200,
        error_count=0,
        last_error=None,
        gone=False,
    )
    return replace(row, **kw)  # type: ignore[arg-type]


def test_status_embed_stays_within_limits_with_many_hostile_failures() -> None:
    rows = [feed(n, title=HOSTILE, last_error=HOSTILE, error_count=n + 1) for n in range(40)]
    embed = render.feed_status_embed(rows, NOW)
    assert render.embed_length(embed) <= st.EMBED_TOTAL
    assert len(embed["fields"]) <= st.FIELDS
    for f in embed["fields"]:
        assert len(f["name"]) <= st.FIELD_NAME and len(f["value"]) <= st.FIELD_VALUE
        assert "@everyone" not in f["value"] and "<@123>" not in f["value"]
    shown = len(embed["fields"]) - 1
    assert embed["fields"][-1]["value"] == f"…and {40 - shown} more failing or slow feeds."
    assert embed["description"] == "**0 feeds OK** · 40 failing · 0 slow"


def test_status_kinds_of_trouble() -> None:
    rows = [
        feed(1),
        feed(2, last_error="The site asked us to slow down", last_status=429),  # backpressure
        feed(3, error_count=2, gone=True, last_error="HTTP 410"),
        feed(4, next_check_at=NOW - timedelta(hours=2)),
    ]
    embed = render.feed_status_embed(rows, NOW)
    assert embed["description"] == "**1 feed OK** · 1 failing · 2 slow"
    names = [f["name"] for f in embed["fields"]]
    assert names == ["🐢 feed-2", "⛔ feed-3", "🐢 feed-4"]
    assert "gone (HTTP 410)" in embed["fields"][1]["value"]
    assert render.feed_status_embed([], NOW)["description"].startswith("No feeds yet")


def test_added_text_fits_and_never_cuts_a_link() -> None:
    long_url = "https://blog.test/" + "a" * 1980
    added = AddedFeed(
        key="blog-test",
        title=HOSTILE,
        url="https://blog.test/feed",
        stories=1,
        latest_title=HOSTILE,
        latest_url=long_url,
    )
    text = render.feed_added_text(added, channel_id=42)
    assert len(text) <= st.CONTENT
    assert "](<" not in text  # the over-long link was dropped whole, not cut
    assert "@everyone" not in text and "<#42>" in text and "1 existing story" in text
    short = replace(added, title="Blog", latest_title="Post", latest_url="javascript:alert(1)")
    assert "Latest: Post" in render.feed_added_text(short)  # no link for a non-http URL


def test_removed_text_escapes_the_title() -> None:
    text = render.feed_removed_text(RemovedFeed(key="k", title="**x** @here"))
    assert "\\*\\*x\\*\\*" in text and "@here" not in text and "no longer follows" in text


def test_choices_are_capped_and_matched_on_key_or_title() -> None:
    rows = [feed(n, title=f"Title {n} " + "y" * 300) for n in range(40)]
    choices = render.feed_choices(rows, "")
    assert len(choices) == st.CHOICES
    assert all(len(name) <= st.CHOICE_NAME and len(k) <= st.CHOICE_VALUE for name, k in choices)
    assert [key for _, key in render.feed_choices(rows, "TITLE 17 ")] == ["feed-17"]
    by_key = [key for _, key in render.feed_choices(rows, "feed-3")]
    assert by_key[0] == "feed-3" and len(by_key) == 11  # feed-3, then feed-30..feed-39


def test_list_page_fits_and_links_only_short_http_urls() -> None:
    rows = [feed(n, title=HOSTILE, url="https://x.test/" + "b" * 1900) for n in range(9)]
    rows.append(feed(9, url="javascript:alert(1)", error_count=1))
    page = render.feeds_page(rows, page=0, per_page=10, now=NOW)
    assert len(page["description"]) <= st.EMBED_DESCRIPTION
    assert "](<" not in page["description"] and "javascript" not in page["description"]
    assert "⚠️ failing (1×)" in page["description"]
    assert (
        "[feed](<https://blog1.test/feed.xml>)"
        in render.feeds_page([feed(1)], page=0, per_page=10)["description"]
    )
    empty = render.feeds_page([], page=0)
    assert empty["description"].startswith("This server has not added any feeds yet")
