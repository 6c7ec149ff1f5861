"""The brief as data: which stories a channel gets, grouped and capped (pure, no I/O)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class StoryView:
    """A stored story as the brief and the renderer need it."""

    id: int
    source_key: str
    source_name: str
    source_color: int | None
    title: str
    url: str | None
    author: str | None
    published_at: datetime
    summary: str
    image_url: str | None = None
    tags: tuple[str, ...] = ()
    digest: dict[str, Any] | None = None  # a stored structured summary, when there is one
    kind: str = "article"  # "article" | "podcast" | "video"
    duration_s: int | None = None
    media_url: str | None = None  # the play link of a podcast or video


@dataclass(frozen=True, slots=True)
class Filters:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def fold(text: str) -> str:
    """Case- and width-insensitive form for keyword matching (Unicode-aware)."""
    return unicodedata.normalize("NFKC", text).casefold()


def matches(story: StoryView, filters: Filters) -> bool:
    """Include keywords: at least one must appear; exclude keywords: none may."""
    haystack = fold(" ".join((story.title, story.summary, " ".join(story.tags))))
    if filters.include and not any(fold(k) in haystack for k in filters.include):
        return False
    return not any(fold(k) in haystack for k in filters.exclude)


@dataclass(frozen=True, slots=True)
class SourceGroup:
    key: str
    name: str
    color: int | None
    stories: tuple[StoryView, ...]
    more: int  # stories beyond the per-source cap


@dataclass(frozen=True, slots=True)
class Brief:
    local_date: datetime  # the brief's moment in the channel's time zone
    groups: tuple[SourceGroup, ...]
    total: int = field(default=0)

    @property
    def shown(self) -> list[StoryView]:
        return [s for g in self.groups for s in g.stories]

    @property
    def source_count(self) -> int:
        return len(self.groups)

    def is_empty(self) -> bool:
        return self.total == 0


def build_brief(
    stories: Iterable[StoryView], *, filters: Filters, at_local: datetime, per_source_cap: int
) -> Brief:
    """Group by source (busiest first), newest first inside a source, cap each source.

    Stories arrive already de-duplicated across feeds (one canonical URL is one story);
    a repeated id is still dropped here so a join that fans out can never double a line.
    """
    seen: set[int] = set()
    by_source: dict[str, list[StoryView]] = {}
    for story in stories:
        if story.id in seen or not matches(story, filters):
            continue
        seen.add(story.id)
        by_source.setdefault(story.source_key, []).append(story)
    groups: list[SourceGroup] = []
    for key, items in by_source.items():
        items.sort(key=lambda s: (s.published_at, s.id), reverse=True)
        first = items[0]
        groups.append(
            SourceGroup(
                key=key,
                name=first.source_name,
                color=first.source_color,
                stories=tuple(items[:per_source_cap]),
                more=max(0, len(items) - per_source_cap),
            )
        )
    groups.sort(key=lambda g: (-(len(g.stories) + g.more), g.key))
    return Brief(local_date=at_local, groups=tuple(groups), total=len(seen))


def sort_newest(stories: Sequence[StoryView]) -> list[StoryView]:
    return sorted(stories, key=lambda s: (s.published_at, s.id), reverse=True)
