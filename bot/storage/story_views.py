"""A stored story as briefs see it (``StoryView``), labelled with one of its feeds."""

from __future__ import annotations

from typing import Any

from bot.core.briefs import StoryView
from bot.storage.models import Story


def view_of(
    story: Story, key: str, title: str, color: int | None, digest: dict[str, Any] | None
) -> StoryView:
    return StoryView(
        id=story.id,
        source_key=key,
        source_name=title,
        source_color=color,
        title=story.title,
        url=story.url,
        author=story.author,
        published_at=story.published_at,
        summary=story.summary,
        image_url=story.image_url,
        tags=tuple(t.tag for t in story.tags),
        digest=digest,
        kind=story.kind,
        duration_s=story.duration_s,
        media_url=story.media_url,
    )
