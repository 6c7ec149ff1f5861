"""Helpers for the ingest storage tests: feeds through the repository, stories as plain data."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from bot.core.ingest.types import FeedRow, NewFeed
from bot.core.models import NormalizedStory
from bot.storage.feeds_repo import FeedsRepository

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


async def make_feed(
    repo: FeedsRepository,
    key: str,
    *,
    origin: str = "catalog",
    url: str | None = None,
    guild_id: int | None = None,
    now: datetime = T0,
) -> FeedRow:
    return await repo.add(
        NewFeed(
            key=key,
            url=url or f"https://{key}.example/feed.xml",
            title=f"{key} blog",
            origin=origin,
            added_by_guild_id=guild_id,
        ),
        now,
    )


def story(
    key: str,
    *,
    title: str | None = None,
    body: str = "Body",
    url: str | None = None,
    canonical: str | None = None,
    published: datetime | None = None,
    tags: tuple[str, ...] = (),
) -> NormalizedStory:
    title = title or f"Title {key}"
    link = url or f"https://site.example/{key}"
    digest = hashlib.sha256(f"{title}\x1f{body}\x1f{link}".encode()).hexdigest()
    return NormalizedStory(
        key=key,
        key_kind="guid",
        url=link,
        canonical_url=canonical or link,
        title=title,
        summary=body,
        content_text=body,
        author="Ann",
        tags=tags,
        image_url=None,
        published_at=published or (T0 - timedelta(hours=1)),
        content_hash=digest,
        language="en",
    )
