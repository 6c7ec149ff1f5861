"""The whole split topology on one PostgreSQL: the leading sender dies mid fan-out.

Real processes, as docker-compose.yml runs them: two gateways (shards 0 and 1 of 2), one
worker and two senders, against the fake Discord enforcing its global 50 requests/s. 200 due
channels in guilds of both shards; the leading sender is SIGKILLed after part of the fan-out.
The standby takes the lock and finishes: every channel has exactly one header, one thread
and each story once; no 429 was answered, and in no one-second window did the two senders
together send more than the global limit allows.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.storage.engine import create_engine, session_factory
from bot.storage.models import Delivery
from tests.e2e.process import BotProcess, child_env, free_port, write_catalog
from tests.e2e.test_kill_midfanout import FEED_URL, MESSAGES, THREADS, _until, seed_guilds
from tests.fakediscord import FakeDiscord

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(150)]

GUILDS_PER_SHARD = 2
CHANNELS_PER_GUILD = 50  # 200 channels
STORIES = 2
GLOBAL_LIMIT = 50
LEASE_S = 10
KILL_AFTER_HEADERS = 50
LEADER = "this process is now the sender (leader)"
INTERACTIONS = "/interactions/"  # exempt from the global limit on Discord and in the fake


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(
        token=f"MTU3NDI1Njk1Njc0NTQ0OTQ3Mw.GxE2eT.{secrets.token_urlsafe(27)}",
        default_guild=False,
        global_limit=GLOBAL_LIMIT,
    )
    yield fake
    await fake.stop()


def busiest_second(times: list[float]) -> int:
    """The most requests that arrived within any one-second window."""
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_the_standby_sender_finishes_a_fanout_across_both_shards_within_the_limit(
    fake: FakeDiscord, pg_url: str, tmp_path: Path
) -> None:
    by_shard: dict[int, list[int]] = {0: [], 1: []}
    while min(len(g) for g in by_shard.values()) < GUILDS_PER_SHARD:
        guild = fake.add_guild(f"guild-{len(fake.world.guilds)}")
        if len(by_shard[(guild.id >> 22) % 2]) < GUILDS_PER_SHARD:
            by_shard[(guild.id >> 22) % 2].append(guild.id)
    channels_by_guild = {
        gid: [
            fake.world.guilds[gid].add_channel(f"brief-{n:02d}").id
            for n in range(CHANNELS_PER_GUILD)
        ]
        for gids in by_shard.values()
        for gid in gids
    }
    channels = [c for cs in channels_by_guild.values() for c in cs]
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
            "TECHBRIEF_DISCORD__SHARD_COUNT": "2",
            "TECHBRIEF_DISCORD__SEND_WORKERS": "8",
            # Paced a little below the default 49/s: the one-second windows judged below slide
            # over arrival times, which jitter on a loaded machine (Discord's own are fixed).
            "TECHBRIEF_DISCORD__REST_RATE_PER_S": "47",
        }
    )

    def process(roles: str, **extra: str) -> BotProcess:
        return BotProcess(
            {**env, "TECHBRIEF_HTTP__PORT": str(free_port()), **extra},
            args=("run", "--roles", roles),
        )

    gateways = [process("gateway", TECHBRIEF_DISCORD__SHARD_IDS=str(n)) for n in (0, 1)]
    worker = process("worker")
    senders = [process("sender"), process("sender")]
    everyone = [*gateways, worker, *senders]
    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    try:
        for proc in everyone:
            await proc.start()

        def identified() -> set[int]:
            return {s.shard_id for s in fake.gateway.live_sessions() if s.conn is not None}

        await _until(lambda: identified() == {0, 1}, "both shards identified", timeout=40)
        await _until(lambda: any(p.find_log(LEADER) for p in senders), "a sender leads", 30)
        (leader,) = [p for p in senders if p.find_log(LEADER)]
        (standby,) = [p for p in senders if p is not leader]
        # Only the fan-out's requests are judged against the limit, not the start-ups'.
        fanout_from = len(fake.recorder.requests)
        titles = await seed_guilds(pg_url, channels_by_guild, stories=STORIES)

        def with_header() -> int:
            return sum(1 for c in channels if fake.messages(c))

        await _until(
            lambda: with_header() >= KILL_AFTER_HEADERS,
            "the leader is mid fan-out",
            60,
            alive=leader,
        )
        await leader.kill()
        assert with_header() < len(channels), "the fan-out finished before the kill"
        assert standby.find_log(LEADER) is None  # never two senders at once
        await _until(lambda: standby.find_log(LEADER) is not None, "takeover", 20, alive=standby)

        async def unsent() -> int:
            async with sessions() as s:
                rows = await s.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.status != "sent")
                )
            return int(rows or 0)

        deadline = time.monotonic() + 60
        while await unsent() or with_header() < len(channels):
            assert standby.running, standby.output[-4000:]
            assert time.monotonic() < deadline, f"{await unsent()} deliveries left unsent"
            await asyncio.sleep(0.2)

        for c in channels:
            live = fake.messages(c)
            assert len(live) == 1, f"channel {c}: {len(live)} messages, want one header"
            ok_threads = [r for r in fake.sent(THREADS, channel_id=c) if r.status == 201]
            assert len(ok_threads) == 1, f"channel {c}: {len(ok_threads)} threads created"
            got = [
                e["title"] for m in fake.messages(live[0].id) for e in m.payload.get("embeds", [])
            ]
            assert sorted(got) == sorted(titles), f"channel {c}: thread holds {got}"
        async with sessions() as s:
            planned = await s.scalar(select(func.count()).select_from(Delivery))
        assert planned == len(channels)  # planned once per channel, by one sender at a time

        fanout = [
            r
            for r in fake.recorder.requests[fanout_from:]
            if INTERACTIONS not in r.path and r.status != 0
        ]
        assert fake.recorder.rate_limited == [] and fake.ratelimits.count_429 == 0
        peak = busiest_second([r.at for r in fanout])
        assert peak <= GLOBAL_LIMIT, f"{peak} requests in one second"
        assert any(r.route == MESSAGES for r in fanout)
        fake.assert_no_violations()
        for proc in (*gateways, worker, standby):
            assert proc.running, proc.output[-4000:]
        print(f"\n{len(fanout)} fan-out requests, busiest second {peak}/{GLOBAL_LIMIT}")
    finally:
        for proc in everyone:
            await proc.kill()
        await engine.dispose()
