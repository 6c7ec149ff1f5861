"""The daily brief end to end: slash-command set-up, real discord.py, fake Discord, real SQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from bot.runtime.publisher import Publisher
from bot.storage.models import Feed
from bot.storage.subscriptions_repo import SubscriptionsRepository
from tests.botharness import Clock, answer_text, eventually, running_bot
from tests.briefs.helpers import add_story
from tests.fakediscord import EPHEMERAL, Channel, FakeDiscord
from tests.fakediscord import permissions as P

MESSAGES = "POST /channels/{channel_id}/messages"
THREADS = "POST /channels/{channel_id}/messages/{message_id}/threads"


@pytest.fixture
async def bot(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[tuple[TechbriefBot, Services]]:
    async with running_bot(fake_discord, sqlite_url, tmp_path, clock=clock, migrate=True) as pair:
        yield pair


async def new_channel(fake: FakeDiscord, name: str, deny: int = 0) -> Channel:
    """A channel created while the bot runs (Discord sends CHANNEL_CREATE)."""
    channel = fake.guild.add_channel(name)
    if deny:
        fake.deny_bot(channel, deny)
    await fake.dispatch("CHANNEL_CREATE", channel.payload(), guild_id=fake.guild.id)
    return channel


async def feed_id(services: Services, key: str) -> int:
    from sqlalchemy import select

    async with services.sessions() as s:
        return int((await s.execute(select(Feed.id).where(Feed.key == key))).scalar_one())


async def setup(fake: FakeDiscord, channel_id: int, **options: str) -> None:
    args = {"channel": str(channel_id), "time": "09:00", "timezone": "Europe/Berlin", **options}
    record = await fake.interact_command("brief setup", args, member_permissions=P.MANAGE_GUILD)
    assert record.ephemeral, record
    text = await answer_text(fake, record)
    assert "every day at 09:00" in text or "as it arrives" in text, text


async def test_setup_then_exactly_one_brief_at_the_local_time(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = bot
    channel = fake_discord.channel
    await setup(fake_discord, channel.id)
    netflix = await feed_id(services, "netflix")
    await add_story(services.sessions, netflix, "Data Mesh at Netflix @everyone **bold**")
    await add_story(services.sessions, netflix, "Chaos engineering, revisited")
    await services.deliver_tick()
    assert fake_discord.sent(MESSAGES, channel_id=channel.id) == []  # 08:00: not yet
    clock.advance(hours=1)
    await services.deliver_tick()
    await services.deliver_tick()  # a second tick must not repeat anything
    headers = fake_discord.sent(MESSAGES, channel_id=channel.id)
    assert len(headers) == 1
    header = headers[0]
    assert header.body["allowed_mentions"] == {"parse": []}
    assert header.body["enforce_nonce"] is True and header.body["nonce"]
    title = header.embeds[0]["title"]
    assert title.startswith("Tech Brief · Sun 22 Nov 2026 · 2 new stories from 1 source")
    description = header.embeds[0]["description"]
    assert "@everyone" not in description and "\\*\\*bold\\*\\*" in description
    (thread_req,) = fake_discord.sent(THREADS)
    thread_id = next(
        m.channel_id
        for m in fake_discord.requests
        if m.route == MESSAGES and m.channel_id != channel.id
    )
    stories = fake_discord.sent(MESSAGES, channel_id=thread_id)
    assert len(stories) == 1 and len(stories[0].embeds) == 2
    buttons = [c for row in stories[0].body["components"] for c in row["components"]]
    assert all(b["custom_id"].startswith("tb:bm:") for b in buttons) and len(buttons) == 2
    assert all("@everyone" not in e["title"] for e in stories[0].embeds)
    assert thread_req.body["name"].startswith("Tech Brief")


async def test_no_thread_permission_posts_stories_in_the_channel(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = bot
    channel = await new_channel(fake_discord, "no-threads", deny=P.CREATE_PUBLIC_THREADS)
    await setup(fake_discord, channel.id)
    netflix = await feed_id(services, "netflix")
    for n in range(12):
        await add_story(services.sessions, netflix, f"Story {n}")
    result = await services.brief_service().plan_now(channel.id)
    assert result.planned
    await services.publisher.run_once()  # type: ignore[union-attr]
    sent = fake_discord.sent(MESSAGES, channel_id=channel.id)
    # header + 5 capped stories (per_source_cap 5) in one batch message
    assert len(sent) == 2
    assert sum(len(m.embeds) for m in sent[1:]) == 5
    assert "and 7 more" in sent[0].embeds[0]["description"]


async def test_forbidden_channel_is_paused_and_others_still_get_theirs(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = bot
    good = fake_discord.channel
    bad = await new_channel(fake_discord, "locked")
    await setup(fake_discord, good.id)
    await setup(fake_discord, bad.id)
    fake_discord.faults.forbid_channel(bad.id)
    await add_story(services.sessions, await feed_id(services, "toss"), "토스의 새 결제 시스템")
    clock.advance(hours=1)
    await services.deliver_tick()
    clock.advance(days=1)
    await add_story(services.sessions, await feed_id(services, "toss"), "둘째 날")
    await services.deliver_tick()
    assert len(fake_discord.sent(MESSAGES, channel_id=good.id)) == 2
    bad_attempts = [r for r in fake_discord.requests if r.channel_id == bad.id]
    assert len(bad_attempts) == 1  # paused after the first 403: no retry loop
    sub = await services.brief_service().subs.get(bad.id)
    assert sub is not None and sub.paused_reason and "403" in sub.paused_reason
    status = await fake_discord.interact_command(
        "brief status", {}, member_permissions=P.MANAGE_GUILD
    )
    assert "Paused" in await answer_text(fake_discord, status)
    # The admin fixes the permissions and sets the channel up again: nothing was lost.
    fake_discord.faults.clear()
    await setup(fake_discord, bad.id)
    await services.deliver_tick()
    bad_headers = [m for m in fake_discord.messages(bad.id) if m.payload.get("embeds")]
    assert len(bad_headers) == 1
    assert "토스의 새 결제 시스템" in json.dumps(bad_headers[0].payload, ensure_ascii=False)


async def test_restart_mid_fanout_every_channel_exactly_once(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = bot
    channels = [await new_channel(fake_discord, f"c{n}") for n in range(12)]
    for ch in channels:
        await setup(fake_discord, ch.id)
    netflix = await feed_id(services, "netflix")
    for n in range(3):
        await add_story(services.sessions, netflix, f"Story {n}")
    clock.advance(hours=1)
    await services.brief_service().plan_due()
    briefs = services.brief_service()
    repo, subs = briefs.outbox, briefs.subs
    first = Publisher(
        services.require_discord, repo, subs, services.metrics, clock, owner="first", workers=4
    )
    task = asyncio.create_task(first.run_once())
    await fake_discord.wait_until(lambda: len(fake_discord.sent(MESSAGES)) >= 7, timeout=10)
    task.cancel()  # the process dies mid fan-out
    await asyncio.gather(task, return_exceptions=True)
    clock.advance(minutes=5)  # the dead sender's leases expire
    second = Publisher(
        services.require_discord, repo, subs, services.metrics, clock, owner="second"
    )
    await second.run_once()
    for ch in channels:
        live = [m for m in fake_discord.messages(ch.id) if m.payload.get("embeds")]
        assert len(live) == 1, f"channel {ch.id} got {len(live)} headers"
        threads = [r for r in fake_discord.sent(THREADS, channel_id=ch.id) if r.status < 300]
        assert len(threads) == 1
    assert await repo.outstanding() == 0


async def test_realtime_mode_posts_each_story(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = bot
    channel = fake_discord.channel
    await setup(fake_discord, channel.id, mode="realtime")
    netflix = await feed_id(services, "netflix")
    await add_story(services.sessions, netflix, "First")
    await services.deliver_tick()
    await add_story(services.sessions, netflix, "Second")
    await services.deliver_tick()
    sent = fake_discord.sent(MESSAGES, channel_id=channel.id)
    assert [m.embeds[0]["title"] for m in sent] == ["First", "Second"]


async def test_admin_commands_need_manage_server(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord
) -> None:
    record = await fake_discord.interact_command(
        "brief setup",
        {"channel": str(fake_discord.channel.id), "time": "09:00", "timezone": "UTC"},
        member_permissions=0,
    )
    assert record.ephemeral and "Manage Server" in await answer_text(fake_discord, record)


async def test_bad_time_gets_a_clear_ephemeral_answer(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord
) -> None:
    record = await fake_discord.interact_command(
        "brief setup",
        {"channel": str(fake_discord.channel.id), "time": "9am", "timezone": "Europe/Berlin"},
        member_permissions=P.MANAGE_GUILD,
    )
    assert "HH:MM" in await answer_text(fake_discord, record)
    assert record.flags is not None and record.flags & EPHEMERAL


async def test_timezone_autocomplete(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord
) -> None:
    record = await fake_discord.interact_autocomplete(
        "brief setup",
        {"channel": str(fake_discord.channel.id), "time": "09:00", "timezone": "berl"},
        focused="timezone",
    )
    assert [c["value"] for c in record.choices] == ["Europe/Berlin"]


async def test_sources_subscribe_unsubscribe(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = bot
    channel = fake_discord.channel
    listing = await fake_discord.interact_command("sources", {})
    text = await answer_text(fake_discord, listing)
    assert "`netflix`" in text and "`toss`" in text and listing.ephemeral
    await setup(fake_discord, channel.id, sources="toss")
    choices = await fake_discord.interact_autocomplete(
        "subscribe", {"source": "net", "channel": str(channel.id)}, focused="source"
    )
    assert [c["value"] for c in choices.choices] == ["netflix"]
    sub = await fake_discord.interact_command(
        "subscribe",
        {"source": "netflix", "channel": str(channel.id)},
        member_permissions=P.MANAGE_GUILD,
    )
    assert "now gets **Netflix TechBlog**" in await answer_text(fake_discord, sub)
    unsub = await fake_discord.interact_command(
        "unsubscribe",
        {"source": "toss", "channel": str(channel.id)},
        member_permissions=P.MANAGE_GUILD,
    )
    assert "no longer gets **Toss Tech**" in await answer_text(fake_discord, unsub)
    await add_story(services.sessions, await feed_id(services, "toss"), "Toss only")
    await add_story(services.sessions, await feed_id(services, "netflix"), "Netflix only")
    brief = await services.brief_service().preview(channel.id)
    assert [s.title for s in brief.shown] == ["Netflix only"]
    denied = await fake_discord.interact_command(
        "subscribe", {"source": "toss", "channel": str(channel.id)}, member_permissions=0
    )
    assert "Manage Server" in await answer_text(fake_discord, denied)


async def test_brief_stop_asks_for_confirmation(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord
) -> None:
    _bot, services = bot
    channel = fake_discord.channel
    await setup(fake_discord, channel.id)
    ask = await fake_discord.interact_command("brief stop", {}, member_permissions=P.MANAGE_GUILD)
    assert ask.ephemeral and "Stop posting briefs" in (ask.content or "")
    assert await services.brief_service().subs.get(channel.id) is not None
    assert ask.original is not None
    message = ask.original
    buttons = [c for row in ask.data["components"] for c in row["components"]]
    confirm = next(b for b in buttons if b["label"] == "Stop the brief")
    other = fake_discord.world.add_user("someone-else")
    nope = await fake_discord.interact_component(confirm["custom_id"], message, user=other)
    assert "Only the person" in (nope.content or "")
    assert await services.brief_service().subs.get(channel.id) is not None
    await fake_discord.interact_component(
        confirm["custom_id"], message, member_permissions=P.MANAGE_GUILD
    )
    await fake_discord.wait_until(lambda: bool(ask.followups), timeout=5)
    assert "Stopped the brief" in json.dumps(ask.followups[-1].payload)
    assert await services.brief_service().subs.get(channel.id) is None


async def test_deleted_channel_and_left_guild_are_cleaned_up(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord
) -> None:
    _bot, services = bot
    repo = services.brief_service().subs
    gone = await new_channel(fake_discord, "to-delete")
    kept = await new_channel(fake_discord, "kept")
    await setup(fake_discord, gone.id)
    await setup(fake_discord, kept.id)
    await fake_discord.dispatch("CHANNEL_DELETE", gone.payload(), guild_id=fake_discord.guild.id)
    assert await eventually(lambda: _absent(repo, gone.id))
    assert await repo.get(kept.id) is not None
    await fake_discord.dispatch(
        "GUILD_DELETE", {"id": str(fake_discord.guild.id)}, guild_id=fake_discord.guild.id
    )
    assert await eventually(lambda: _absent(repo, kept.id))


async def _absent(repo: SubscriptionsRepository, channel_id: int) -> bool:
    return await repo.get(channel_id) is None


async def test_weekly_setup_is_confirmed_shown_in_status_and_waits_for_its_day(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = bot
    channel = fake_discord.channel
    record = await fake_discord.interact_command(
        "brief setup",
        {
            "channel": str(channel.id),
            "time": "09:00",
            "timezone": "Europe/Berlin",
            "every": "weekly",
            "day": "friday",
        },
        member_permissions=P.MANAGE_GUILD,
    )
    assert "every Friday at 09:00 (Europe/Berlin)" in await answer_text(fake_discord, record)
    status = await fake_discord.interact_command(
        "brief status", {}, member_permissions=P.MANAGE_GUILD
    )
    text = await answer_text(fake_discord, status)
    assert "brief every Friday" in text, text
    sub = await services.brief_service().subs.get(channel.id)
    assert sub is not None and sub.next_brief_at is not None
    assert sub.next_brief_at.astimezone(ZoneInfo("Europe/Berlin")).weekday() == 4
    await add_story(services.sessions, await feed_id(services, "netflix"), "Weekly material")
    clock.advance(hours=1)  # 09:00 on a day that is not Friday: nothing is posted
    await services.deliver_tick()
    assert clock().astimezone(ZoneInfo("Europe/Berlin")).weekday() != 4
    assert fake_discord.sent(MESSAGES, channel_id=channel.id) == []
    clock.now = sub.next_brief_at + timedelta(minutes=1)
    await services.deliver_tick()
    await services.deliver_tick()
    assert len([m for m in fake_discord.messages(channel.id) if m.payload.get("embeds")]) >= 1


async def test_a_day_without_weekly_is_refused_in_plain_words(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord
) -> None:
    record = await fake_discord.interact_command(
        "brief setup",
        {
            "channel": str(fake_discord.channel.id),
            "time": "09:00",
            "timezone": "Europe/Berlin",
            "day": "monday",
        },
        member_permissions=P.MANAGE_GUILD,
    )
    assert "`day` is for weekly briefs" in await answer_text(fake_discord, record)
    assert await bot[1].brief_service().subs.get(fake_discord.channel.id) is None


async def test_a_due_brief_waits_for_the_summaries_the_worker_is_making(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, clock: Clock
) -> None:
    """The brief holds until the story's digest is stored (here: one summaries tick later)
    and its card shows the digest's key points, not the feed's raw text."""
    text = (
        "The platform team moved every batch job to a shared scheduler last spring. "
        "Queue times fell from minutes to seconds once the scheduler packed jobs by memory. "
        "Costs dropped by a third because idle machines were returned to the pool at once. "
        "Engineers now ship pipelines without asking an operator for capacity first."
    )
    async with running_bot(
        fake_discord,
        sqlite_url,
        tmp_path,
        clock=clock,
        migrate=True,
        TECHBRIEF_BRIEF__SUMMARY_WAIT_SECONDS="60",
    ) as (_bot, services):
        channel = fake_discord.channel
        await setup(fake_discord, channel.id)
        netflix = await feed_id(services, "netflix")
        await add_story(
            services.sessions, netflix, "One scheduler for every batch job", summary=text
        )
        clock.advance(hours=1)
        await services.deliver_tick()
        assert fake_discord.sent(MESSAGES, channel_id=channel.id) == []  # held for the summary
        assert services.summaries is not None and await services.summaries.run_pending() == 1
        await services.deliver_tick()
        assert len(fake_discord.sent(MESSAGES, channel_id=channel.id)) == 1
        thread_id = next(
            m.channel_id
            for m in fake_discord.requests
            if m.route == MESSAGES and m.channel_id != channel.id
        )
        (card,) = fake_discord.sent(MESSAGES, channel_id=thread_id)[0].embeds
        assert "•" in card["description"] and card["description"] != text
