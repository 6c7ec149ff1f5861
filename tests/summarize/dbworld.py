"""Stories inserted straight through the ORM for the storage-backed summary tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.summarize import Summarizer, Summary, SummaryInput
from bot.storage.models import Feed, Story, StoryKey, StorySummary

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand (budgets roll over on the UTC day it reports)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def content_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass
class World:
    sessions: async_sessionmaker[AsyncSession]
    feed_id: int = 0

    async def feed(self, key: str = "example", origin: str = "catalog") -> int:
        async with self.sessions.begin() as s:
            feed = Feed(
                key=key,
                url=f"https://example.com/{key}.xml",
                title=f"{key.title()} Engineering",
                origin=origin,
                created_at=T0,
                next_check_at=T0,
            )
            s.add(feed)
            await s.flush()
            return feed.id

    async def story(
        self,
        title: str,
        text: str,
        *,
        url: str | None = None,
        language: str | None = "en",
        first_seen: datetime = T0,
        summary: str | None = None,
    ) -> int:
        if not self.feed_id:
            self.feed_id = await self.feed()
        async with self.sessions.begin() as s:
            story = Story(
                feed_id=self.feed_id,
                canonical_url=url,
                url=url,
                title=title,
                summary=summary if summary is not None else text[:200],
                content_text=text,
                language=language,
                published_at=first_seen,
                first_seen_at=first_seen,
                updated_at=first_seen,
                content_hash=content_hash(title, text, url or ""),
                search_title=title,
                search_body=text[:500],
            )
            s.add(story)
            await s.flush()
            # The per-feed key row: what makes a story visible to briefs (see subscriptions_repo).
            s.add(
                StoryKey(
                    feed_id=self.feed_id,
                    key=url or f"story-{story.id}",
                    story_id=story.id,
                    first_seen_at=first_seen,
                )
            )
            return story.id

    async def update(self, story_id: int, **values: Any) -> str:
        """Change a stored story as ingest would: new values, new content hash."""
        async with self.sessions.begin() as s:
            story = await s.get(Story, story_id)
            assert story is not None
            for name, value in values.items():
                setattr(story, name, value)
            story.content_hash = content_hash(
                story.title, story.content_text, story.url or "", story.image_url or ""
            )
            return story.content_hash

    async def summaries(self) -> dict[int, list[tuple[str, str, dict[str, Any]]]]:
        """story id -> [(content_hash, method, data)] for every stored summary row."""
        async with self.sessions() as s:
            rows = await s.execute(
                select(
                    StorySummary.story_id,
                    StorySummary.content_hash,
                    StorySummary.method,
                    StorySummary.data,
                ).order_by(StorySummary.story_id, StorySummary.created_at)
            )
            out: dict[int, list[tuple[str, str, dict[str, Any]]]] = {}
            for sid, chash, method, data in rows.all():
                out.setdefault(sid, []).append((chash, method, data))
            return out

    async def current_hash(self, story_id: int) -> str:
        async with self.sessions() as s:
            found = (
                await s.execute(select(Story.content_hash).where(Story.id == story_id))
            ).scalar_one()
            return str(found)


class CountingSummarizer:
    """Wraps a summarizer, records the titles it was asked for, fails on chosen titles."""

    def __init__(self, inner: Summarizer, fail_titles: set[str] | None = None) -> None:
        self.inner = inner
        self.fail_titles = fail_titles or set()
        self.titles: list[str] = []

    async def summarize(self, story: SummaryInput) -> Summary:
        self.titles.append(story.title)
        if story.title in self.fail_titles:
            raise RuntimeError(f"cannot summarize {story.title!r}")
        return await self.inner.summarize(story)
