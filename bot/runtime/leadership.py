"""One sender at a time per bot token, across processes: a PostgreSQL advisory lock.

Discord's global rate limit is per token, so two processes sending for one bot would each
pace themselves to the whole limit and together exceed it. Every sender process competes for
one session-level advisory lock, held on a connection of its own (never a pooled one, which
would hand the lock to whatever borrows the connection next). The holder is the leader and
sends; the others are standbys and try again on every tick. When the leader dies its session
ends and PostgreSQL frees the lock, so a standby takes over on its next tick; the deliveries
the leader had in flight come back when their leases expire (``delivery_lease_seconds``).

A leader checks its connection before it sends anything: if the connection is gone, so is
the lock (another process may hold it already), and it stops sending at once.

On SQLite there is one process (``single_process``), which is always the leader.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

RECHECK_S = 1.0  # how stale "still the leader" may be before a delivery asks again


def lock_key(token: str) -> int:
    """The advisory lock's key for a bot token: a signed 64-bit number from its hash (the
    token itself never reaches the database)."""
    digest = hashlib.sha256(b"techbrief-sender:" + token.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SenderLeadership:
    def __init__(self, engine: AsyncEngine, key: int) -> None:
        self._engine = engine
        self._key = key
        self._conn: AsyncConnection | None = None
        self._enabled = engine.dialect.name == "postgresql"
        # One connection, many send workers asking at once: one question at a time, and a
        # recent answer is reused so a delivery does not cost a round trip of its own.
        self._lock = asyncio.Lock()
        self._checked_at = -1.0

    @property
    def state(self) -> str:
        """``leader`` or ``standby``, as /healthz shows it."""
        return "leader" if self.is_leader else "standby"

    @property
    def is_leader(self) -> bool:
        return not self._enabled or self._conn is not None

    async def ensure(self) -> bool:
        """Whether this process may send now: keeps a held lock (checking its connection is
        alive) or tries to take a free one."""
        if not self._enabled:
            return True
        async with self._lock:
            if self._conn is not None:
                if time.monotonic() - self._checked_at < RECHECK_S:
                    return True
                if await self._still_held(self._conn):
                    self._checked_at = time.monotonic()
                    return True
                await self._drop("lost the sender lock (its database connection ended)")
            got = await self._acquire()
            self._checked_at = time.monotonic()
            return got

    async def _still_held(self, conn: AsyncConnection) -> bool:
        try:
            # The lock lives exactly as long as this session: a live session holds it.
            await conn.execute(text("SELECT 1"))
        except (DBAPIError, SQLAlchemyError, OSError):
            return False
        return True

    async def _acquire(self) -> bool:
        conn: AsyncConnection | None = None
        try:
            conn = await self._engine.connect()
            # Autocommit: a session-level lock outlives transactions, and an idle open
            # transaction would hold back vacuum for as long as the process leads.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = bool(
                await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key})
            )
        except (DBAPIError, SQLAlchemyError, OSError) as exc:
            log.warning("cannot reach the database for the sender lock: %s", type(exc).__name__)
            if conn is not None:
                await _close(conn)
            return False
        if not got:
            await _close(conn)
            return False
        self._conn = conn
        log.info("this process is now the sender (leader)")
        return True

    async def _drop(self, why: str) -> None:
        log.warning(why)
        conn, self._conn = self._conn, None
        if conn is not None:
            await _close(conn)

    async def release(self) -> None:
        """Give the lock up (shutdown): a standby takes over on its next tick."""
        async with self._lock:
            await self._release()

    async def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
        except (DBAPIError, SQLAlchemyError, OSError):
            pass  # the session is ending anyway, which frees the lock
        await _close(conn)


async def _close(conn: AsyncConnection) -> None:
    try:
        await conn.close()
    except (DBAPIError, SQLAlchemyError, OSError):
        await conn.invalidate()
