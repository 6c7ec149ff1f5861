"""What the bookmark service hands out: plain frozen data, no I/O (storage and renderers use it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SavedBookmark:
    """One bookmark as its owner sees it: the story, where it came from, and their notes."""

    story_id: int
    title: str
    url: str | None
    source: str  # the feed's display title; "" when unknown
    source_key: str | None
    published_at: datetime
    bookmarked_at: datetime
    tags: tuple[str, ...]
    note: str | None


@dataclass(frozen=True, slots=True)
class AddResult:
    """``created`` is False when the story was already saved (nothing changed)."""

    created: bool
    bookmark: SavedBookmark
    count: int  # the user's bookmarks after this call
    cap: int


@dataclass(frozen=True, slots=True)
class BookmarkPage:
    items: tuple[SavedBookmark, ...]
    total: int  # matching bookmarks across all pages
    limit: int
    offset: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total

    @property
    def page(self) -> int:
        """1-based number of this page."""
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))
