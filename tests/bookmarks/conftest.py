"""Fixtures for the bookmark tests: stories inserted with the ORM, a service with a fake clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.bookmarks.service import BookmarkService
from bot.storage.models import Feed, FeedLink, Story, StoryKey

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

ALICE = 111_111_111_111_111_111
BOB = 222_222_222_222_222_222
# The server the bookmarks are saved from, and another one with its own custom feeds.
GUILD = 333_333_333_333_333_333
OTHER_GUILD = 444_444_444_444_444_444


class FakeClock:
    """Each reading is one second later than the last, so "newest first" is well defined."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class World:
    sessions: async_sessionmaker[AsyncSession]
    feed_id: int = 0

    async def feed(
        self,
        key: str = "netflix",
        title: str = "Netflix TechBlog",
        *,
        origin: str = "catalog",
        guild_id: int | None = None,
    ) -> int:
        """A feed; ``origin="custom"`` with ``guild_id`` is one server's own (/feed add)."""
        async with self.sessions() as s, s.begin():
            feed = Feed(
                key=key,
                url=f"https://example.com/{key}.xml",
                title=title,
                origin=origin,
                added_by_guild_id=guild_id,
                created_at=T0,
                next_check_at=T0,
            )
            s.add(feed)
            await s.flush()
            if guild_id is not None:
                s.add(FeedLink(feed_id=feed.id, guild_id=guild_id, created_at=T0))
            return feed.id

    async def story(
        self,
        title: str,
        *,
        url: str | None = None,
        feed_id: int | None = None,
        published: datetime = T0,
        first_seen: datetime = T0,
        also_feeds: tuple[int, ...] = (),
    ) -> int:
        """A story stored by ``feed_id`` and linked (``story_keys``) to it and ``also_feeds``:
        the links decide which servers may see it."""
        if feed_id is None:
            if not self.feed_id:
                self.feed_id = await self.feed()
            feed_id = self.feed_id
        async with self.sessions() as s, s.begin():
            story = Story(
                feed_id=feed_id,
                canonical_url=url,
                url=url,
                title=title,
                published_at=published,
                first_seen_at=first_seen,
                updated_at=first_seen,
                content_hash="h" * 64,
                search_title=title,
                search_body="",
            )
            s.add(story)
            await s.flush()
            key = url or f"urn:story:{story.id}"
            for linked in dict.fromkeys((feed_id, *also_feeds)):
                s.add(
                    StoryKey(feed_id=linked, key=key, story_id=story.id, first_seen_at=first_seen)
                )
            return story.id

    async def stories(self, n: int, prefix: str = "Story") -> list[int]:
        return [
            await self.story(f"{prefix} {i}", url=f"https://example.com/{prefix}/{i}")
            for i in range(n)
        ]


@pytest.fixture
def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    return World(sessions)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> BookmarkService:
    return BookmarkService(sessions, per_user_cap=5000, clock=clock)
