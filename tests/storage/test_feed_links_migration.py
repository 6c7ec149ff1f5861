"""Migration 0008 on a populated database: today's owners become links, nothing is lost."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import session_factory
from bot.storage.feed_links import visible_feed
from bot.storage.migrate import downgrade, upgrade
from bot.storage.models import Feed

WHEN = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
A, B = 111_111_111_111_111_111, 222_222_222_222_222_222

# (id, key, origin, added_by_guild_id, active)
FEEDS = [
    (1, "catalog-one", "catalog", None, True),
    (2, "a-private", "custom", A, True),
    (3, "b-private", "custom", B, True),
    (4, "b-removed", "custom", B, False),  # removed before, kept for a bookmark
    (5, "ops-import", "opml", None, True),
    (6, "a-import", "opml", A, True),
    (7, "taken-over", "catalog", A, True),  # added by A, later listed in the catalog
]


async def _populate(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for feed_id, key, origin, guild, active in FEEDS:
            await conn.execute(
                text(
                    "INSERT INTO feeds (id, key, url, title, origin, added_by_guild_id, active, "
                    "created_at, next_check_at, error_count, gone, unusable_key_kinds) VALUES "
                    "(:id, :key, :url, :title, :origin, :guild, :active, :when, :when, 0, "
                    ":gone, '')"
                ),
                {
                    "id": feed_id,
                    "key": key,
                    "url": f"https://{key}.example/feed",
                    "title": key.title(),
                    "origin": origin,
                    "guild": guild,
                    "active": active,
                    "gone": False,
                    "when": WHEN.replace(tzinfo=None) if engine.dialect.name == "sqlite" else WHEN,
                },
            )


def _tables(conn: Connection) -> tuple[set[str], set[str]]:
    insp = inspect(conn)
    return set(insp.get_table_names()), {c["name"] for c in insp.get_columns("feeds")}


async def test_0008_turns_owners_into_links_and_downgrades_cleanly(engine: AsyncEngine) -> None:
    await downgrade(engine, "0007")
    await _populate(engine)
    await upgrade(engine)
    async with engine.connect() as conn:
        links = (
            await conn.execute(text("SELECT feed_id, guild_id FROM feed_links ORDER BY feed_id"))
        ).all()
        kept = (await conn.execute(text("SELECT count(*) FROM feeds"))).scalar()
    # Active custom and OPML feeds a server added; catalog rows and removed feeds get none.
    assert [tuple(r) for r in links] == [(2, A), (3, B), (6, A)]
    assert kept == len(FEEDS)
    # Visibility reads the links: A sees its own feed, not B's.
    async with session_factory(engine)() as session:
        visible = set(await session.scalars(select(Feed.key).where(visible_feed(A))))
    assert visible == {"catalog-one", "a-private", "ops-import", "a-import", "taken-over"}

    await downgrade(engine, "0007")
    async with engine.connect() as conn:
        tables, columns = await conn.run_sync(_tables)
        owners = (
            await conn.execute(
                text("SELECT count(*) FROM feeds WHERE added_by_guild_id IS NOT NULL")
            )
        ).scalar()
    assert "feed_links" not in tables and "final_url" not in columns
    assert owners == 5  # the history column was never touched
    await upgrade(engine)
