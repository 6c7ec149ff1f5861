"""Role pings end to end: slash-command set-up through real discord.py, the outbox on real
SQL, and the fake Discord deciding who a message notifies by Discord's rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from bot.storage.models import Delivery, Feed
from tests.botharness import Clock, answer_text, running_bot
from tests.briefs.helpers import add_story
from tests.fakediscord import FakeDiscord, Overwrite, Role
from tests.fakediscord import permissions as P
from tests.fakediscord.mentions import pinged

MESSAGES = "POST /channels/{channel_id}/messages"


@pytest.fixture
async def bot(
    fake_discord: FakeDiscord, db_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[tuple[TechbriefBot, Services]]:
    """The bot on each backend: the outbox carries pings and forum progress on both."""
    async with running_bot(fake_discord, db_url, tmp_path, clock=clock, migrate=True) as pair:
        yield pair


async def _feed(services: Services, key: str = "netflix") -> int:
    async with services.sessions() as s:
        return int((await s.execute(select(Feed.id).where(Feed.key == key))).scalar_one())


def _role(fake: FakeDiscord, name: str, *, mentionable: bool) -> Role:
    role = fake.guild.add_role(name, 0)
    role.mentionable = mentionable
    return role


async def _command(fake: FakeDiscord, name: str, **options: str) -> str:
    record = await fake.interact_command(name, options, member_permissions=P.MANAGE_GUILD)
    assert record.ephemeral, record
    return await answer_text(fake, record)


async def _setup(fake: FakeDiscord, channel_id: int, **options: str) -> str:
    args = {"channel": str(channel_id), "time": "09:00", "timezone": "Europe/Berlin", **options}
    return await _command(fake, "brief setup", **args)


async def test_the_header_pings_exactly_the_role_and_feed_text_pings_nobody(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = bot
    channel = fake_discord.channel
    readers = _role(fake_discord, "readers", mentionable=True)
    other = _role(fake_discord, "other", mentionable=True)
    answer = await _setup(fake_discord, channel.id, ping=str(readers.id))
    assert f"pings <@&{readers.id}>" in answer, answer
    netflix = await _feed(services)
    hostile = f"Hi @everyone and <@&{other.id}> and @here"
    await add_story(services.sessions, netflix, hostile, summary=hostile)
    clock.advance(hours=1)
    await services.deliver_tick()

    (header, *cards) = fake_discord.sent(MESSAGES)
    assert header.channel_id == channel.id
    assert header.content == f"<@&{readers.id}>"
    assert header.allowed_mentions == {"parse": [], "roles": [str(readers.id)]}
    assert header.embeds[0]["title"].startswith("Tech Brief")
    assert cards and all(c.allowed_mentions == {"parse": []} for c in cards)
    (posted,) = [m for m in fake_discord.messages(channel.id) if m.payload.get("nonce")]
    assert pinged(posted.payload) == {"everyone": False, "roles": [readers.id], "users": []}
    in_thread = fake_discord.messages(cards[0].channel_id or 0)
    assert in_thread and "everyone" in in_thread[0].payload["embeds"][0]["title"]
    nobody = {"everyone": False, "roles": [], "users": []}
    assert all(pinged(m.payload) == nobody for m in in_thread)
    # The ping survived the outbox: it is in the stored payload, not added at send time.
    async with services.sessions() as s:
        (row,) = (await s.scalars(select(Delivery))).all()
    assert row.payload["header"]["allowed_mentions"] == {"parse": [], "roles": [str(readers.id)]}

    status = await _command(fake_discord, "brief status")
    assert f"**Pings:** <@&{readers.id}>" in status

    # Set up again without `ping`: the role stays; /brief unping clears it.
    await _setup(fake_discord, channel.id, time="10:00")
    sub = await services.brief_service().subs.get(channel.id)
    assert sub is not None and sub.ping_role_id == readers.id
    assert f"no longer ping <@&{readers.id}>" in await _command(fake_discord, "brief unping")
    assert "ping nobody already" in await _command(fake_discord, "brief unping")
    await add_story(services.sessions, netflix, "The next day")
    clock.advance(days=1)
    await services.deliver_tick()
    later = fake_discord.sent(MESSAGES, channel_id=channel.id)[-1]
    assert later.allowed_mentions == {"parse": []} and not later.content
    last = [m for m in fake_discord.messages(channel.id) if m.payload.get("nonce")][-1]
    assert pinged(last.payload)["roles"] == []


async def test_setup_refuses_a_role_the_bot_cannot_ping(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord
) -> None:
    _bot, services = bot
    channel = fake_discord.channel
    quiet = _role(fake_discord, "quiet", mentionable=False)
    answer = await _setup(fake_discord, channel.id, ping=str(quiet.id))
    assert f"I can't ping <@&{quiet.id}>" in answer and "Nothing was changed" in answer
    assert await services.brief_service().subs.get(channel.id) is None
    everyone = await _setup(fake_discord, channel.id, ping=str(fake_discord.guild.id))
    assert "`@everyone` is not a role I ping" in everyone
    # With Mention @everyone, @here and All Roles in that channel the bot may ping it.
    channel.overwrites.append(Overwrite.member(fake_discord.world.bot.id, allow=P.MENTION_EVERYONE))
    await fake_discord.update_channel(channel)
    await fake_discord.wait_until(
        lambda: bool(fake_discord.gateway_log.dispatched[-1:] == ["CHANNEL_UPDATE"]), timeout=5
    )
    answer = await _setup(fake_discord, channel.id, ping=str(quiet.id))
    assert f"pings <@&{quiet.id}>" in answer, answer


async def test_a_deleted_role_is_no_longer_pinged(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord
) -> None:
    _bot, services = bot
    guild = fake_discord.guild
    readers = _role(fake_discord, "readers", mentionable=True)
    created = {"guild_id": str(guild.id), "role": readers.payload()}
    await fake_discord.dispatch("GUILD_ROLE_CREATE", created, guild_id=guild.id)
    await _setup(fake_discord, fake_discord.channel.id, ping=str(readers.id))
    del guild.roles[readers.id]
    await fake_discord.dispatch(
        "GUILD_ROLE_DELETE",
        {"guild_id": str(guild.id), "role_id": str(readers.id)},
        guild_id=guild.id,
    )
    subs = services.brief_service().subs
    for _ in range(200):
        sub = await subs.get(fake_discord.channel.id)
        if sub is not None and sub.ping_role_id is None:
            break
        await asyncio.sleep(0.02)
    assert sub is not None and sub.ping_role_id is None
