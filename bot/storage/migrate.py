"""Alembic, driven from code: `techbrief db upgrade`, `make run` and the tests share it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


# Full-text search objects are created with raw DDL per backend (FTS5 virtual tables on
# SQLite, a generated tsvector column and GIN index on PostgreSQL); the ORM models do not
# describe them, so comparisons and autogenerate must leave them alone.
SEARCH_TABLE_PREFIX = "stories_fts"
SEARCH_COLUMNS = {"search_vector", "search_pairs", "search_words"}
SEARCH_INDEXES = {"ix_stories_search_vector", "ix_stories_search_pairs", "ix_stories_search_words"}


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, _compare_to: object
) -> bool:
    if name is None:
        return True
    if type_ == "table" and name.startswith(SEARCH_TABLE_PREFIX):
        return False
    if type_ == "column" and name in SEARCH_COLUMNS:
        return False
    return not (type_ == "index" and name in SEARCH_INDEXES)


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _checked(conn: Connection, step: Callable[[Config], None]) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    step(cfg)
    if conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration left rows without their parent: {broken[:5]}")


async def _migrate(engine: AsyncEngine, step: Callable[[Config], None]) -> None:
    """Run an Alembic command in one transaction.

    SQLite alters a table by copying it and dropping the original; with foreign keys
    enforced, dropping a parent (guilds, subscriptions) would cascade-delete every child
    row. So on SQLite enforcement is off for the migration (the pragma only takes effect
    outside a transaction), the result is checked with foreign_key_check instead, and
    enforcement is back on before the connection returns to the pool.
    """
    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.commit()
        try:
            async with conn.begin():
                await conn.run_sync(_checked, step)
        finally:
            if sqlite:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.commit()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _migrate(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _migrate(engine, lambda cfg: command.downgrade(cfg, revision))


async def current_revision(engine: AsyncEngine) -> str | None:
    def _read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_read)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
