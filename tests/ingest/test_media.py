"""Podcasts and videos: kind, duration, play link and episode image from real-shaped feeds."""

from __future__ import annotations

import json

import pytest

from bot.core.ingest.media import entry_media, parse_duration
from bot.core.ingest.parser import parse_and_normalize
from bot.core.models import ARTICLE, PODCAST, VIDEO
from bot.core.shownotes import is_show_note_chrome, strip_show_notes
from tests.ingest.conftest import FETCHED_AT, fixture_bytes

PODCAST_URL = "https://podcast.example/feed.xml"
YOUTUBE_URL = "https://www.youtube.com/feeds/videos.xml?channel_id=UCa1b2c3d4e5f6g7h8i9j0kL"


def _stories(name: str, url: str):
    return parse_and_normalize(fixture_bytes(name), {}, url, FETCHED_AT).stories


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2520", 2520),
        ("2520.7", 2520),
        (" 42:30 ", 2550),
        ("75:30", 4530),  # MM:SS past the hour, as some hosts write it
        ("01:02:03", 3723),
        ("1:02:03", 3723),
        ("1h 2m 3s", 3723),
        ("45 min", 2700),
        (3600, 3600),
        ("0", None),
        ("00:00:00", None),
        ("", None),
        ("soon", None),
        ("12:75", None),  # 75 seconds: not a clock
        ("54919661", None),  # a byte count put in the wrong tag, not 635 days
        (None, None),
        (True, None),
    ],
)
def test_duration_forms(value, seconds):
    assert parse_duration(value) == seconds


def test_podcast_episodes_have_kind_duration_play_link_and_image():
    ep88, ep87, ep86 = _stories("podcast_rss.xml", PODCAST_URL)
    assert (ep88.kind, ep88.duration_s) == (PODCAST, 2520)  # plain seconds
    assert ep88.media_url == "https://media.podcast.example/ep88.mp3"
    assert ep88.image_url == "https://cdn.podcast.example/ep88.jpg"  # the episode's itunes:image
    assert ep88.url == "https://podcast.example/episodes/88"
    assert (ep87.kind, ep87.duration_s) == (PODCAST, 3723)  # HH:MM:SS
    # A relative enclosure is resolved against the site; no episode image: the show's artwork.
    assert ep87.media_url == "https://podcast.example/audio/ep87.m4a"
    assert ep87.image_url == "https://cdn.podcast.example/artwork-3000.jpg"
    assert (ep86.kind, ep86.duration_s) == (PODCAST, 2550)  # MM:SS
    assert ep86.media_url is None  # a javascript: enclosure is no play link


def test_show_note_chrome_is_not_stored_with_the_episode():
    ep88, ep87, _ = _stories("podcast_rss.xml", PODCAST_URL)
    for story in (ep88, ep87):
        text = f"{story.summary}\n{story.content_text}".lower()
        for chrome in (
            "download audio",
            "ad choices",
            "sponsored by",
            "use code",
            "with code",
            "rate us",
            "subscribe on",
            "support the show",
        ):
            assert chrome not in text, (story.title, chrome)
    # The numbered notes stay: they are the episode's content.
    assert "2) How a write-ahead log turns random writes" in ep88.content_text


def test_youtube_channel_entries_are_videos_with_watch_links_and_thumbnails():
    talk, lightning = _stories("youtube_atom.xml", YOUTUBE_URL)
    assert talk.kind == VIDEO and lightning.kind == VIDEO
    assert talk.media_url == "https://www.youtube.com/watch?v=dQw4w9WgXc1"
    assert lightning.media_url == "https://www.youtube.com/watch?v=a_B-c9D8e7F"
    assert talk.image_url == "https://i4.ytimg.com/vi/dQw4w9WgXc1/hqdefault.jpg"
    assert talk.duration_s is None  # YouTube's feed gives none; none is shown
    assert talk.summary.startswith("Maya shows how her team moved read traffic")
    assert "Subscribe to our channel" not in talk.content_text
    assert "patreon" not in talk.content_text.lower()


def test_articles_stay_articles_with_unchanged_hashes():
    (story,) = _stories("medium_rss.xml", "https://medium.example/feed")
    assert (story.kind, story.duration_s, story.media_url) == (ARTICLE, None, None)


def test_media_rss_video_and_player_pages():
    entry = {
        "media_content": [{"url": "https://cdn.example/v.mp4", "medium": "video", "duration": "61"}]
    }
    media = entry_media(entry)
    assert media is not None and (media.kind, media.duration_s, media.url) == (
        VIDEO,
        61,
        "https://cdn.example/v.mp4",
    )
    # Rutube-style: a player page and a duration, no file: a video played on its own page.
    player = entry_media({"media_content": [{"duration": "823"}], "media_player": {"url": "x"}})
    assert player is not None and (player.kind, player.duration_s, player.url) == (VIDEO, 823, None)
    # Only iTunes tags: still a podcast episode.
    itunes = entry_media({"itunes_duration": "10:00"})
    assert itunes is not None and (itunes.kind, itunes.duration_s) == (PODCAST, 600)
    # An image enclosure or a torrent is not an episode.
    assert entry_media({"links": [{"rel": "enclosure", "type": "image/jpeg", "href": "x"}]}) is None
    assert entry_media({"media_content": [{"type": "application/x-bittorrent"}]}) is None


def test_a_long_post_with_a_bare_video_file_stays_an_article():
    words = " ".join(["The paging controller keeps its state between pages."] * 50)
    body = f"""<rss version="2.0"><channel><title>Blog</title><link>https://b.example/</link>
    <item><title>Paging controllers</title><link>https://b.example/paging</link>
    <description>{words}</description>
    <enclosure url="https://b.example/demo.mp4" type="video/mp4" length="963555"/></item>
    <item><title>Bloopers</title><link>https://b.example/bloopers</link>
    <description>The bloopers from the shoot.</description>
    <enclosure url="https://b.example/bloopers.mp4" type="video/mp4" length="0"/></item>
    </channel></rss>""".encode()
    post, clip = parse_and_normalize(body, {}, "https://b.example/feed", FETCHED_AT).stories
    assert (post.kind, post.media_url) == (ARTICLE, None)
    assert (clip.kind, clip.media_url) == (VIDEO, "https://b.example/bloopers.mp4")


def test_json_feed_audio_attachment():
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "JSON cast",
            "items": [
                {
                    "id": "1",
                    "url": "https://cast.example/1",
                    "title": "Episode one",
                    "content_text": "We talk about caches and how they fail in production.",
                    "attachments": [
                        {
                            "url": "https://cast.example/1.mp3",
                            "mime_type": "audio/mpeg",
                            "duration_in_seconds": 1800,
                        }
                    ],
                }
            ],
        }
    ).encode()
    (story,) = parse_and_normalize(body, {}, "https://cast.example/feed.json", FETCHED_AT).stories
    assert (story.kind, story.duration_s, story.media_url) == (
        PODCAST,
        1800,
        "https://cast.example/1.mp3",
    )


@pytest.mark.parametrize(
    "line",
    [
        "Learn more about your ad choices. Visit megaphone.fm/adchoices",
        "Download audio: https://media.example/ep1.mp3",
        "Please rate us on Apple Podcasts!",
        "This episode is sponsored by Quarry.",
        "Use code SYSTEMS for 20% off your first month.",
        "Get $50 off a mattress with code atp.",
        "Subscribe on Spotify",
        "Support the show",
        "Listen wherever you get your podcasts.",
        "Hosted on Acast. See acast.com/privacy for more information.",
    ],
)
def test_show_note_chrome_lines(line):
    assert is_show_note_chrome(line)
    assert strip_show_notes(f"A real sentence about queues.\n{line}") == (
        "A real sentence about queues."
    )


def test_a_sponsor_block_goes_with_its_header():
    text = (
        "Casey reviews the new iPad.\n\nPost-show: John explains his new home network.\n\n"
        "Sponsored by:\n\n"
        "Arq Backup: Back up all of your computers securely to your cloud account.\n\n"
        "Marine Layer: Clothes that make it easy to get dressed in the morning.\n\n"
        "Next week the three of them answer listener questions about home servers."
    )
    assert strip_show_notes(text) == (
        "Casey reviews the new iPad.\n\nPost-show: John explains his new home network.\n\n"
        "Next week the three of them answer listener questions about home servers."
    )


@pytest.mark.parametrize(
    "line",
    [
        "We use code review to catch these bugs before they ship.",
        "Listen in as Ana explains how the planner picks an index.",
        "The discount is applied by the billing service after tax.",
    ],
)
def test_content_that_only_looks_like_chrome_stays(line):
    assert not is_show_note_chrome(line)
