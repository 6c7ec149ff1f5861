"""Planning briefs into the outbox on both backends: watermarks, filters, exactly-once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.briefs import local_day
from bot.core.briefs.planning import BriefService
from bot.core.errors import NotFoundError, UserInputError
from bot.core.summarize import digest_formatter
from bot.core.summarize.types import Section, Summary
from bot.storage.deliveries_repo import DeliveriesRepository
from bot.storage.subscriptions_repo import SubscriptionsRepository
from bot.storage.summaries_repo import store_summary
from tests.briefs.helpers import GUILD, Clock, add_feed, add_story, setup_channel

CHANNEL = 2000


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 22, 7, 0, tzinfo=UTC))  # 08:00 in Berlin


def new_service(sessions: async_sessionmaker[AsyncSession], **kw: Any) -> BriefService:
    return BriefService(SubscriptionsRepository(sessions), DeliveriesRepository(sessions), **kw)


@pytest.fixture
def service(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> BriefService:
    return BriefService(
        SubscriptionsRepository(sessions),
        DeliveriesRepository(sessions),
        clock=clock,
        per_source_cap=2,
    )


async def test_new_channel_starts_at_the_watermark_no_backfill(
    service: BriefService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    feed = await add_feed(sessions, "netflix")
    await add_story(sessions, feed, "Old story before setup")
    await setup_channel(service)
    assert (await service.preview(CHANNEL)).is_empty()
    await add_story(sessions, feed, "Fresh story")
    brief = await service.preview(CHANNEL)
    assert [s.title for s in brief.shown] == ["Fresh story"]


async def test_due_brief_is_planned_once(
    service: BriefService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    feed = await add_feed(sessions, "netflix")
    await setup_channel(service)
    sub = await service.subs.get(CHANNEL)
    assert sub is not None and sub.next_brief_at == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    await add_story(sessions, feed, "One")
    await add_story(sessions, feed, "Two")
    assert await service.plan_due() == 0  # not due yet
    clock.advance(hours=1)
    assert await service.plan_due() == 1
    assert await service.plan_due() == 0  # nothing repeats
    (delivery,) = await service.outbox.deliveries_for(CHANNEL)
    assert delivery.kind == "brief" and len(delivery.payload["story_ids"]) == 2
    sub = await service.subs.get(CHANNEL)
    assert sub is not None and sub.next_brief_at == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    await add_story(sessions, feed, "Three")
    clock.advance(days=1)
    assert await service.plan_due() == 1
    second = (await service.outbox.deliveries_for(CHANNEL))[1]
    assert second.payload["story_ids"] == [second.story_to]  # only the new story


async def test_concurrent_planners_produce_one_delivery(
    service: BriefService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    feed = await add_feed(sessions, "netflix")
    await setup_channel(service)
    await add_story(sessions, feed, "One")
    clock.advance(hours=1)
    other = BriefService(
        SubscriptionsRepository(sessions), DeliveriesRepository(sessions), clock=clock
    )
    sub_a = await service.subs.get(CHANNEL)
    sub_b = await other.subs.get(CHANNEL)
    assert sub_a is not None and sub_b is not None
    results = await asyncio.gather(
        service.plan(sub_a, scheduled=True), other.plan(sub_b, scheduled=True)
    )
    assert sorted(r.planned for r in results) == [False, True]
    assert len(await service.outbox.deliveries_for(CHANNEL)) == 1


async def test_catch_up_after_days_offline_is_one_brief(
    service: BriefService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    feed = await add_feed(sessions, "netflix")
    await setup_channel(service)
    for n in range(3):
        await add_story(sessions, feed, f"Story {n}")
    clock.advance(days=3, hours=5)
    assert await service.plan_due() == 1
    assert await service.plan_due() == 0
    sub = await service.subs.get(CHANNEL)
    assert sub is not None and sub.next_brief_at is not None and sub.next_brief_at > clock.now


async def test_filters_and_sources(
    service: BriefService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    netflix = await add_feed(sessions, "netflix")
    toss = await add_feed(sessions, "toss")
    await setup_channel(service, source_keys=["toss"])
    await add_story(sessions, netflix, "Kubernetes at Netflix")
    await add_story(sessions, toss, "쿠버네티스 비용 최적화", tags=("infra",))
    await add_story(sessions, toss, "Frontend design systems")
    await service.set_filter(CHANNEL, "include", "쿠버네티스")
    brief = await service.preview(CHANNEL)
    assert [s.title for s in brief.shown] == ["쿠버네티스 비용 최적화"]
    await service.set_filter(CHANNEL, "include", None)
    await service.set_filter(CHANNEL, "exclude", "FRONTEND")
    assert [s.title for s in (await service.preview(CHANNEL)).shown] == ["쿠버네티스 비용 최적화"]


async def test_cross_feed_duplicate_shown_once_and_custom_feeds_private(
    service: BriefService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    netflix = await add_feed(sessions, "netflix")
    mirror = await add_feed(sessions, "mirror")
    private = await add_feed(sessions, "other-guild", origin="custom", guild_id=999)
    await setup_channel(service)
    await add_story(sessions, netflix, "Shared story", also_feed=mirror)
    await add_story(sessions, private, "Another guild's custom feed")
    brief = await service.preview(CHANNEL)
    assert [s.title for s in brief.shown] == ["Shared story"]


async def test_per_source_cap_and_more(
    service: BriefService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    feed = await add_feed(sessions, "netflix")
    await setup_channel(service)
    for n in range(5):
        await add_story(sessions, feed, f"S{n}", published=datetime(2026, 11, 20, n, tzinfo=UTC))
    brief = await service.preview(CHANNEL)
    (group,) = brief.groups
    assert [s.title for s in group.stories] == ["S4", "S3"] and group.more == 3
    assert brief.total == 5


async def test_realtime_mode_one_delivery_per_story(
    service: BriefService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    feed = await add_feed(sessions, "netflix")
    await setup_channel(service, mode="realtime")
    a = await add_story(sessions, feed, "A")
    b = await add_story(sessions, feed, "B")
    assert await service.plan_due() == 2
    keys = [d.dedupe_key for d in await service.outbox.deliveries_for(CHANNEL)]
    assert keys == [f"story:{a}", f"story:{b}"]
    assert await service.plan_due() == 0


async def test_bad_input_is_explained(service: BriefService) -> None:
    with pytest.raises(UserInputError, match="HH:MM"):
        await setup_channel(service, time_text="9am")
    with pytest.raises(UserInputError, match="00:00 to 23:59"):
        await setup_channel(service, time_text="24:30")
    with pytest.raises(UserInputError, match="not a time zone"):
        await setup_channel(service, timezone="Mars/Olympus")
    with pytest.raises(UserInputError, match="Unknown source"):
        await setup_channel(service, source_keys=["nope"])
    with pytest.raises(NotFoundError, match="/brief setup"):
        await service.preview(424242)


async def test_plan_due_drains_more_channels_than_one_batch(
    service: BriefService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    feed = await add_feed(sessions, "netflix")
    for n in range(7):
        await setup_channel(service, channel=CHANNEL + n)
    await add_story(sessions, feed, "For everyone")
    clock.advance(hours=1)
    assert await service.plan_due(batch=3) == 7
    assert await service.plan_due(batch=3) == 0


async def test_outbox_leases_are_exclusive_and_owned(
    service: BriefService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    feed = await add_feed(sessions, "netflix")
    for n in range(6):
        await setup_channel(service, channel=CHANNEL + n)
    await add_story(sessions, feed, "For everyone")
    clock.advance(hours=1)
    assert await service.plan_due() == 6
    repo = service.outbox
    claims = await asyncio.gather(
        *(repo.lease_deliveries(clock.now, f"w{n}", lease_seconds=60, limit=2) for n in range(8))
    )
    ids = [row.id for rows in claims for row in rows]
    assert len(ids) == len(set(ids))  # never the same row twice
    while more := await repo.lease_deliveries(clock.now, "late", lease_seconds=60, limit=10):
        ids += [row.id for row in more]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 6
    owner_of = {row.id: row.lease_owner for rows in claims for row in rows}
    some_id, some_owner = next(iter(owner_of.items()))
    assert not await repo.record_progress(
        some_id, owner="intruder", progress=1, message_id=1, lease_until=clock.now
    )
    assert await repo.record_progress(
        some_id, owner=some_owner or "", progress=1, message_id=1, lease_until=clock.now
    )
    clock.advance(minutes=2)  # the lease expired: another sender takes the row over
    (taken,) = await repo.lease_deliveries(clock.now, "rescuer", limit=1)
    assert not await repo.finish(
        taken.id, "sent", clock.now, owner=owner_of.get(taken.id) or "late"
    )
    assert await repo.finish(taken.id, "sent", clock.now, owner="rescuer")


async def test_nothing_new_notice_once_a_day_and_schedule_keeps_moving(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    service = BriefService(
        SubscriptionsRepository(sessions),
        DeliveriesRepository(sessions),
        clock=clock,
        post_when_empty=True,
    )
    await add_feed(sessions, "netflix")
    await setup_channel(service)
    assert (await service.plan_now(CHANNEL)).deliveries == 0  # never from /brief send
    clock.advance(hours=1)
    assert await service.plan_due() == 1
    # Same local day again (e.g. the admin moved the brief later): the notice exists already,
    # yet the schedule must still advance instead of leaving the channel due forever.
    await service.setup(
        guild_id=GUILD,
        channel_id=CHANNEL,
        time_text="10:30",
        timezone="Europe/Berlin",
        mode="brief",
        source_keys=None,
        by=1,
    )
    clock.advance(hours=2)
    assert await service.plan_due() == 0
    sub = await service.subs.get(CHANNEL)
    assert sub is not None and sub.next_brief_at is not None and sub.next_brief_at > clock.now
    assert [d.dedupe_key for d in await service.outbox.deliveries_for(CHANNEL)] == [
        "empty:2026-11-22"
    ]


async def test_backfill_stories_are_archived_but_never_announced(
    service: BriefService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    from sqlalchemy import update

    from bot.storage.models import Story

    feed = await add_feed(sessions, "netflix")
    await setup_channel(service)
    old = await add_story(sessions, feed, "From the feed's first fetch")
    async with sessions.begin() as s:
        await s.execute(update(Story).where(Story.id == old).values(backfill=True))
    await add_story(sessions, feed, "Genuinely new")
    assert [s.title for s in (await service.preview(CHANNEL)).shown] == ["Genuinely new"]


async def test_story_first_stored_by_a_private_feed_is_labelled_with_a_followed_one(
    service: BriefService, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    private = await add_feed(sessions, "secret-feed", origin="custom", guild_id=999)
    netflix = await add_feed(sessions, "netflix")
    await setup_channel(service)
    await add_story(sessions, private, "Shared story", also_feed=netflix)
    (story,) = (await service.preview(CHANNEL)).shown
    assert story.source_key == "netflix" and "Secret" not in story.source_name


@pytest.mark.parametrize(
    ("start", "change_day"),
    [
        (datetime(2026, 3, 27, 0, 0, tzinfo=UTC), date(2026, 3, 29)),  # spring forward
        (datetime(2026, 10, 23, 0, 0, tzinfo=UTC), date(2026, 10, 25)),  # fall back
    ],
)
async def test_dst_weeks_one_brief_per_local_day(
    sessions: async_sessionmaker[AsyncSession], start: datetime, change_day: date
) -> None:
    clock = Clock(start)
    service = BriefService(
        SubscriptionsRepository(sessions), DeliveriesRepository(sessions), clock=clock
    )
    feed = await add_feed(sessions, "netflix")
    await service.subs.upsert_guild(GUILD, "Guild", None, clock())
    await service.setup(
        guild_id=GUILD,
        channel_id=CHANNEL,
        time_text="02:30",
        timezone="Europe/Berlin",
        mode="brief",
        source_keys=None,
        by=1,
    )
    for hour in range(5 * 24):
        # A story every hour: a second firing on any day would find something to post.
        await add_story(sessions, feed, f"Story of hour {hour}")
        clock.now = start + timedelta(hours=hour, minutes=5)
        await service.plan_due()
    days = [
        local_day(d.created_at, "Europe/Berlin")
        for d in await service.outbox.deliveries_for(CHANNEL)
    ]
    assert len(days) == len(set(days)) == 5  # one brief each local day, none skipped
    assert change_day in days


async def test_weekly_brief_holds_everything_since_the_last_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock(datetime(2026, 11, 30, 6, 0, tzinfo=UTC))  # Monday, 07:00 in Berlin
    service = new_service(sessions, clock=clock, per_source_cap=20)
    feed = await add_feed(sessions, "netflix")
    await setup_channel(service, every="weekly", day="wednesday")
    (status,) = await service.status(GUILD)
    assert status.cadence == "every Wednesday"
    for hour in range(0, 16 * 24, 6):
        if hour % 24 == 0:
            await add_story(sessions, feed, f"Story of day {hour // 24}")
        clock.now = datetime(2026, 11, 30, 6, 5, tzinfo=UTC) + timedelta(hours=hour)
        await service.plan_due()
    briefs = await service.outbox.deliveries_for(CHANNEL)
    when = [local_day(d.created_at, "Europe/Berlin") for d in briefs]
    assert when == [date(2026, 12, 2), date(2026, 12, 9)]  # Wednesdays only
    counts = [len(d.payload["story_ids"]) for d in briefs]
    assert counts == [3, 7]  # Mon-Wed, then Thu-Wed: nothing lost between them


async def test_cadence_options_are_checked(service: BriefService) -> None:
    with pytest.raises(UserInputError, match="weekly"):
        await setup_channel(service, day="friday")  # a day without every:weekly
    with pytest.raises(UserInputError, match="not a day"):
        await setup_channel(service, every="weekly", day="caturday")
    with pytest.raises(UserInputError, match="daily"):
        await setup_channel(service, every="monthly")
    await setup_channel(service, every="weekdays")
    sub = await service.subs.get(CHANNEL)
    assert sub is not None and (sub.every, sub.weekday) == ("weekdays", None)


async def _summarize(sessions: async_sessionmaker[AsyncSession], story_id: int, lead: str) -> None:
    digest = Summary(lead=lead, sections=(Section(None, ("A key point worth reading.",)),))
    async with sessions.begin() as s:
        await store_summary(
            s,
            story_id=story_id,
            content_hash="0" * 64,
            method="extractive",
            data=digest.to_dict(),
            now=datetime(2026, 11, 22, tzinfo=UTC),
        )


async def test_a_due_brief_waits_for_summaries_then_shows_them(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    service = new_service(
        sessions,
        clock=clock,
        summary_wait=timedelta(seconds=60),
        digest_formatter=digest_formatter,
    )
    feed = await add_feed(sessions, "netflix")
    await setup_channel(service)
    done = await add_story(sessions, feed, "Summarised already")
    await _summarize(sessions, done, "The digest of the first story.")
    late = await add_story(sessions, feed, "Still being summarised")
    clock.advance(hours=1)
    assert await service.plan_due() == 0  # held: one story has no summary yet
    clock.advance(seconds=30)
    assert await service.plan_due() == 0
    await _summarize(sessions, late, "The digest of the second story.")
    assert await service.plan_due() == 1
    (delivery,) = await service.outbox.deliveries_for(CHANNEL)
    assert sorted(delivery.payload["story_ids"]) == [done, late]
    assert "The digest of the second story." in str(delivery.payload["batches"])


async def test_a_brief_waits_for_summaries_at_most_the_setting(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    service = new_service(sessions, clock=clock, summary_wait=timedelta(seconds=60))
    feed = await add_feed(sessions, "netflix")
    await setup_channel(service)
    await add_story(sessions, feed, "Never summarised", summary="The feed's own text.")
    clock.advance(hours=1)
    assert await service.plan_due() == 0
    clock.advance(seconds=59)
    assert await service.plan_due() == 0
    clock.advance(seconds=1)
    assert await service.plan_due() == 1  # posts with what exists
    (delivery,) = await service.outbox.deliveries_for(CHANNEL)
    assert "The feed's own text." in str(delivery.payload["batches"])
    # The next day's brief waits afresh, not from yesterday's hold.
    await add_story(sessions, feed, "Tomorrow's story")
    clock.advance(days=1)
    assert await service.plan_due() == 0


async def test_stories_a_filter_drops_never_hold_a_brief(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    service = new_service(sessions, clock=clock, summary_wait=timedelta(seconds=60))
    feed = await add_feed(sessions, "netflix")
    await setup_channel(service)
    await service.set_filter(CHANNEL, "exclude", "crypto")
    kept = await add_story(sessions, feed, "Kubernetes costs")
    await _summarize(sessions, kept, "How the cluster bill came down.")
    await add_story(sessions, feed, "Crypto news")
    clock.advance(hours=1)
    assert await service.plan_due() == 1


async def test_a_realtime_post_waits_for_its_summary_too(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    service = new_service(sessions, clock=clock, summary_wait=timedelta(seconds=60))
    feed = await add_feed(sessions, "netflix")
    await setup_channel(service, mode="realtime")
    story = await add_story(sessions, feed, "Breaking")
    assert await service.plan_due() == 0
    await _summarize(sessions, story, "What broke and why it matters.")
    assert await service.plan_due() == 1
    (delivery,) = await service.outbox.deliveries_for(CHANNEL)
    assert delivery.dedupe_key == f"story:{story}"
