"""Podcasts and videos in storage (migration 0009), on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.ingest.parser import parse_and_normalize
from bot.storage.engine import session_factory
from bot.storage.feeds_repo import FeedsRepository
from bot.storage.migrate import downgrade, upgrade
from bot.storage.models import Story
from bot.storage.stories_repo import StoriesRepository
from bot.storage.subscriptions_repo import recent_stories
from tests.ingest.conftest import fixture_bytes
from tests.ingest.dbhelpers import T0, make_feed

WHEN = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _stories(name: str, url: str):
    return parse_and_normalize(fixture_bytes(name), {}, url, T0).stories


async def test_0009_keeps_old_rows_valid_articles_and_downgrades(engine: AsyncEngine) -> None:
    await downgrade(engine, "0008")
    when = WHEN.replace(tzinfo=None) if engine.dialect.name == "sqlite" else WHEN
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO feeds (id, key, url, title, origin, active, created_at, "
                "next_check_at, error_count, gone, unusable_key_kinds) VALUES "
                "(1, 'old', 'https://old.example/feed', 'Old', 'catalog', :t, :w, :w, 0, :f, '')"
            ),
            {"w": when, "t": True, "f": False},
        )
        await conn.execute(
            text(
                "INSERT INTO stories (id, feed_id, canonical_url, url, title, summary, "
                "content_text, published_at, first_seen_at, updated_at, content_hash, backfill, "
                "search_title, search_body) VALUES (1, 1, 'https://old.example/1', "
                "'https://old.example/1', 'Old post', 'Text.', 'Text.', :w, :w, :w, 'h', :f, "
                "'old post', 'text')"
            ),
            {"w": when, "f": False},
        )
    await upgrade(engine)
    async with session_factory(engine)() as s:
        row = (await s.scalars(select(Story))).one()
    assert (row.title, row.kind) == ("Old post", "article")
    assert (row.duration_s, row.media_url) == (None, None)

    await downgrade(engine, "0008")

    def columns(conn: Connection) -> set[str]:
        return {c["name"] for c in inspect(conn).get_columns("stories")}

    async with engine.connect() as conn:
        assert not {"kind", "duration_s", "media_url"} & await conn.run_sync(columns)
        assert (await conn.execute(text("SELECT title FROM stories"))).scalar() == "Old post"
    await upgrade(engine)


async def test_episodes_round_trip_to_the_brief_views(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    feed = await make_feed(FeedsRepository(sessions), "systems-talk")
    stories = StoriesRepository(sessions)
    podcast = _stories("podcast_rss.xml", "https://podcast.example/feed.xml")
    video = _stories("youtube_atom.xml", "https://www.youtube.com/feeds/videos.xml?channel_id=x")
    result = await stories.store(feed.id, [*podcast, *video], T0)
    assert result.new == 5
    views = {v.title: v for v in await recent_stories(sessions, since=T0 - timedelta(days=1))}
    ep88 = views["Ep. 88: Write-ahead logs, explained"]
    assert (ep88.kind, ep88.duration_s, ep88.media_url) == (
        "podcast",
        2520,
        "https://media.podcast.example/ep88.mp3",
    )
    assert ep88.image_url == "https://cdn.podcast.example/ep88.jpg"
    assert views["Ep. 87: Queues at the edge"].duration_s == 3723
    assert views["Ep. 86: Bonus: listener questions"].media_url is None
    talk = views["Scaling Postgres reads with logical replicas"]
    assert (talk.kind, talk.duration_s, talk.media_url) == (
        "video",
        None,
        "https://www.youtube.com/watch?v=dQw4w9WgXc1",
    )


async def test_an_episode_stored_as_an_article_gets_its_media_on_the_next_poll(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Rows stored before 0009 are articles; their feed's next document updates them once."""
    feed = await make_feed(FeedsRepository(sessions), "systems-talk")
    stories = StoriesRepository(sessions)
    episode = _stories("podcast_rss.xml", "https://podcast.example/feed.xml")[0]
    # What an older build stored: the same text, no media, the hash without media.
    before = replace(
        episode, kind="article", duration_s=None, media_url=None, content_hash="old-hash"
    )
    first = await stories.store(feed.id, [before], T0)
    again = await stories.store(feed.id, [episode], T0 + timedelta(hours=1))
    assert (again.new, again.updated) == (0, 1)
    async with sessions() as s:
        row = (await s.scalars(select(Story))).one()
    assert row.id == first.new_ids[0]
    assert (row.kind, row.duration_s, row.media_url) == (
        "podcast",
        2520,
        "https://media.podcast.example/ep88.mp3",
    )
