"""A process SIGKILLed while Discord creates forum posts: the restarted one makes no second post.

A forum post's first message carries no nonce, so the outbox alone keeps it exactly-once: the
delivery records that the post was asked for before the request goes out, and a retry with
that record but no post id finds the post among the guild's active threads instead of
creating another. Here `techbrief run` posts briefs into forum channels slowly (the fake holds
each post and each reply for a moment) and is killed with a post request in flight; a second
`techbrief run` on the same database finishes every forum. Each forum must hold exactly one
post, tagged, with every story once; without the lookup the in-flight posts are duplicated.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.storage.engine import create_engine, session_factory
from bot.storage.models import Delivery, Subscription
from tests.e2e.process import BotProcess, child_env, free_port, run_cli, write_catalog
from tests.e2e.test_kill_midfanout import FEED_URL, seed_guilds
from tests.fakediscord import Channel, FakeDiscord
from tests.fakediscord.forums import add_forum, tag_names

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

POSTS = "POST /channels/{channel_id}/threads"
MESSAGES = "POST /channels/{channel_id}/messages"
ACTIVE = "GET /guilds/{guild_id}/threads/active"
FORUMS = 12
STORIES = 3
POST_DELAY_S = 0.4
SEND_DELAY_S = 0.1


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(token=f"MTU3NDI1Njk1Njc0NTQ0OTQ3Mw.GxE2eT.{secrets.token_urlsafe(27)}")
    yield fake
    await fake.stop()


async def _until(check: object, what: str, timeout: float, alive: BotProcess) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if not alive.running:
            raise AssertionError(f"techbrief run exited before {what}:\n{alive.output[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout}s\n{alive.output[-4000:]}")
        await asyncio.sleep(0.01)


async def test_a_killed_process_restarted_mid_post_makes_no_second_post(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    forums = [add_forum(fake.guild, f"forum-{n:02d}", ("Tech Brief",)) for n in range(FORUMS)]
    await fake.start()
    fake.faults.slow(POSTS, delay=POST_DELAY_S)
    fake.faults.slow(MESSAGES, delay=SEND_DELAY_S)
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'kill-forum.db'}"
    env = child_env(
        {
            "DISCORD_TOKEN": fake.token,
            "DISCORD_API_BASE": fake.api_base,
            "DATABASE_URL": db_url,
            "TECHBRIEF_HTTP__PORT": str(free_port()),
            "TECHBRIEF_CATALOG__PATH": str(write_catalog(tmp_path / "feeds.toml", FEED_URL)),
            "TECHBRIEF_LOG__JSON": "1",
            "TECHBRIEF_SCHEDULER__TICK_SECONDS": "1",
            "TECHBRIEF_DISCORD__SEND_WORKERS": "4",
        }
    )
    upgrade = await run_cli("db", "upgrade", env=env)
    assert upgrade.code == 0, upgrade.output
    titles = await seed_guilds(db_url, {fake.guild.id: [f.id for f in forums]}, STORIES)
    engine = create_engine(db_url)
    async with session_factory(engine).begin() as s:
        await s.execute(update(Subscription).values(channel_kind="forum"))
    await engine.dispose()  # no connection of ours stays open while the bot writes

    def posts(forum: Channel) -> list[Channel]:
        return [c for c in fake.guild.channels.values() if c.parent_id == forum.id]

    def in_flight() -> list[int]:
        return [r.channel_id or 0 for r in fake.sent(POSTS) if r.status == 0]

    first = BotProcess(env)
    second = BotProcess({**env, "TECHBRIEF_HTTP__PORT": str(free_port())})
    try:
        await first.start()
        await _until(
            lambda: sum(1 for f in forums if posts(f)) >= 2 and bool(in_flight()),
            "two forum posts made and another one in flight",
            timeout=20,
            alive=first,
        )
        await first.kill()  # SIGKILL while Discord is creating a post
        assert sum(1 for f in forums if posts(f)) < FORUMS, "finished before the kill"
        await fake.wait_until(lambda: not in_flight(), timeout=5)  # those posts still land
        engine = create_engine(db_url)
        sessions = session_factory(engine)
        async with sessions() as s:
            rows = {d.channel_id: d for d in (await s.scalars(select(Delivery))).all()}
        by_id = {f.id: f for f in forums}
        # Posts Discord made whose ids the dead process never recorded: the case under test.
        orphans = {
            c
            for c, d in rows.items()
            if d.post_requested_at is not None and d.thread_id is None and posts(by_id[c])
        }
        assert orphans, "no post landed unrecorded at the kill: nothing to test"
        async with sessions.begin() as s:  # the dead process's leases run out
            await s.execute(
                update(Delivery)
                .where(Delivery.status == "pending")
                .values(lease_until=datetime.now(UTC) - timedelta(seconds=1))
            )

        await second.start()

        def complete() -> bool:
            return all(len(p := posts(f)) == 1 and len(fake.messages(p[0].id)) >= 2 for f in forums)

        await _until(complete, "every forum got its post and replies", timeout=20, alive=second)
        deadline = time.monotonic() + 10
        while True:
            async with sessions() as s:
                after = list((await s.scalars(select(Delivery))).all())
            if all(d.status == "sent" for d in after):
                break
            assert time.monotonic() < deadline, [(d.id, d.status, d.last_error) for d in after]
            await asyncio.sleep(0.05)
        assert await second.stop() == 0, second.output[-4000:]

        for forum in forums:
            (post,) = posts(forum)
            assert tag_names(forum, post) == ["Tech Brief"]
            made = [r for r in fake.sent(POSTS, channel_id=forum.id) if r.status == 201]
            assert len(made) == 1, f"forum {forum.name}: {len(made)} posts created"
            messages = fake.messages(post.id)
            assert messages[0].id == post.id
            assert messages[0].payload["embeds"][0]["title"].startswith("Tech Brief")
            cards = [e["title"] for m in messages[1:] for e in m.payload["embeds"]]
            assert sorted(cards) == sorted(titles), f"forum {forum.name}: {cards}"
        assert {d.thread_id for d in after} == {posts(f)[0].id for f in forums}
        assert fake.sent(ACTIVE), "the retry looked the unrecorded posts up"
        fake.assert_no_violations()
        print(
            f"\n{len(orphans)} post(s) made but unrecorded at the kill, adopted on restart; "
            f"{len(fake.sent(ACTIVE))} active-thread lookup(s)"
        )
    finally:
        await first.kill()
        await second.kill()
        await engine.dispose()
