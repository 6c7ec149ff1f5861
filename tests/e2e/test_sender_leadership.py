"""Two sender processes on one PostgreSQL: one sends, the other stands by and takes over.

Real `techbrief run --roles sender` processes against the fake Discord. While both run, only
the holder of the advisory lock sends (the other never logs leadership); the leader is
SIGKILLed mid fan-out and the standby finishes within the delivery lease, every channel
getting its brief exactly once. A standby that sent too (no lock) would duplicate headers or
race on nonces; a standby that never took over would leave channels without a brief.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.storage.engine import create_engine, session_factory
from bot.storage.models import Delivery
from tests.e2e.process import BotProcess, child_env, free_port, write_catalog
from tests.e2e.test_kill_midfanout import FEED_URL, MESSAGES, _seed, _until
from tests.fakediscord import FakeDiscord

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(90)]

CHANNELS = 16
LEASE_S = 10  # the smallest delivery lease the settings allow
LEADER = "this process is now the sender (leader)"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(token=f"MTU3NDI1Njk1Njc0NTQ0OTQ3Mw.GxE2eT.{secrets.token_urlsafe(27)}")
    yield fake
    await fake.stop()


async def test_one_sender_at_a_time_and_a_standby_takes_over(
    fake: FakeDiscord, pg_url: str, tmp_path: Path
) -> None:
    channels = [fake.guild.add_channel(f"brief-{n:02d}").id for n in range(CHANNELS)]
    await fake.start()
    env = child_env(
        {
            "DISCORD_TOKEN": fake.token,
            "DISCORD_API_BASE": fake.api_base,
            "DATABASE_URL": pg_url,
            "TECHBRIEF_CATALOG__PATH": str(write_catalog(tmp_path / "feeds.toml", FEED_URL)),
            "TECHBRIEF_LOG__JSON": "1",
            "TECHBRIEF_SCHEDULER__TICK_SECONDS": "1",
            "TECHBRIEF_SCHEDULER__DELIVERY_LEASE_SECONDS": str(LEASE_S),
            "TECHBRIEF_DISCORD__SEND_WORKERS": "2",
            # No worker runs here to summarise the seeded stories: post them as they are.
            "TECHBRIEF_BRIEF__SUMMARY_WAIT_SECONDS": "0",
        }
    )
    procs = [
        BotProcess(
            {**env, "TECHBRIEF_HTTP__PORT": str(free_port())}, args=("run", "--roles", "sender")
        )
        for _ in range(2)
    ]

    async def health(proc: BotProcess) -> dict[str, Any]:
        url = f"http://127.0.0.1:{proc.env['TECHBRIEF_HTTP__PORT']}/healthz"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            body: dict[str, Any] = await response.json()
            return body

    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    try:
        # Both up before there is anything to send: one wins the lock, one waits.
        for proc in procs:
            await proc.start()
        await _until(
            lambda: any(p.find_log(LEADER) for p in procs), "a sender took the lock", timeout=20
        )
        (leader,) = [p for p in procs if p.find_log(LEADER)]
        (standby,) = [p for p in procs if p is not leader]
        # /healthz says what each process owns: only the sender role, leader or standby.
        assert (await health(leader))["roles"] == {"sender": {"state": "leader"}}
        assert (await health(standby))["roles"] == {"sender": {"state": "standby"}}
        fake.faults.slow(MESSAGES, delay=0.3)  # a fan-out slow enough to kill mid-way
        await _seed(pg_url, fake.guild.id, channels)

        def with_header() -> int:
            return sum(1 for c in channels if fake.messages(c))

        await _until(lambda: with_header() >= 3, "the leader started sending", 20, alive=leader)
        assert standby.find_log(LEADER) is None  # never two senders at once
        await leader.kill()
        killed_at = time.monotonic()
        assert with_header() < CHANNELS, "the fan-out finished before the kill: nothing to test"

        await _until(lambda: standby.find_log(LEADER) is not None, "takeover", 10, alive=standby)
        took_over = time.monotonic() - killed_at

        async def all_sent() -> bool:
            async with sessions() as s:
                rows = (await s.scalars(select(Delivery))).all()
            return len(rows) == CHANNELS and all(d.status == "sent" for d in rows)

        deadline = time.monotonic() + LEASE_S + 30
        while not await all_sent():
            assert standby.running, standby.output[-4000:]
            assert time.monotonic() < deadline, "the standby did not finish the fan-out"
            await asyncio.sleep(0.1)
        for c in channels:
            assert len(fake.messages(c)) == 1, f"channel {c}: want exactly one header"
        # A sender-only process delivers over REST and never opens the gateway.
        assert fake.recorder.gateway.connections == 0
        fake.assert_no_violations()
        assert (await health(standby))["roles"] == {"sender": {"state": "leader"}}
        print(f"\nstandby took the lock {took_over:.1f}s after the leader was killed")
        assert await standby.stop() == 0
    finally:
        for proc in procs:
            await proc.kill()
        await engine.dispose()
