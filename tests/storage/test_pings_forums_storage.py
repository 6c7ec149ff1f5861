"""Migration 0010 and the storage behind role pings and forum posts, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage.deliveries_repo import DeliveriesRepository, PlannedDelivery
from bot.storage.engine import create_engine, session_factory
from bot.storage.migrate import downgrade, upgrade
from bot.storage.subscriptions_repo import SubscriptionsRepository

WHEN = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
GUILD, CHANNEL, ROLE = 111_111_111_111_111_111, 222_222_222_222_222_222, 333_333_333_333_333_333


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(table)}


async def test_0010_keeps_channels_as_unpinged_text_channels_and_downgrades(
    engine: AsyncEngine,
) -> None:
    await downgrade(engine, "0009")
    when = WHEN.replace(tzinfo=None) if engine.dialect.name == "sqlite" else WHEN
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO guilds (id, name, joined_at) VALUES (:g, 'G', :w)"),
            {"g": GUILD, "w": when},
        )
        await conn.execute(
            text(
                "INSERT INTO subscriptions (guild_id, channel_id, mode, timezone, brief_time, "
                "all_sources, watermark, created_at, updated_at) VALUES "
                "(:g, :c, 'brief', 'UTC', '09:00', :t, 7, :w, :w)"
            ),
            {"g": GUILD, "c": CHANNEL, "t": True, "w": when},
        )
    await upgrade(engine)
    sub = await SubscriptionsRepository(session_factory(engine)).get(CHANNEL)
    assert sub is not None
    assert (sub.ping_role_id, sub.channel_kind, sub.watermark) == (None, "text", 7)
    await downgrade(engine, "0009")
    async with engine.connect() as conn:
        subs = await conn.run_sync(_columns, "subscriptions")
        deliveries = await conn.run_sync(_columns, "deliveries")
        kept = (await conn.execute(text("SELECT watermark FROM subscriptions"))).scalar()
    assert not {"ping_role_id", "channel_kind"} & subs
    assert "post_requested_at" not in deliveries
    assert kept == 7
    await upgrade(engine)


async def _channel(sessions: async_sessionmaker[AsyncSession]) -> SubscriptionsRepository:
    subs = SubscriptionsRepository(sessions)
    await subs.upsert_guild(GUILD, "G", None, WHEN)
    return subs


async def test_ping_is_set_kept_and_cleared(sessions: async_sessionmaker[AsyncSession]) -> None:
    subs = await _channel(sessions)
    common = {
        "guild_id": GUILD,
        "channel_id": CHANNEL,
        "mode": "brief",
        "timezone": "UTC",
        "brief_time": "09:00",
        "next_brief_at": WHEN,
        "feed_ids": None,
        "created_by": 1,
        "now": WHEN,
    }
    await subs.upsert(**common, ping_role_id=ROLE, channel_kind="forum")  # type: ignore[arg-type]
    await subs.upsert(**common, channel_kind="forum")  # type: ignore[arg-type]
    sub = await subs.get(CHANNEL)
    assert sub is not None and (sub.ping_role_id, sub.channel_kind) == (ROLE, "forum")
    assert await subs.set_ping(CHANNEL, None, WHEN)
    sub = await subs.get(CHANNEL)
    assert sub is not None and sub.ping_role_id is None
    assert not await subs.set_ping(CHANNEL + 1, ROLE, WHEN)  # no such channel


async def test_forum_post_request_is_recorded_under_the_lease(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    subs = await _channel(sessions)
    sub, _ = await subs.upsert(
        guild_id=GUILD,
        channel_id=CHANNEL,
        mode="brief",
        timezone="UTC",
        brief_time="09:00",
        next_brief_at=WHEN,
        feed_ids=None,
        created_by=1,
        now=WHEN,
    )
    outbox = DeliveriesRepository(sessions)
    planned = [PlannedDelivery(f"brief:{n}", "brief", {"forum": True}) for n in range(2)]
    await outbox.commit_plan(
        sub.id,
        expected_watermark=sub.watermark,
        new_watermark=sub.watermark,
        next_brief_at=None,
        deliveries=planned,
        channel_id=CHANNEL,
        now=WHEN,
    )
    first, second = await outbox.lease_deliveries(WHEN, "me", limit=2)
    assert not await outbox.mark_post_requested(first.id, owner="someone else", now=WHEN)
    assert await outbox.mark_post_requested(first.id, owner="me", now=WHEN)
    assert await outbox.record_progress(
        first.id, owner="me", progress=1, message_id=42, thread_id=42, lease_until=WHEN
    )
    (row, other) = await outbox.deliveries_for(CHANNEL)
    assert row.post_requested_at == WHEN and row.thread_id == 42
    assert other.post_requested_at is None
    assert await outbox.threads_in_use(CHANNEL) == {42}
    assert await outbox.threads_in_use(CHANNEL + 1) == set()
    assert second.id == other.id


async def test_sqlite_migrations_never_cascade_through_rebuilt_tables(sqlite_url: str) -> None:
    """SQLite rebuilds a table to drop a column (PostgreSQL alters it in place); the guilds
    rebuild of 0012's downgrade must not delete the guild's channels through their ON
    DELETE CASCADE."""
    engine = create_engine(sqlite_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        subs = await _channel(sessions)
        await subs.upsert(
            guild_id=GUILD,
            channel_id=CHANNEL,
            mode="brief",
            timezone="UTC",
            brief_time="09:00",
            next_brief_at=WHEN,
            feed_ids=None,
            created_by=None,
            now=WHEN,
        )
        await downgrade(engine, "0009")
        await upgrade(engine)
        assert await SubscriptionsRepository(sessions).get(CHANNEL) is not None
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await engine.dispose()
