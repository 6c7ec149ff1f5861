"""The sender lock on a real PostgreSQL: one holder, a lost session stops it, a standby takes it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.runtime import leadership
from bot.runtime.leadership import SenderLeadership, lock_key
from bot.storage.engine import create_engine

pytestmark = pytest.mark.postgres


async def test_one_leader_and_a_lost_session_hands_over(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leadership, "RECHECK_S", 0.0)  # ask the database every time
    engines = [create_engine(pg_url) for _ in range(3)]
    key = lock_key("token-a")
    a, b = SenderLeadership(engines[0], key), SenderLeadership(engines[1], key)
    other_bot = SenderLeadership(engines[1], lock_key("token-b"))
    try:
        assert await a.ensure() and a.state == "leader"
        assert not await b.ensure() and b.state == "standby"
        assert await other_bot.ensure()  # another bot token sends on its own
        assert await a.ensure()  # still held: the same session
        assert a._conn is not None
        pid = await a._conn.scalar(text("SELECT pg_backend_pid()"))
        async with engines[2].connect() as admin:  # the leader's session dies
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert await b.ensure() and b.state == "leader"  # the lock went with the session
        assert not await a.ensure() and a.state == "standby"  # and the old leader knows it
        await b.release()
        assert await a.ensure()
    finally:
        for lead in (a, b, other_bot):
            await lead.release()
        for engine in engines:
            await engine.dispose()
