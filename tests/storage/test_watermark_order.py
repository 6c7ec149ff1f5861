"""PostgreSQL allocates ids at insert, not commit: planning must never pass an open insert."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.storage.engine import create_engine, session_factory
from bot.storage.locks import story_writes_shared
from bot.storage.models import Feed, Story
from bot.storage.subscriptions_repo import SubscriptionsRepository

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def new_story(feed_id: int, n: int) -> Story:
    url = f"https://example.com/{n}"
    return Story(
        feed_id=feed_id,
        canonical_url=url,
        url=url,
        title=f"S{n}",
        published_at=NOW,
        first_seen_at=NOW,
        updated_at=NOW,
        content_hash="0" * 64,
    )


@pytest.mark.postgres
async def test_planner_waits_for_an_uncommitted_lower_id(pg_url: str) -> None:
    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    try:
        async with sessions.begin() as s:
            feed = Feed(
                key="f",
                url="https://example.com/feed",
                title="F",
                origin="catalog",
                created_at=NOW,
                next_check_at=NOW,
            )
            s.add(feed)
            await s.flush()
            feed_id = feed.id
        slow = sessions()
        await slow.begin()
        await story_writes_shared(slow)
        early = new_story(feed_id, 1)
        slow.add(early)
        await slow.flush()  # id allocated, not committed
        async with sessions.begin() as s:
            await story_writes_shared(s)
            late = new_story(feed_id, 2)
            s.add(late)
        assert early.id < late.id
        planner = asyncio.create_task(SubscriptionsRepository(sessions).max_story_id())
        await asyncio.sleep(0.3)
        assert not planner.done(), "the planner read max(id) past an uncommitted story"
        await slow.commit()
        await slow.close()
        assert await asyncio.wait_for(planner, 5) == late.id
    finally:
        await engine.dispose()
