"""Ingest: feeds in, stored stories out (DESIGN section 3, invariants 1, 2, 7, 8, 9).

The pipeline, one module per step::

    ssrf        the SSRF guard: only global addresses, checked on every connected hop
    fetcher     polite, bounded HTTP (conditional GET, caps, per-host limits, Retry-After)
    parser      feed bytes -> ParsedFeed (feedparser, JSON Feed via jsonfeed) in worker processes
    normalize   ParsedFeed -> NormalizedStory: stable keys, canonical URLs (urls), clean text
    schedule    when to poll a feed next (adaptive interval, backoff, jitter)
    refresher   one poll cycle over the leased due feeds; story_writer group-commits stories
    catalog     the source catalog (feeds.toml ships inside this package)
    opml        OPML subscription lists in and out
    source_name display names and keys of feeds a guild adds (from their titles)
    feed_service  what /feed and `techbrief feeds` do with a server's own feeds

Offered here (pure of storage): ``Fetcher``, ``FetchPolicy``, ``ParserPool``,
``parse_and_normalize``, ``ParseOutcome``, ``canonical_url``, ``check_url``,
``ScheduleLimits``, ``load_catalog``, ``parse_opml``, ``render_opml``, ``display_name``,
``slug``. The services that need the database, ``refresher.Refresher``,
``story_writer.StoryWriter`` and ``feed_service.FeedService``, are imported from their
modules: the storage layer imports this package's pure parts (normalize's keys), so this
``__init__`` must not import storage.
"""

from bot.core.ingest.catalog import load_catalog
from bot.core.ingest.fetcher import Fetcher, FetchPolicy
from bot.core.ingest.opml import Outline, parse_opml, render_opml
from bot.core.ingest.parser import ParseOutcome, ParserPool, parse_and_normalize
from bot.core.ingest.schedule import ScheduleLimits
from bot.core.ingest.source_name import display_name, slug
from bot.core.ingest.ssrf import check_url
from bot.core.ingest.urls import canonical_url

__all__ = [
    "FetchPolicy",
    "Fetcher",
    "Outline",
    "ParseOutcome",
    "ParserPool",
    "ScheduleLimits",
    "canonical_url",
    "check_url",
    "display_name",
    "load_catalog",
    "parse_and_normalize",
    "parse_opml",
    "render_opml",
    "slug",
]
