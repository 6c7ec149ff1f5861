from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.errors import ConfigError
from bot.core.ingest.catalog import load_catalog, parse_catalog

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "netflix",
    "google",
    "meta",
    "aws",
    "discord",
    "line",
    "toss",
    "kakao",
    "naver",
    "woowahan",
}

GOOD = """
[[feed]]
key = "example"
name = "Example Engineering"
feed_url = "https://example.com/feed"
site_url = "https://example.com"
language = "en"
color = "#112233"
"""


def test_shipped_catalog_is_valid_and_complete() -> None:
    feeds = load_catalog()
    keys = {f.key for f in feeds}
    assert keys >= REQUIRED
    assert len(feeds) >= 30
    assert all(f.feed_url.startswith("https://") for f in feeds)


def test_parses_an_entry() -> None:
    (feed,) = parse_catalog(GOOD, "feeds.toml")
    assert feed.key == "example" and feed.color == 0x112233


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (('key = "example"', 'key = "Not Valid"'), "key must be"),
        (
            ('feed_url = "https://example.com/feed"', 'feed_url = "file:///etc/passwd"'),
            "feed_url must be an http(s) URL",
        ),
        (('color = "#112233"', 'color = "blue"'), "color must look like #RRGGBB"),
        (('language = "en"', ""), "missing language"),
        (('language = "en"', 'language = "en"\nextra = 1'), "unknown field(s) extra"),
    ],
)
def test_invalid_entries_name_file_entry_and_reason(change: tuple[str, str], reason: str) -> None:
    text = GOOD.replace(*change)
    with pytest.raises(ConfigError) as info:
        parse_catalog(text, "config/feeds.toml")
    msg = str(info.value)
    assert msg.startswith("config/feeds.toml: ")
    assert "entry #1" in msg and reason in msg


def test_duplicates_are_reported_for_the_second_entry() -> None:
    with pytest.raises(ConfigError, match=r"entry #2 \(key 'example'\): duplicate key"):
        parse_catalog(GOOD + GOOD, "feeds.toml")
