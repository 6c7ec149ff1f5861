"""A killed process that restarts mid-fan-out completes the remaining channels and repeats none.

DESIGN.md invariant 5 end to end, with real processes: `techbrief run` plans 40 due channels
into the outbox and starts sending (slowly: the fake Discord holds every message POST for a
moment); it is SIGKILLed (no graceful shutdown, no drain) while a send is in flight, after
some channels got their brief and before all did. A second `techbrief run` on the same
database must finish every channel: the messages the dead process sent but never recorded
are resent with the same nonce and deduplicated by "Discord", so every channel ends up with
exactly one header, one thread and every story once.

Without enforce_nonce (or with a nonce that is not deterministic) the orphaned sends become
visible duplicates and the per-channel assertions fail; without per-message progress the
finished part of a half-sent brief is repeated; without the outbox the killed channels are
lost or re-planned.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage.engine import create_engine, session_factory
from bot.storage.models import Delivery, Feed, Guild, Subscription
from tests.briefs.helpers import add_story
from tests.e2e.process import BotProcess, child_env, free_port, run_cli, write_catalog
from tests.fakediscord import FakeDiscord

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

MESSAGES = "POST /channels/{channel_id}/messages"
THREADS = "POST /channels/{channel_id}/messages/{message_id}/threads"
CHANNELS = 40
STORIES = 3
KILL_AFTER_HEADERS = 8
SEND_DELAY_S = 0.15  # every message POST is answered this late: a fan-out of ~4 s
SEND_WORKERS = 4
# Never fetched: the seeded catalog feed is not due for a year (no network in this test).
FEED_URL = "http://127.0.0.1:9/kill-midfanout.xml"
NONCE_RE = re.compile(r"^tb(\d+)\.(\d+)$")


async def _seed(url: str, guild_id: int, channel_ids: list[int]) -> list[str]:
    """The catalog feed, the guild, 40 due channels and 3 stories; returns the story titles."""
    return await seed_guilds(url, {guild_id: channel_ids})


async def seed_guilds(
    url: str, channels_by_guild: Mapping[int, Sequence[int]], stories: int = STORIES
) -> list[str]:
    """The catalog feed, these guilds with these due channels, and ``stories`` stories."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    try:
        async with sessions.begin() as s:
            feed = Feed(
                key="local",
                url=FEED_URL,
                title="Local test blog",
                site_url=FEED_URL.rsplit("/", 1)[0] + "/",
                language="en",
                color=0x336699,
                origin="catalog",
                active=True,
                created_at=now,
                next_check_at=now + timedelta(days=365),
                error_count=0,
                gone=False,
            )
            s.add(feed)
            for guild_id in channels_by_guild:
                # merge: a gateway that already saw the guild has stored it.
                await s.merge(
                    Guild(id=guild_id, name="Test Guild", system_channel_id=None, joined_at=now)
                )
            await s.flush()
            feed_id = feed.id
            for guild_id, channel_ids in channels_by_guild.items():
                for channel_id in channel_ids:
                    s.add(
                        Subscription(
                            guild_id=guild_id,
                            channel_id=channel_id,
                            mode="brief",
                            timezone="UTC",
                            brief_time="09:00",
                            all_sources=True,
                            watermark=0,
                            next_brief_at=now - timedelta(minutes=5),
                            created_at=now,
                            updated_at=now,
                        )
                    )
        titles = [f"Kill-test story {n}" for n in range(stories)]
        for title in titles:
            await add_story(sessions, feed_id, title, published=now - timedelta(hours=1))
        return titles
    finally:
        await engine.dispose()


async def _deliveries(sessions: async_sessionmaker[AsyncSession]) -> list[Delivery]:
    async with sessions() as s:
        return list((await s.scalars(select(Delivery).order_by(Delivery.id))).all())


async def _until(
    predicate: Callable[[], bool], what: str, timeout: float, *, alive: BotProcess | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if alive is not None and not alive.running:
            raise AssertionError(f"techbrief run exited before {what}:\n{alive.output[-4000:]}")
        if time.monotonic() > deadline:
            tail = alive.output[-4000:] if alive is not None else ""
            raise AssertionError(f"{what} not within {timeout}s\n{tail}")
        await asyncio.sleep(0.01)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(token=f"MTU3NDI1Njk1Njc0NTQ0OTQ3Mw.GxE2eT.{secrets.token_urlsafe(27)}")
    yield fake
    await fake.stop()


async def test_a_killed_process_restarted_mid_fanout_repeats_no_channel(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    started = time.monotonic()
    channels = [fake.guild.add_channel(f"brief-{n:02d}").id for n in range(CHANNELS)]
    await fake.start()  # the channels are in the guild the bot receives on IDENTIFY
    fake.faults.slow(MESSAGES, delay=SEND_DELAY_S)

    db_url = f"sqlite+aiosqlite:///{tmp_path / 'kill.db'}"
    env = child_env(
        {
            "DISCORD_TOKEN": fake.token,
            "DISCORD_API_BASE": fake.api_base,
            "DATABASE_URL": db_url,
            "TECHBRIEF_HTTP__PORT": str(free_port()),
            "TECHBRIEF_CATALOG__PATH": str(write_catalog(tmp_path / "feeds.toml", FEED_URL)),
            "TECHBRIEF_LOG__JSON": "1",
            "TECHBRIEF_SCHEDULER__TICK_SECONDS": "1",
            "TECHBRIEF_DISCORD__SEND_WORKERS": str(SEND_WORKERS),
        }
    )
    upgrade = await run_cli("db", "upgrade", env=env)
    assert upgrade.code == 0, upgrade.output
    titles = await _seed(db_url, fake.guild.id, channels)

    def with_header() -> int:
        return sum(1 for c in channels if fake.messages(c))

    def in_flight() -> list[str]:
        return [str(r.nonce) for r in fake.sent(MESSAGES) if r.status == 0]

    # -- the first process: killed mid fan-out, while a message POST is in flight ----------
    first = BotProcess(env)
    second = BotProcess({**env, "TECHBRIEF_HTTP__PORT": str(free_port())})
    engine: AsyncEngine | None = None
    try:
        await first.start()
        await _until(
            lambda: with_header() >= KILL_AFTER_HEADERS and bool(in_flight()),
            f"{KILL_AFTER_HEADERS} channels with a brief and a send in flight",
            timeout=20,
            alive=first,
        )
        await first.kill()  # SIGKILL: no drain, no lease release, no "sent" for in-flight rows
        killed_with = with_header()
        killed_at = time.monotonic()
        assert killed_with < CHANNELS, "the fan-out finished before the kill: nothing to test"
        # The POSTs the dead process had in flight still land (Discord does not roll back a
        # message because the client went away); wait for the fake to answer them.
        await fake.wait_until(lambda: not in_flight(), timeout=5)

        engine = create_engine(db_url)
        sessions = session_factory(engine)
        before = await _deliveries(sessions)
        assert len(before) == CHANNELS, "the first process planned every due channel"
        assert any(d.status == "pending" for d in before)
        # Messages Discord stored whose send the dead process never recorded: the resend of
        # exactly these must be answered from the nonce, never as a new message.
        progress = {d.id: d.progress for d in before}
        orphans = set()
        for req in fake.sent(MESSAGES):
            match = NONCE_RE.match(str(req.nonce))
            assert match and req.enforce_nonce, req
            delivery, index = int(match[1]), int(match[2])
            if req.status == 200 and index >= progress[delivery]:
                orphans.add(str(req.nonce))
        assert orphans, "the send in flight at the kill must have landed unrecorded"

        # Simulates lease expiry: the dead process leased every planned delivery for the
        # publisher's fixed 120 s (not a setting); rather than wait that out, move the
        # leases into the past, which is what the clock would do.
        async with sessions.begin() as s:
            await s.execute(
                update(Delivery)
                .where(Delivery.status == "pending")
                .values(lease_until=datetime.now(UTC) - timedelta(seconds=1))
            )

        # -- the second process on the same database finishes the fan-out -----------------
        before_second = len(fake.sent(MESSAGES))
        await second.start()
        threads: dict[int, int] = {}

        def complete() -> bool:
            for c in channels:
                thread = next(
                    (t for t in fake.guild.channels.values() if t.parent_id == c and t.is_thread),
                    None,
                )
                if thread is None or not fake.messages(thread.id):
                    return False
                threads[c] = thread.id
            return True

        await _until(complete, "every channel got its brief", timeout=20, alive=second)

        async def all_sent() -> bool:
            return all(d.status == "sent" for d in await _deliveries(sessions))

        deadline = time.monotonic() + 10
        while not await all_sent():
            assert time.monotonic() < deadline, [
                (d.id, d.status, d.progress, d.last_error) for d in await _deliveries(sessions)
            ]
            await asyncio.sleep(0.05)
        finished_at = time.monotonic()

        code = await second.stop()
        assert code == 0, second.output[-4000:]
        assert second.find_log("stopped", exit_code=0) is not None

        # -- every channel exactly once ---------------------------------------------------
        for c in channels:
            live = fake.messages(c)
            assert len(live) == 1, f"channel {c}: {len(live)} messages, want one header"
            header = live[0]
            assert header.payload["embeds"][0]["title"].startswith("Tech Brief"), header.payload
            ok_threads = [r for r in fake.sent(THREADS, channel_id=c) if r.status == 201]
            assert len(ok_threads) == 1, f"channel {c}: {len(ok_threads)} threads created"
            assert threads[c] == header.id  # the thread hangs off the one header
            in_thread = fake.messages(threads[c])
            got = [e["title"] for m in in_thread for e in m.payload.get("embeds", [])]
            assert sorted(got) == sorted(titles), f"channel {c}: thread holds {got}"
        all_threads = [t for t in fake.guild.channels.values() if t.is_thread]
        assert len(all_threads) == CHANNELS

        after = await _deliveries(sessions)
        assert [d.status for d in after] == ["sent"] * CHANNELS
        assert all(d.progress == 2 and len(d.message_ids) == 2 for d in after), [
            (d.id, d.progress, d.message_ids) for d in after if d.progress != 2
        ]
        # Which sends Discord answered from the nonce: exactly the orphans, all by the
        # second process (the first never repeated a nonce), and nothing else.
        deduplicated = [r for r in fake.sent(MESSAGES) if r.deduplicated]
        assert {str(r.nonce) for r in deduplicated} == orphans
        assert len(deduplicated) == len(orphans) <= SEND_WORKERS
        assert all(i >= before_second for i, r in enumerate(fake.sent(MESSAGES)) if r.deduplicated)
        # Each message created once: every nonce produced one stored message.
        stored = [m for m in fake.world.messages.values() if m.payload.get("nonce")]
        assert len(stored) == len({m.payload["nonce"] for m in stored}) == 2 * CHANNELS
        fake.assert_no_violations()
        loud = [e for e in second.logs() if e["level"] in ("error", "critical")]
        assert not loud, loud[:5]
        print(
            f"\nkilled after {killed_with}/{CHANNELS} channels; {len(orphans)} orphaned "
            f"send(s) deduplicated by nonce; second process finished in "
            f"{finished_at - killed_at:.1f}s; total {time.monotonic() - started:.1f}s"
        )
    finally:
        await first.kill()
        await second.kill()
        if engine is not None:
            await engine.dispose()
