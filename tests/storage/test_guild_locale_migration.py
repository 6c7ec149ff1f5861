"""Migration 0012 on a populated database: guilds keep everything and have no language yet
(English briefs, as before), the column takes one, and it downgrades cleanly."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.migrate import downgrade, upgrade

WHEN = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
GUILDS = [(111_111_111_111_111_111, "Seoul devs"), (222_222_222_222_222_222, "東京")]


def _guild_columns(conn: Connection) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns("guilds")}


async def test_0012_adds_a_language_to_existing_guilds(engine: AsyncEngine) -> None:
    await downgrade(engine, "0011")
    when = WHEN.replace(tzinfo=None) if engine.dialect.name == "sqlite" else WHEN
    async with engine.begin() as conn:
        for guild_id, name in GUILDS:
            await conn.execute(
                text("INSERT INTO guilds (id, name, joined_at) VALUES (:id, :name, :when)"),
                {"id": guild_id, "name": name, "when": when},
            )
    await upgrade(engine)
    async with engine.begin() as conn:
        rows = (await conn.execute(text("SELECT id, name, locale FROM guilds ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [(g, n, None) for g, n in GUILDS]
        await conn.execute(
            text("UPDATE guilds SET locale = 'ja' WHERE id = :id"), {"id": GUILDS[1][0]}
        )
        assert (await conn.execute(text("SELECT locale FROM guilds WHERE locale = 'ja'"))).all()
    await downgrade(engine, "0011")
    async with engine.connect() as conn:
        assert "locale" not in await conn.run_sync(_guild_columns)
        assert (await conn.execute(text("SELECT count(*) FROM guilds"))).scalar() == 2
    await upgrade(engine)
