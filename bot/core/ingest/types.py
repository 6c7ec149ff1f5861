"""Feeds as the pipeline, the /feed commands and the renderer see them: plain frozen data.

No I/O and no ORM: the storage layer builds and takes these, services pass them on, and the
renderer shows them without importing either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed as the ingest pipeline and the /feed commands see it (detached from the ORM)."""

    id: int
    key: str
    url: str
    title: str
    site_url: str | None
    language: str | None
    origin: str
    added_by_guild_id: int | None
    active: bool
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    next_check_at: datetime
    last_checked_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    error_count: int
    last_error: str | None
    gone: bool
    # Key kinds a document of this feed repeated once: never used for its story keys again.
    unusable_key_kinds: frozenset[str] = frozenset()
    # Where the URL led on the last good fetch (redirects followed), when known.
    final_url: str | None = None

    @property
    def trusted(self) -> bool:
        """Catalog feeds come from the operator's config; everything else is guarded."""
        return self.origin == "catalog"


@dataclass(frozen=True, slots=True)
class FeedState:
    """One fetch outcome to write back (the lease is released with it)."""

    feed_id: int
    checked_at: datetime
    next_check_at: datetime
    status: int | None
    ok: bool  # success, 304 or same body: resets the error count
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    validators: bool = False  # write etag/last_modified/body_hash (a 200 with a body)
    error: str | None = None
    count_error: bool = False  # a real failure (not backpressure): error_count + 1
    gone: bool = False
    # Key kinds the parsed document made unusable (with the feed's own, as given to the
    # parser): added to the feed's set, never taken out of it.
    unusable_key_kinds: frozenset[str] = frozenset()
    # A display name to store (a feed named by its host until its first document): written
    # when set, the key is left as it is.
    title: str | None = None
    # Where the URL led (redirects followed): written when set.
    final_url: str | None = None


@dataclass(frozen=True, slots=True)
class NewFeed:
    key: str
    url: str
    title: str
    origin: str
    site_url: str | None = None
    language: str | None = None
    color: int | None = None
    added_by_guild_id: int | None = None


@dataclass(frozen=True, slots=True)
class AddedFeed:
    key: str
    title: str
    url: str
    stories: int  # stored now, not announced
    latest_title: str | None
    latest_url: str | None
    # Already tracked (another server, OPML, the catalog): linked, ``stories`` is its archive.
    already_tracked: bool = False


@dataclass(frozen=True, slots=True)
class FeedArchive:
    """What a feed's archive holds: its stories and the newest one."""

    stories: int
    latest_title: str | None
    latest_url: str | None


@dataclass(frozen=True, slots=True)
class RenamedFeed:
    key: str
    old_name: str
    new_name: str


@dataclass(frozen=True, slots=True)
class RemovedFeed:
    key: str
    title: str


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)  # keys
    duplicates: list[str] = field(default_factory=list)  # URLs already known
    refused: list[tuple[str, str]] = field(default_factory=list)  # (URL, reason)
