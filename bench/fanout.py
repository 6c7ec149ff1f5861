"""Brief fan-out to many channels through the fake Discord enforcing the global 50 req/s.

    .venv/bin/python -m bench.fanout [--channels 2000] [--rate 48] [--workers 32] [--plan-only]
                                     [--backend sqlite|postgresql] [--varied]

--varied: channels that share little (each follows 1-3 of 20 feeds, at one of 150
watermarks), the case where per-channel reads and watermark moves used to dominate.

Reports achieved requests/s as a share of the limit, 429s, duplicates and missing
deliveries, and writes bench/results/fanout.json. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord

from bench.pg import postgres
from bot.core.briefs.planning import BriefService
from bot.runtime.discord_api import point_discord_at
from bot.runtime.metrics import Metrics
from bot.runtime.pacer import RatePacer
from bot.runtime.publisher import Publisher
from bot.storage.deliveries_repo import DeliveriesRepository
from bot.storage.engine import create_engine, session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import Feed, Guild, Story, StoryKey, Subscription, SubscriptionFeed
from bot.storage.subscriptions_repo import SubscriptionsRepository
from tests.fakediscord import FakeDiscord

RESULTS = Path(__file__).with_name("results")
MESSAGES = "POST /channels/{channel_id}/messages"
# Channels are spread over zones so planning renders per zone as in a real fleet.
ZONES = (
    "Europe/Berlin",
    "Asia/Seoul",
    "Asia/Tokyo",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Sydney",
)


async def seed(sessions: Any, guild_id: int, channel_ids: list[int], now: datetime) -> None:
    """Channels due now and three new stories each of them should get, inserted in bulk."""
    async with sessions.begin() as s:
        s.add(Guild(id=guild_id, name="bench", joined_at=now))
        feed = Feed(
            key="netflix",
            url="https://netflix.example/feed",
            title="Netflix TechBlog",
            origin="catalog",
            color=0xE50914,
            created_at=now,
            next_check_at=now,
        )
        s.add(feed)
        await s.flush()
        for cid in channel_ids:
            s.add(
                Subscription(
                    guild_id=guild_id,
                    channel_id=cid,
                    mode="brief",
                    timezone=ZONES[cid % len(ZONES)],
                    brief_time="09:00",
                    watermark=cid % 2,  # two story sets: each is read once per batch
                    next_brief_at=now - timedelta(minutes=1),
                    all_sources=True,
                    created_at=now,
                    updated_at=now,
                )
            )
        for n in range(3):
            url = f"https://netflix.example/p/{n}"
            story = Story(
                feed_id=feed.id,
                canonical_url=url,
                url=url,
                title=f"Scaling the brief fan-out, part {n}",
                summary="How one process posts to thousands of channels. " * 5,
                content_text="",
                published_at=now,
                first_seen_at=now,
                updated_at=now,
                content_hash="0" * 64,
            )
            s.add(story)
            await s.flush()
            s.add(StoryKey(feed_id=feed.id, key=url, story_id=story.id, first_seen_at=now))


async def seed_varied(sessions: Any, guild_id: int, channel_ids: list[int], now: datetime) -> None:
    """20 catalog feeds of 10 stories; channels following 1-3 of them from many watermarks."""
    async with sessions.begin() as s:
        s.add(Guild(id=guild_id, name="bench", joined_at=now))
        feeds = [
            Feed(
                key=f"blog{i}",
                url=f"https://blog{i}.example/feed",
                title=f"Blog {i}",
                origin="catalog",
                created_at=now,
                next_check_at=now,
            )
            for i in range(20)
        ]
        s.add_all(feeds)
        await s.flush()
        for feed in feeds:
            for n in range(10):
                url = f"https://blog{feed.id}.example/p/{n}"
                story = Story(
                    feed_id=feed.id,
                    canonical_url=url,
                    url=url,
                    title=f"Post {n} of blog {feed.id}",
                    summary="What one team learned running it. " * 5,
                    content_text="",
                    published_at=now,
                    first_seen_at=now,
                    updated_at=now,
                    content_hash="0" * 64,
                )
                s.add(story)
                await s.flush()
                s.add(StoryKey(feed_id=feed.id, key=url, story_id=story.id, first_seen_at=now))
        for n, cid in enumerate(channel_ids):
            s.add(
                Subscription(
                    guild_id=guild_id,
                    channel_id=cid,
                    mode="brief",
                    timezone=ZONES[n % len(ZONES)],
                    brief_time="09:00",
                    watermark=n % 150,
                    next_brief_at=now - timedelta(minutes=1),
                    all_sources=False,
                    feeds=[
                        SubscriptionFeed(feed_id=feeds[(n + j) % 20].id) for j in range(1 + n % 3)
                    ],
                    created_at=now,
                    updated_at=now,
                )
            )


async def run(
    channels: int,
    rate: float,
    workers: int,
    *,
    plan_only: bool = False,
    db_url: str = "",
    varied: bool = False,
) -> dict[str, Any]:
    fake = FakeDiscord(global_limit=50, default_guild=True, validate_openapi=False)
    chans = [fake.guild.add_channel(f"brief-{n}") for n in range(channels)]
    await fake.start()
    point_discord_at(fake.api_base)
    if not db_url:
        tmp = Path(tempfile.mkdtemp(prefix="techbrief-fanout-"))
        db_url = f"sqlite+aiosqlite:///{tmp}/fanout.db"
    engine = create_engine(db_url)
    await upgrade(engine)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    await (seed_varied if varied else seed)(sessions, fake.guild.id, [c.id for c in chans], now)
    subs, repo = SubscriptionsRepository(sessions), DeliveriesRepository(sessions)
    service = BriefService(subs, repo, clock=lambda: datetime.now(UTC))
    started = time.perf_counter()
    planned = await service.plan_due()
    plan_s = time.perf_counter() - started
    if plan_only:
        await fake.stop()
        await engine.dispose()
        return {
            "backend": engine.dialect.name,
            "varied": varied,
            "channels": channels,
            "deliveries_planned": planned,
            "plan_s": round(plan_s, 2),
        }

    client = discord.Client(intents=discord.Intents.none())
    await client.login(fake.token)
    publisher = Publisher(
        lambda: client.http,
        repo,
        subs,
        Metrics(),
        lambda: datetime.now(UTC),
        owner="bench",
        workers=workers,
        pacer=RatePacer(rate, burst=1),
    )
    before = len(fake.requests)
    t0 = time.perf_counter()
    while await repo.outstanding():
        await publisher.run_once(limit=channels)
    send_s = time.perf_counter() - t0
    sent_requests = len(fake.requests) - before
    await client.close()

    per_channel = {c.id: 0 for c in chans}
    for req in fake.sent(MESSAGES):
        if req.channel_id in per_channel and req.status < 300 and not req.deduplicated:
            per_channel[req.channel_id] += 1
    duplicates = sum(1 for n in per_channel.values() if n > 1)
    missing = sum(1 for n in per_channel.values() if n == 0)
    achieved = sent_requests / send_s
    result = {
        "backend": engine.dialect.name,
        "varied": varied,
        "channels": channels,
        "limit_rps": 50,
        "pacer_rps": rate,
        "workers": workers,
        "deliveries_planned": planned,
        "plan_s": round(plan_s, 2),
        "requests": sent_requests,
        "send_s": round(send_s, 2),
        "achieved_rps": round(achieved, 2),
        "share_of_limit": round(achieved / 50, 3),
        "http_429": fake.ratelimits.count_429,
        "duplicates": duplicates,
        "missing": missing,
    }
    await fake.stop()
    await engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=49.0, help="pacer requests/s")
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument(
        "--plan-only", action="store_true", help="time planning only (target: <= 2 s for 2,000)"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--varied", action="store_true", help="channels that share little")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(postgres()) if args.backend == "postgresql" else ""
        result = asyncio.run(
            run(
                args.channels,
                args.rate,
                args.workers,
                plan_only=args.plan_only,
                db_url=db_url,
                varied=args.varied,
            )
        )
    for key, value in result.items():
        print(f"{key:>20}: {value}")
    if args.plan_only:
        print(
            "target (plan <= 2 s for 2,000 channels):",
            "met" if result["plan_s"] <= 2 else "NOT met",
        )
        return
    RESULTS.mkdir(exist_ok=True)
    name = "fanout" + ("" if args.backend == "sqlite" else f"_{args.backend}")
    name += "_varied.json" if args.varied else ".json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    ok = result["share_of_limit"] >= 0.9 and not result["duplicates"] and not result["missing"]
    print("target (>= 90% of the limit, 0 duplicates, 0 missing):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
