"""Pings and forums are per channel even when a batch renders a brief once for many channels.

Runs on both backends: the shared render must stay untouched, each channel's outbox row gets
its own ping line and allowed_mentions, and only forum channels are marked as forum posts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.briefs.planning import BriefService
from bot.core.errors import UserInputError
from bot.storage.deliveries_repo import DeliveriesRepository
from bot.storage.subscriptions_repo import SubscriptionsRepository
from tests.briefs.helpers import Clock, add_feed, add_story, setup_channel

PLAIN, PINGED, FORUM, FORUM_PINGED = 4001, 4002, 4003, 4004
ROLE, OTHER_ROLE = 5001, 5002


async def test_a_shared_render_is_addressed_per_channel(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock(datetime(2026, 11, 22, 7, 0, tzinfo=UTC))
    service = BriefService(
        SubscriptionsRepository(sessions), DeliveriesRepository(sessions), clock=clock
    )
    feed = await add_feed(sessions, "netflix")
    await setup_channel(service, PLAIN)
    await setup_channel(service, PINGED, ping_role_id=ROLE)
    await setup_channel(service, FORUM, channel_kind="forum")
    await setup_channel(service, FORUM_PINGED, channel_kind="forum", ping_role_id=OTHER_ROLE)
    await add_story(sessions, feed, "One story for all four <@&5002> @everyone")
    clock.advance(hours=1)
    assert await service.plan_due() == 4

    def payload(channel: int) -> dict[str, Any]:
        (row,) = rows[channel]
        return row.payload

    rows = {c: await service.outbox.deliveries_for(c) for c in (PLAIN, PINGED, FORUM, FORUM_PINGED)}
    plain, pinged, forum, both = (payload(c) for c in (PLAIN, PINGED, FORUM, FORUM_PINGED))
    headers = [p["header"] for p in (plain, pinged, forum, both)]
    assert [h.get("content") for h in headers] == [None, f"<@&{ROLE}>", None, f"<@&{OTHER_ROLE}>"]
    assert [h.get("allowed_mentions") for h in headers] == [
        None,
        {"parse": [], "roles": [str(ROLE)]},
        None,
        {"parse": [], "roles": [str(OTHER_ROLE)]},
    ]
    assert [p.get("forum", False) for p in (plain, pinged, forum, both)] == [
        False,
        False,
        True,
        True,
    ]
    assert all(p["post_name"] == "Tech Brief · Sun 22 Nov 2026" for p in (forum, both))
    # Everything else is the one shared render.
    assert all(h["embeds"] == headers[0]["embeds"] for h in headers)
    assert all(p["batches"] == plain["batches"] for p in (pinged, forum, both))


async def test_nothing_new_pings_nobody_and_realtime_takes_no_ping(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock(datetime(2026, 11, 22, 7, 0, tzinfo=UTC))
    service = BriefService(
        SubscriptionsRepository(sessions),
        DeliveriesRepository(sessions),
        clock=clock,
        post_when_empty=True,
    )
    await setup_channel(service, FORUM_PINGED, channel_kind="forum", ping_role_id=ROLE)
    clock.advance(hours=1)
    assert await service.plan_due() == 1
    (row,) = await service.outbox.deliveries_for(FORUM_PINGED)
    assert row.kind == "notice" and row.payload["forum"] is True
    assert "allowed_mentions" not in row.payload["header"]
    assert "<@&" not in str(row.payload["header"].get("content"))
    with pytest.raises(UserInputError, match="realtime stories ping nobody"):
        await setup_channel(service, PLAIN, mode="realtime", ping_role_id=ROLE)
