"""Batched planning (issue "Many servers"): shared reads and renders, one commit per batch.

Each channel must still get exactly what planning it alone would give it; the batch only
saves work. Runs on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.briefs.planning import BriefService
from bot.storage import pending_batch
from bot.storage.deliveries_repo import DeliveriesRepository, PlanCommit
from bot.storage.models import Delivery, StoryKey, Subscription
from bot.storage.subscriptions_repo import SubscriptionsRepository
from tests.briefs.helpers import GUILD, Clock, add_feed, add_story, setup_channel


def _service(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    subs: SubscriptionsRepository | None = None,
    outbox: DeliveriesRepository | None = None,
) -> BriefService:
    return BriefService(
        subs or SubscriptionsRepository(sessions),
        outbox or DeliveriesRepository(sessions),
        clock=clock,
        per_source_cap=5,
    )


async def _payloads(service: BriefService, channel: int) -> list[dict[str, Any]]:
    return [d.payload for d in await service.outbox.deliveries_for(channel)]


async def test_each_channel_gets_its_own_brief_from_a_shared_batch(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock(datetime(2026, 11, 22, 7, 0, tzinfo=UTC))
    service = _service(sessions, clock)
    netflix = await add_feed(sessions, "netflix")
    toss = await add_feed(sessions, "toss")
    same = [3001, 3002, 3003]  # identical: one read, one render for all three
    for channel in same:
        await setup_channel(service, channel)
    await setup_channel(service, 3010, source_keys=["toss"])
    await setup_channel(service, 3020, timezone="Pacific/Kiritimati")  # already tomorrow there
    await setup_channel(service, 3030)
    await service.set_filter(3030, "exclude", "kubernetes")
    await add_story(sessions, netflix, "Kubernetes at Netflix")
    await add_story(sessions, toss, "Design systems at Toss")
    clock.advance(hours=12, minutes=30)  # 19:30 UTC: due in Berlin and in Kiritimati

    expected = {
        c: [s.id for s in (await service.preview(c)).shown] for c in [*same, 3010, 3020, 3030]
    }
    assert await service.plan_due() == 6

    for channel, story_ids in expected.items():
        payloads = await _payloads(service, channel)
        assert [p["story_ids"] for p in payloads] == [story_ids], channel
    assert len(expected[3001]) == 2 and len(expected[3010]) == 1 and len(expected[3030]) == 1
    berlin = str((await _payloads(service, 3001))[0]["header"])
    kiritimati = str((await _payloads(service, 3020))[0]["header"])
    assert "22 Nov 2026" in berlin and "23 Nov 2026" in kiritimati
    assert await service.plan_due() == 0  # every watermark and schedule moved


class _RacedSubscriptions(SubscriptionsRepository):
    """Another planner moves one channel's watermark between our read and our commit."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], victim: int) -> None:
        super().__init__(sessions)
        self.victim = victim

    async def due(self, now: datetime, limit: int = 500) -> list[Subscription]:
        subs = await super().due(now, limit)
        async with self.sessions.begin() as s:
            await s.execute(
                update(Subscription)
                .where(Subscription.channel_id == self.victim)
                .values(watermark=Subscription.watermark + 1000)
            )
        return subs


async def test_a_channel_another_planner_took_is_skipped_and_the_rest_land(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock(datetime(2026, 11, 22, 7, 0, tzinfo=UTC))
    service = _service(sessions, clock, subs=_RacedSubscriptions(sessions, victim=4002))
    feed = await add_feed(sessions, "netflix")
    for channel in (4001, 4002, 4003):
        await setup_channel(service, channel)
    await add_story(sessions, feed, "For everyone")
    clock.advance(hours=1)
    assert await service.plan_due() == 2
    assert len(await _payloads(service, 4001)) == 1
    assert await _payloads(service, 4002) == []  # lost the race: nothing written here
    assert len(await _payloads(service, 4003)) == 1


class _FailingBatches(DeliveriesRepository):
    """A batch commit that fails (say, one oversized row) while single plans go through."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions)
        self.batches = 0

    async def commit_plans(self, plans: Sequence[PlanCommit], now: datetime) -> list[int | None]:
        if len(plans) > 1:
            self.batches += 1
            raise RuntimeError("batch refused")
        if plans and plans[0].channel_id == 5002:
            raise RuntimeError("this channel's plan is broken")
        return await super().commit_plans(plans, now)


async def test_a_failed_batch_commit_falls_back_to_one_channel_at_a_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock(datetime(2026, 11, 22, 7, 0, tzinfo=UTC))
    outbox = _FailingBatches(sessions)
    service = _service(sessions, clock, outbox=outbox)
    feed = await add_feed(sessions, "netflix")
    for channel in (5001, 5002, 5003):
        await setup_channel(service, channel)
    await add_story(sessions, feed, "For everyone")
    clock.advance(hours=1)
    assert await service.plan_due() == 2
    assert outbox.batches == 1
    assert len(await _payloads(service, 5001)) == 1
    assert await _payloads(service, 5002) == []
    assert len(await _payloads(service, 5003)) == 1
    # The broken channel stays due for the next tick; the others do not repeat.
    sub = await service.subs.get(5002)
    assert sub is not None and sub.next_brief_at is not None
    assert sub.next_brief_at <= clock() + timedelta(seconds=1)


@pytest.mark.parametrize("window", [5000, 2], ids=["one-read", "window-overflows"])
async def test_channels_at_many_watermarks_and_sources_each_get_what_alone_they_would(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    """One batch of channels that share little: watermarks, sources, filters, zones, modes.

    Every channel is planned alone first (the per-channel read), then the same state again in
    one batch (the shared read): the outbox rows must be the same, labels and ranges
    included. With a tiny window most channels are read on their own inside the batch.
    """
    monkeypatch.setattr(pending_batch, "WINDOW", window)
    clock = Clock(datetime(2026, 11, 22, 7, 0, tzinfo=UTC))
    service = _service(sessions, clock)
    netflix = await add_feed(sessions, "netflix")
    toss = await add_feed(sessions, "toss")
    mine = await add_feed(sessions, "mine", origin="custom", guild_id=GUILD)
    theirs = await add_feed(sessions, "theirs", origin="custom", guild_id=GUILD + 1)
    await setup_channel(service, 6001)
    await setup_channel(service, 6002, source_keys=["toss"])
    await add_story(sessions, netflix, "Kubernetes at Netflix")
    await add_story(sessions, toss, "Payments at Toss")
    await setup_channel(service, 6003, source_keys=["netflix", "mine"])  # a later watermark
    await setup_channel(service, 6004, mode="realtime", source_keys=["toss", "mine"])
    # First stored by another server's private feed, also carried by the catalog and by this
    # server's own feed: each channel must see it under a feed it follows.
    await add_story(sessions, theirs, "Shared article", also_feed=netflix, url="https://s/1")
    async with sessions.begin() as s:
        shared = await s.scalars(select(StoryKey.story_id).where(StoryKey.key == "https://s/1"))
        s.add(StoryKey(feed_id=mine, key="copy", story_id=shared.first(), first_seen_at=clock()))
    await add_story(sessions, mine, "Only on my feed")
    await setup_channel(service, 6005, timezone="Europe/London")
    await add_story(sessions, toss, "Kubernetes at Toss")
    await setup_channel(service, 6006, source_keys=["toss"], timezone="Pacific/Kiritimati")
    await service.set_filter(6006, "exclude", "kubernetes")
    await add_story(sessions, netflix, "Latest at Netflix")
    await add_story(sessions, theirs, "Never visible here")
    clock.advance(hours=12, minutes=30)
    channels = [6001, 6002, 6003, 6004, 6005, 6006]
    before = {c: await service.require(c) for c in channels}
    assert len({sub.watermark for sub in before.values()}) >= 4
    assert len(await service.subs.due(clock())) == len(channels)  # all due, in one batch

    def rows(found: Sequence[Delivery]) -> list[tuple[Any, ...]]:
        return [(d.kind, d.dedupe_key, d.story_from, d.story_to, d.payload) for d in found]

    alone = {}
    for c in channels:
        await service.plan(before[c], scheduled=True)
        alone[c] = rows(await service.outbox.deliveries_for(c))
    assert {d[1].split(":")[0] for c in channels for d in alone[c]} == {"brief", "story"}
    assert "Never visible here" not in str(alone) and "Theirs Blog" not in str(alone)
    async with sessions.begin() as s:  # back to the state before planning
        await s.execute(delete(Delivery))
        for sub in before.values():
            await s.execute(
                update(Subscription)
                .where(Subscription.id == sub.id)
                .values(watermark=sub.watermark, next_brief_at=sub.next_brief_at)
            )

    planned = await service.plan_due()
    assert planned == sum(len(v) for v in alone.values())
    for c in channels:
        assert rows(await service.outbox.deliveries_for(c)) == alone[c], c
