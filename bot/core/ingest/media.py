"""Podcast episodes and videos: what an item's enclosures and media tags say it is.

feedparser exposes the pieces under several names: RSS ``<enclosure>`` as a ``links`` entry
with ``rel="enclosure"``; Media RSS ``<media:content>`` (also inside ``<media:group>``) as
``media_content`` dicts with ``url``, ``type``, ``medium`` and ``duration``; iTunes tags as
``itunes_duration``; a YouTube channel feed's ``<yt:videoId>`` as ``yt_videoid``; a player
page (``<media:player>``, Rutube and others) as ``media_player``. The episode image is read
with the other images (``parser._images``: itunes:image, media:thumbnail).

Pure functions over feedparser's entry mapping; nothing here is trusted: the play link is
resolved and checked for http(s) by normalize and again by the renderer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.core.models import PODCAST, VIDEO, Media

# YouTube video ids are 11 characters today; a little slack, nothing that could build a path.
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")
YOUTUBE_WATCH = "https://www.youtube.com/watch?v="
# A week: longer "durations" are byte counts or junk (some feeds put the file size there).
_MAX_DURATION_S = 7 * 24 * 3600
_CLOCK = re.compile(r"^(?:(\d{1,3}):)?(\d{1,3}):(\d{1,2})(?:[.,]\d+)?$")
_SECONDS = re.compile(r"^(\d{1,9})(?:[.,]\d+)?$")
# "1h 2m 3s", "45 min", "90 sec": seen in hand-written feeds.
_UNITS = re.compile(
    r"^(?:(\d{1,3})\s*h(?:ours?|rs?)?)?\s*(?:(\d{1,4})\s*m(?:in(?:utes?|s)?)?)?\s*"
    r"(?:(\d{1,6})\s*s(?:ec(?:onds?|s)?)?)?$",
    re.IGNORECASE,
)


def parse_duration(value: Any) -> int | None:
    """Seconds from an ``itunes:duration`` or ``media:content duration`` value, else None.

    Accepts plain seconds ("2520", "2520.5"), MM:SS ("42:00", also "75:30"), HH:MM:SS
    ("01:02:03") and unit spellings ("1h 2m", "45 min"). Zero, negative, absurd or
    unreadable values give None: no duration is better than a wrong one.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if match := _SECONDS.match(text):
            seconds = int(match.group(1))
        elif match := _CLOCK.match(text):
            hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
            if secs >= 60 or (hours and minutes >= 60):
                return None
            seconds = hours * 3600 + minutes * 60 + secs
        elif (match := _UNITS.match(text)) and any(match.groups()):
            hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
            seconds = hours * 3600 + minutes * 60 + secs
        else:
            return None
    else:
        return None
    return seconds if 0 < seconds <= _MAX_DURATION_S else None


def kind_of(mime: str, medium: str) -> str | None:
    """PODCAST for audio, VIDEO for video (by MIME type or Media RSS medium), else None."""
    mime, medium = mime.lower(), medium.lower()
    if medium == "audio" or mime.startswith("audio/"):
        return PODCAST
    if medium == "video" or mime.startswith("video/"):
        return VIDEO
    return None


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _get(mapping: Mapping[str, Any], key: str) -> Any:
    # Plain dict lookup, as in parser._get: FeedParserDict aliases some keys.
    return dict.get(mapping, key) if isinstance(mapping, dict) else mapping.get(key)


def _enclosure(entry: Mapping[str, Any]) -> tuple[str, str | None, Any] | None:
    """(kind, URL, duration) of the first audio or video enclosure or media:content."""
    for link in _get(entry, "links") or ():
        if not isinstance(link, Mapping) or link.get("rel") != "enclosure":
            continue
        kind = kind_of(str(link.get("type") or ""), "")
        if kind:
            return kind, _str(link.get("href")), None
    for media in _get(entry, "media_content") or ():
        if not isinstance(media, Mapping):
            continue
        kind = kind_of(str(media.get("type") or ""), str(media.get("medium") or ""))
        if kind:
            return kind, _str(media.get("url")), media.get("duration")
    return None


def _media_duration(entry: Mapping[str, Any]) -> int | None:
    for media in _get(entry, "media_content") or ():
        if isinstance(media, Mapping) and (seconds := parse_duration(media.get("duration"))):
            return seconds
    return None


def entry_media(entry: Mapping[str, Any]) -> Media | None:
    """The item as an episode (podcast or video), or None for an article.

    Order: a YouTube video id (the watch page is the play link; YouTube's media:content is a
    Flash player URL nobody can open), then the first audio/video enclosure or media:content,
    then a media:player page (video, played on the item's own page), then iTunes tags alone
    (a podcast item whose audio is on its page).
    """
    media = _media(entry)
    if media is None:
        return None
    # feedparser reads itunes:subtitle (and Atom's subtitle) as ``subtitle``: an episode's
    # one-line synopsis, the best lead there is when the notes are a topic list.
    subtitle = _str(_get(entry, "subtitle"))
    return replace(media, subtitle=subtitle) if subtitle else media


def _media(entry: Mapping[str, Any]) -> Media | None:
    itunes = parse_duration(_get(entry, "itunes_duration"))
    video_id = _str(_get(entry, "yt_videoid"))
    if video_id and _YOUTUBE_ID.match(video_id):
        return Media(VIDEO, itunes or _media_duration(entry), YOUTUBE_WATCH + video_id)
    found = _enclosure(entry)
    if found is not None:
        kind, url, duration = found
        seconds = itunes or parse_duration(duration) or _media_duration(entry)
        return Media(kind, seconds, url, clip=kind == VIDEO and seconds is None)
    if isinstance(_get(entry, "media_player"), Mapping):
        return Media(VIDEO, itunes or _media_duration(entry), None)
    if itunes is not None:
        return Media(PODCAST, itunes, None)
    return None


def feed_image(feed_meta: Mapping[str, Any]) -> str | None:
    """The channel's artwork (itunes:image, or RSS <image><url>)."""
    image = _get(feed_meta, "image")
    if isinstance(image, Mapping):
        return _str(image.get("href")) or _str(image.get("url"))
    return None
