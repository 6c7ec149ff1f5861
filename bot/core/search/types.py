"""What a search returns: plain frozen data, no I/O (the renderers use it without the service)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SearchHit:
    story_id: int
    title: str
    url: str | None
    source_key: str
    source_name: str
    published_at: datetime
    snippet: str  # Discord markdown: escaped text, matched words in **bold**
    score: float  # higher is better; comparable within one result page only


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    # Stories matching in all; None when more than the ranking window (1000 by default):
    # only the newest that many matches are ranked, so say "1000+".
    total: int | None
    offset: int = 0
    has_more: bool = False  # another page exists (within the ranking window)
