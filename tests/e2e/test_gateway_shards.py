"""Two gateway processes, shards 0 and 1 of 2, on one PostgreSQL: each owns its guilds.

Real `techbrief run --roles gateway` processes. Each IDENTIFYs with its own ``shard`` pair,
gets READY/GUILD_CREATE only for the guilds of its shard (``(guild_id >> 22) % 2``), and
answers the interactions of those guilds, which the fake Discord routes to that socket only;
/healthz reports the shard each one holds. Without ``shard_ids`` both would identify as
every shard and one guild's interactions would be answered twice or by the wrong process.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.process import BotProcess, child_env, free_port, run_cli, write_catalog
from tests.e2e.test_kill_midfanout import FEED_URL, _until
from tests.fakediscord import FakeDiscord

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(90)]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(token=f"MTU3NDI1Njk1Njc0NTQ0OTQ3Mw.GxE2eT.{secrets.token_urlsafe(27)}")
    yield fake
    await fake.stop()


async def _health(port: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        body: dict[str, Any] = await response.json()
        return body


async def test_each_gateway_process_owns_the_guilds_of_its_shard(
    fake: FakeDiscord, pg_url: str, tmp_path: Path
) -> None:
    by_shard: dict[int, list[int]] = {0: [], 1: []}
    for guild in fake.world.guilds.values():
        by_shard[(guild.id >> 22) % 2].append(guild.id)
    while not (by_shard[0] and by_shard[1]):
        guild = fake.world.add_guild(f"guild-{len(fake.world.guilds)}")
        by_shard[(guild.id >> 22) % 2].append(guild.id)
    await fake.start()
    env = child_env(
        {
            "DISCORD_TOKEN": fake.token,
            "DISCORD_API_BASE": fake.api_base,
            "DATABASE_URL": pg_url,
            "TECHBRIEF_CATALOG__PATH": str(write_catalog(tmp_path / "feeds.toml", FEED_URL)),
            "TECHBRIEF_LOG__JSON": "1",
            "TECHBRIEF_DISCORD__SHARD_COUNT": "2",
        }
    )
    sync = await run_cli("sync-commands", env=env)
    assert sync.code == 0, sync.output
    ports = {shard: str(free_port()) for shard in (0, 1)}
    procs = {
        shard: BotProcess(
            {
                **env,
                "TECHBRIEF_HTTP__PORT": ports[shard],
                "TECHBRIEF_DISCORD__SHARD_IDS": str(shard),
            },
            args=("run", "--roles", "gateway"),
        )
        for shard in (0, 1)
    }
    try:
        for proc in procs.values():
            await proc.start()

        def identified() -> set[int]:
            return {s.shard_id for s in fake.gateway.live_sessions() if s.conn is not None}

        await _until(lambda: identified() == {0, 1}, "both shards identified", timeout=30)
        for shard, proc in procs.items():
            await _until(lambda p=proc: p.find_log("connected") is not None, "ready", 20)  # type: ignore[misc]
            report = (await _health(ports[shard]))["roles"]
            assert report == {"gateway": {"shards": [shard], "shard_count": 2}}, report
        for session in fake.gateway.live_sessions():
            assert session.shard_count == 2
            created = {int(e["d"]["id"]) for e in session.history if e.get("t") == "GUILD_CREATE"}
            assert created == set(by_shard[session.shard_id])
        # Each guild's interaction reaches its shard's socket only and is answered once, there.
        sessions = {s.shard_id: s for s in fake.gateway.live_sessions()}
        for shard in (1, 0):
            guild = fake.world.guilds[by_shard[shard][0]]
            rec = await fake.interact_command("help", guild=guild)
            assert rec.ephemeral and rec.data["embeds"][0]["title"] == "techbrief help"
            seen = {
                n: [
                    int(e["d"]["guild_id"])
                    for e in sess.history
                    if e.get("t") == "INTERACTION_CREATE"
                ]
                for n, sess in sessions.items()
            }
            assert guild.id in seen[shard] and guild.id not in seen[1 - shard], seen
        answered = [
            r.path
            for r in fake.sent("POST /interactions/{interaction_id}/{interaction_token}/callback")
            if r.status < 300
        ]
        assert len(answered) == len(set(answered)) == 2, answered
        fake.assert_no_violations()
    finally:
        for proc in procs.values():
            await proc.kill()
