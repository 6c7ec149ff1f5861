"""Ordering story writes against brief planning on PostgreSQL.

PostgreSQL hands out sequence ids when a row is inserted, not when it commits: a planner that
reads max(id) while a writer holds an uncommitted lower id would move a watermark past a story
that commits a moment later, and that story would never be posted. Story writers hold a shared
advisory lock for their transaction; the planner takes the exclusive one just to read max(id),
which waits for every writer that might hold a lower id. SQLite has one writer at a time and
assigns ids in commit order, so it needs none of this.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

STORY_WRITES_LOCK = 0x7465636862726966  # "techbrif", an app-wide advisory lock key


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def story_writes_shared(session: AsyncSession) -> None:
    """Call first thing in a transaction that inserts stories."""
    if _postgres(session):
        await session.execute(
            text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": STORY_WRITES_LOCK}
        )


async def story_writes_barrier(session: AsyncSession) -> None:
    """Wait until every story-writing transaction that started earlier has finished."""
    if _postgres(session):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_WRITES_LOCK}
        )
