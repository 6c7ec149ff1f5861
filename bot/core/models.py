"""Plain data passed between the layers of the ingest pipeline (no I/O, no ORM, picklable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

ARTICLE, PODCAST, VIDEO = "article", "podcast", "video"
STORY_KINDS = (ARTICLE, PODCAST, VIDEO)


@dataclass(frozen=True, slots=True)
class CatalogFeed:
    """One entry of the source catalog (``bot/core/ingest/feeds.toml`` or ``catalog.path``)."""

    key: str
    name: str
    feed_url: str
    site_url: str
    language: str
    color: int


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What the fetcher got. ``body`` is None when nothing new arrived (304 or same hash)."""

    url: str
    final_url: str
    status: int
    body: bytes | None
    headers: dict[str, str]
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    not_modified: bool = False
    unchanged: bool = False
    max_age: float | None = None  # seconds, from Cache-Control max-age / Expires


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One item as the feed said it, before any cleaning (HTML still HTML)."""

    guid: str | None
    link: str | None
    title: str | None
    summary_html: str | None
    content_html: str | None
    author: str | None
    tags: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    image_urls: tuple[str, ...] = ()  # media:thumbnail/content, image enclosures, in that order
    media: Media | None = None  # an audio or video episode (see ingest/media.py)


@dataclass(frozen=True, slots=True)
class Media:
    """What makes an item a podcast episode or a video, as the feed said it."""

    kind: str  # "podcast" | "video"
    duration_s: int | None = None
    url: str | None = None  # the play link (enclosure or watch page), not yet resolved
    subtitle: str | None = None  # itunes:subtitle: the episode in one line, written for this
    # A bare video file (no duration, no iTunes tags, no player page): on a long post it is
    # the article's illustration, not an episode (normalize decides, it knows the text).
    clip: bool = False


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None
    language: str | None
    entries: tuple[ParsedEntry, ...]
    ttl_minutes: int | None = None
    format: str = ""  # e.g. "rss20", "atom10", "json11" (feedparser's version naming)
    bozo: str | None = None  # a tolerated well-formedness problem, for `inspect`
    image_url: str | None = None  # the channel's artwork (itunes:image), for episodes without one


@dataclass(frozen=True, slots=True)
class NormalizedStory:
    """A story ready to store: stable key, canonical URL, clean plain text, aware UTC dates."""

    key: str
    key_kind: str  # "guid" | "link" | "hash"
    url: str | None
    canonical_url: str | None
    title: str
    summary: str  # clean plain text, boilerplate removed
    content_text: str  # longest clean text the feed carried (for summaries and search)
    author: str | None
    tags: tuple[str, ...]
    image_url: str | None
    published_at: datetime
    content_hash: str
    language: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    kind: str = ARTICLE  # ARTICLE | PODCAST | VIDEO
    duration_s: int | None = None
    media_url: str | None = None  # the play link, absolute http(s)
