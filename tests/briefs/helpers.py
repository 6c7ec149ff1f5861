"""Building blocks for brief tests: a settable clock and stories written straight to the DB."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.briefs.planning import BriefService
from bot.storage.models import Feed, FeedLink, Story, StoryKey, StoryTag


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


async def add_feed(
    sessions: async_sessionmaker[AsyncSession],
    key: str,
    *,
    origin: str = "catalog",
    guild_id: int | None = None,
) -> int:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with sessions.begin() as s:
        feed = Feed(
            key=key,
            url=f"https://{key}.example/feed",
            title=f"{key.title()} Blog",
            origin=origin,
            added_by_guild_id=guild_id,
            color=0x123456,
            created_at=now,
            next_check_at=now,
        )
        s.add(feed)
        await s.flush()
        if guild_id is not None:
            s.add(FeedLink(feed_id=feed.id, guild_id=guild_id, created_at=now))
        return feed.id


async def add_story(
    sessions: async_sessionmaker[AsyncSession],
    feed_id: int,
    title: str,
    *,
    published: datetime | None = None,
    summary: str = "A summary.",
    tags: tuple[str, ...] = (),
    url: str | None = None,
    also_feed: int | None = None,
) -> int:
    now = published or datetime(2026, 11, 20, tzinfo=UTC)
    link = url or f"https://example.com/{abs(hash((feed_id, title)))}"
    async with sessions.begin() as s:
        story = Story(
            feed_id=feed_id,
            canonical_url=link,
            url=link,
            title=title,
            summary=summary,
            content_text=summary,
            published_at=now,
            first_seen_at=now,
            updated_at=now,
            content_hash="0" * 64,
            search_title=title.lower(),
            search_body=summary.lower(),
        )
        story.tags = [StoryTag(tag=t) for t in tags]
        s.add(story)
        await s.flush()
        s.add(StoryKey(feed_id=feed_id, key=link, story_id=story.id, first_seen_at=now))
        if also_feed is not None:
            s.add(StoryKey(feed_id=also_feed, key=link, story_id=story.id, first_seen_at=now))
        return story.id


GUILD = 1000


async def setup_channel(service: BriefService, channel: int = 2000, **kw: object) -> None:
    """A daily 09:00 Berlin brief of every source in `channel` (options override)."""
    await service.subs.upsert_guild(GUILD, "Guild", None, service._clock())
    args: dict[str, object] = {
        "guild_id": GUILD,
        "channel_id": channel,
        "time_text": "09:00",
        "timezone": "Europe/Berlin",
        "mode": "brief",
        "source_keys": None,
        "by": 1,
    }
    args.update(kw)
    await service.setup(**args)  # type: ignore[arg-type]
