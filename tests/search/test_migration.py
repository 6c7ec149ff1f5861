"""Search migrations (0002-0005): the search index is all they add, and downgrades undo it."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import create_engine
from bot.storage.migrate import downgrade, include_object, upgrade
from bot.storage.models import Base


def _diff(conn: Connection) -> list[Any]:
    # The same filter Alembic's env uses: one definition of what the models leave out.
    opts = {"compare_type": True, "include_object": include_object}
    return list(compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata))


def _search_objects(conn: Connection) -> set[str]:
    insp = inspect(conn)
    found = {t for t in insp.get_table_names() if t.startswith("stories_fts")}
    found |= {c["name"] for c in insp.get_columns("stories") if c["name"].startswith("search_")}
    found -= {"search_title", "search_body"}  # plain columns of 0001, which 0002 indexes
    found |= {i["name"] or "" for i in insp.get_indexes("stories") if "search" in (i["name"] or "")}
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        found |= {r[0] for r in rows}
    else:
        rows = conn.exec_driver_sql("SELECT proname FROM pg_proc WHERE proname LIKE 'tb_search%'")
        found |= {r[0] for r in rows}
    return found


async def test_models_match_migrations_apart_from_the_search_index(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
        assert await conn.run_sync(_search_objects)


async def test_downgrade_to_0001_drops_every_search_object(engine: AsyncEngine) -> None:
    await downgrade(engine, "0001")
    async with engine.connect() as conn:
        assert await conn.run_sync(_search_objects) == set()
    await upgrade(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


def _vector_storage(conn: Connection) -> str:
    sql = (
        "SELECT attstorage::text FROM pg_attribute "
        "WHERE attrelid = 'stories'::regclass AND attname = 'search_vector'"
    )
    return str(conn.exec_driver_sql(sql).scalar_one())


@pytest.mark.postgres
async def test_postgres_keeps_the_search_vector_in_the_row_from_0005(pg_url: str) -> None:
    # Ranking reads each candidate's vector: in the row (m, MAIN) it costs no TOAST probe.
    engine = create_engine(pg_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_vector_storage) == "m"
        await downgrade(engine, "0004")
        async with engine.connect() as conn:
            assert await conn.run_sync(_vector_storage) == "x"
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_vector_storage) == "m"
    finally:
        await engine.dispose()
