"""Models and migrations agree; the constraints the invariants rely on hold, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage.engine import create_engine
from bot.storage.migrate import (
    current_revision,
    downgrade,
    head_revision,
    include_object,
    upgrade,
)
from bot.storage.models import Base, Bookmark, Feed, Story, StoryKey

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _diff(conn: Connection) -> list[Any]:
    ctx = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_object": include_object}
    )
    return list(compare_metadata(ctx, Base.metadata))


async def test_migrations_match_models(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == [], f"models and migrations differ: {diff}"
    assert await current_revision(engine) == head_revision()


async def test_downgrade_to_base_and_back(engine: AsyncEngine) -> None:
    await downgrade(engine, "base")
    assert await current_revision(engine) is None
    await upgrade(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/nested/dir/t.db", busy_timeout_ms=1234)
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 1234
    finally:
        await engine.dispose()


def make_feed(key: str = "netflix") -> Feed:
    return Feed(
        key=key,
        url=f"https://example.com/{key}.xml",
        title=key.title(),
        origin="catalog",
        created_at=NOW,
        next_check_at=NOW,
    )


def make_story(feed: Feed, n: int = 1) -> Story:
    return Story(
        feed_id=feed.id,
        canonical_url=f"https://example.com/p/{n}",
        url=None,
        title=f"Story {n}",
        published_at=NOW,
        first_seen_at=NOW,
        updated_at=NOW,
        content_hash="h" * 64,
    )


async def test_datetimes_round_trip_as_aware_utc(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s:
        feed = make_feed()
        s.add(feed)
        await s.commit()
    async with sessions() as s:
        loaded = (await s.execute(select(Feed))).scalar_one()
        assert loaded.next_check_at == NOW
        assert loaded.next_check_at.tzinfo is not None


async def test_feed_unusable_key_kinds_defaults_to_empty(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # The server default covers rows written without the ORM (and any written before it).
    async with sessions() as s:
        await s.execute(
            text(
                "INSERT INTO feeds (key, url, title, origin, active, created_at, next_check_at,"
                " error_count, gone) VALUES ('raw', 'https://raw.test/feed', 'Raw', 'catalog',"
                " :t, :now, :now, 0, :f)"
            ),
            {"t": True, "f": False, "now": NOW},
        )
        s.add(make_feed("orm"))
        await s.commit()
    async with sessions() as s:
        rows = dict((await s.execute(select(Feed.key, Feed.unusable_key_kinds))).all())
    assert rows == {"raw": "", "orm": ""}


async def test_bookmarked_story_cannot_be_deleted(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s:
        feed = make_feed()
        s.add(feed)
        await s.flush()
        story = make_story(feed)
        s.add(story)
        await s.flush()
        s.add(Bookmark(user_id=42, story_id=story.id, created_at=NOW))
        await s.commit()
        story_id = story.id
    async with sessions() as s:
        with pytest.raises(IntegrityError):
            await s.execute(text("DELETE FROM stories WHERE id = :id"), {"id": story_id})
            await s.commit()


async def test_pruned_story_leaves_a_tombstone_key(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s:
        feed = make_feed()
        s.add(feed)
        await s.flush()
        story = make_story(feed)
        s.add(story)
        await s.flush()
        s.add(StoryKey(feed_id=feed.id, key="guid-1", story_id=story.id, first_seen_at=NOW))
        await s.commit()
        story_id = story.id
    async with sessions() as s:
        await s.execute(text("DELETE FROM stories WHERE id = :id"), {"id": story_id})
        await s.commit()
    async with sessions() as s:
        key = (await s.execute(select(StoryKey))).scalar_one()
        assert key.key == "guid-1" and key.story_id is None


async def test_story_ids_grow_with_insertion(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s:
        feed = make_feed()
        s.add(feed)
        await s.flush()
        ids = []
        for n in range(3):
            story = make_story(feed, n)
            s.add(story)
            await s.flush()
            ids.append(story.id)
        await s.commit()
    assert ids == sorted(ids) and len(set(ids)) == 3


async def test_migration_0007_keeps_existing_channels_daily(engine: AsyncEngine) -> None:
    await downgrade(engine, "0006")
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO guilds (id, name, joined_at) VALUES (1, 'g', :now)"), {"now": NOW}
        )
        await conn.execute(
            text(
                "INSERT INTO subscriptions (guild_id, channel_id, mode, timezone, brief_time, "
                "all_sources, watermark, next_brief_at, created_at, updated_at) VALUES "
                "(1, 10, 'brief', 'Asia/Seoul', '08:30', :t, 42, :now, :now, :now)"
            ),
            {"now": NOW, "t": True},
        )
    await upgrade(engine)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT every, weekday, brief_time, watermark FROM subscriptions "
                    "WHERE channel_id = 10"
                )
            )
        ).one()
    assert tuple(row) == ("daily", None, "08:30", 42)
