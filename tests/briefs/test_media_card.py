"""A podcast or video card: kind, length and play link under the digest, the episode image,
and no show-note chrome, from feed bytes through storage (both backends) to the payload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.commands.briefs_cli import brief_messages
from bot.core.briefs import Filters, build_brief, render
from bot.core.briefs.media_line import duration_text, media_line
from bot.core.i18n import Localizer
from bot.core.ingest.parser import parse_and_normalize
from bot.core.summarize import ExtractiveSummarizer, digest_formatter
from bot.core.summarize.service import SummaryService
from bot.storage.feeds_repo import FeedsRepository
from bot.storage.stories_repo import StoriesRepository
from bot.storage.subscriptions_repo import recent_stories
from tests.briefs.helpers import setup_channel
from tests.briefs.preview_db import preview_database
from tests.briefs.test_render import story
from tests.ingest.conftest import fixture_bytes
from tests.ingest.dbhelpers import T0, make_feed

PODCAST_FEED = "https://podcast.example/feed.xml"
YOUTUBE_FEED = "https://www.youtube.com/feeds/videos.xml?channel_id=UCa1b2c3d4e5f6g7h8i9j0kL"
CHROME = ("download audio", "ad choices", "sponsored", "code", "% off", "rate us", "subscribe")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(45, "45 s"), (2520, "42 min"), (2550, "43 min"), (3600, "1 h"), (3723, "1 h 2 min")],
)
def test_duration_reads_like_a_podcast_app(seconds: int, text: str) -> None:
    assert duration_text(seconds) == text


def test_media_line_shapes() -> None:
    assert media_line("article", 60, "https://x.example/a.mp3") is None
    assert media_line("podcast", 2520, "https://x.example/a.mp3") == (
        "🎧 Podcast · 42 min · [Listen](https://x.example/a.mp3)"
    )
    assert media_line("video", None, None) == "▶️ Video"


def test_media_line_in_the_channels_language() -> None:
    ja, ko = Localizer().messages("ja"), Localizer().messages("ko")
    assert media_line("podcast", 2520, "https://x.example/a.mp3", ja) == (
        "🎧 ポッドキャスト · 42分 · [聴く](https://x.example/a.mp3)"
    )
    assert media_line("video", 3720, None, ko) == "▶️ 동영상 · 1시간 2분"


def test_unsafe_or_odd_play_links_are_never_shown_raw() -> None:
    bad = render.story_embed(story(1, kind="podcast", media_url="javascript:alert(1)"), "UTC")
    assert bad["description"].endswith("🎧 Podcast")
    odd = render.story_embed(
        story(2, kind="video", media_url="https://v.example/watch?v=a b)(x"), "UTC"
    )
    assert odd["description"].endswith("[Watch](https://v.example/watch?v=a%20b%29%28x)")


def test_a_long_digest_leaves_room_for_the_media_line() -> None:
    view = story(
        1, summary="word " * 2000, kind="podcast", duration_s=60, media_url="https://a.b/c"
    )
    embed = render.story_embed(view, "UTC", description_limit=1500)
    assert len(embed["description"]) <= 1500
    assert embed["description"].endswith("· 1 min · [Listen](https://a.b/c)")


async def _stored_episodes(sessions: async_sessionmaker[AsyncSession]) -> None:
    feeds, stories = FeedsRepository(sessions), StoriesRepository(sessions)
    for key, name, url in (
        ("systems-talk", "podcast_rss.xml", PODCAST_FEED),
        ("fresh-eng", "youtube_atom.xml", YOUTUBE_FEED),
    ):
        feed = await make_feed(feeds, key)
        parsed = parse_and_normalize(fixture_bytes(name), {}, url, T0).stories
        await stories.store(feed.id, parsed, T0)
    # Summaries as the worker makes them (extractive, the default).
    service = SummaryService(sessions, ExtractiveSummarizer())
    assert await service.run_pending() == 5


def _cards(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    # Keyed by the title as a reader sees it (markdown escapes taken out).
    return {e["title"].replace("\\", ""): e for m in messages[1:] for e in m["embeds"]}


async def test_episode_cards_from_feed_to_payload(sessions: async_sessionmaker[AsyncSession]):
    await _stored_episodes(sessions)
    views = await recent_stories(sessions, since=T0 - timedelta(days=1))
    brief = build_brief(views, filters=Filters(), at_local=T0, per_source_cap=5)
    messages = brief_messages(brief, "UTC", digest_formatter)
    cards = _cards(messages)

    ep88 = cards["Ep. 88: Write-ahead logs, explained"]
    assert ep88["url"] == "https://podcast.example/episodes/88"
    assert ep88["thumbnail"] == {"url": "https://cdn.podcast.example/ep88.jpg"}
    description = ep88["description"]
    assert description.startswith("Ana walks Ben through how a database survives a crash")
    assert "• Checkpoints decide how long recovery takes after a crash." in description
    assert description.endswith(
        "\n\n🎧 Podcast · 42 min · [Listen](https://media.podcast.example/ep88.mp3)"
    )
    ep87 = cards["Ep. 87: Queues at the edge"]
    assert ep87["description"].endswith(
        "🎧 Podcast · 1 h 2 min · [Listen](https://podcast.example/audio/ep87.m4a)"
    )
    assert ep87["thumbnail"] == {"url": "https://cdn.podcast.example/artwork-3000.jpg"}
    bonus = cards["Ep. 86: Bonus: listener questions"]
    assert bonus["description"].endswith("\n\n🎧 Podcast · 43 min")  # no javascript: link

    talk = cards["Scaling Postgres reads with logical replicas"]
    assert talk["description"].endswith(
        "\n\n▶️ Video · [Watch](https://www.youtube.com/watch?v=dQw4w9WgXc1)"
    )
    assert talk["thumbnail"] == {"url": "https://i4.ytimg.com/vi/dQw4w9WgXc1/hqdefault.jpg"}

    for title, card in cards.items():
        body = card["description"].rsplit("\n\n", 1)[0].lower()  # the digest above the line
        assert not [c for c in CHROME if c in body], (title, card["description"])
    header = messages[0]["embeds"][0]["description"].replace("\\", "")
    assert "· 🎧 [Ep. 88: Write-ahead logs, explained]" in header
    assert "· ▶️ [Scaling Postgres reads with logical replicas]" in header


@pytest.mark.e2e
@pytest.mark.timeout(90)
async def test_preview_shows_the_media_line_the_publisher_posts(tmp_path: Path) -> None:
    async with preview_database(tmp_path) as db:
        await setup_channel(db.service, channel=7002)
        feeds, stories = FeedsRepository(db.sessions), StoriesRepository(db.sessions)
        feed = await make_feed(feeds, "systems-talk")
        parsed = parse_and_normalize(fixture_bytes("podcast_rss.xml"), {}, PODCAST_FEED, T0)
        await stories.store(feed.id, parsed.stories, datetime.now(UTC))

        shown = await db.preview(7002)
        assert "🎧 Podcast · 42 min · [Listen](https://media.podcast.example/ep88.mp3)" in (
            shown.stdout
        )
        assert "Learn more about your ad choices" not in shown.stdout
        assert await db.preview_json(7002) == await db.planned(7002)
