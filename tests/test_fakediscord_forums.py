"""The fake Discord's forum channels and mention rules, driven by real discord.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest

from tests.fakediscord import FakeDiscord, Overwrite
from tests.fakediscord import permissions as P
from tests.fakediscord.forums import add_forum, tag_names
from tests.fakediscord.mentions import pinged

NOBODY = {"everyone": False, "roles": [], "users": []}


@pytest.fixture
async def client(fake_discord: FakeDiscord) -> AsyncIterator[discord.Client]:
    bot = discord.Client(intents=discord.Intents.default())
    task = asyncio.create_task(bot.start(fake_discord.token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 5)
        yield bot
    finally:
        await bot.close()
        try:
            await asyncio.wait_for(task, 5)
        except (discord.DiscordException, aiohttp.ClientError):
            pass


@pytest.fixture
def world(fake_discord: FakeDiscord) -> FakeDiscord:
    """Set up before the client connects, so discord.py's cache sees it all."""
    guild = fake_discord.guild
    loud = guild.add_role("loud", 0)
    loud.mentionable = True
    guild.add_role("quiet", 0)
    add_forum(guild, "forum", ("Tech Brief", "Other"))
    guild.add_channel("plain")
    guild.add_channel(
        "staff", overwrites=[Overwrite.member(fake_discord.world.bot.id, allow=P.MENTION_EVERYONE)]
    )
    return fake_discord


def _role(fake: FakeDiscord, name: str) -> int:
    return next(r.id for r in fake.guild.roles.values() if r.name == name)


async def test_a_mention_pings_only_when_allowed_and_permitted(
    world: FakeDiscord, client: discord.Client
) -> None:
    fake = world
    loud, quiet = _role(fake, "loud"), _role(fake, "quiet")
    plain = client.get_channel(fake.guild.channel_by_name("plain").id)
    staff = client.get_channel(fake.guild.channel_by_name("staff").id)
    assert isinstance(plain, discord.TextChannel) and isinstance(staff, discord.TextChannel)
    text = f"<@&{loud}> <@&{quiet}> @everyone"
    only_loud = discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(loud)])
    sent = await plain.send(text, allowed_mentions=only_loud)
    assert pinged(fake.messages(plain.id)[-1].payload) == {**NOBODY, "roles": [loud]}
    await plain.send(text, allowed_mentions=discord.AllowedMentions.none())
    assert pinged(fake.messages(plain.id)[-1].payload) == NOBODY
    # Everything allowed: an unmentionable role and @everyone still need the permission.
    await plain.send(text, allowed_mentions=discord.AllowedMentions.all())
    assert pinged(fake.messages(plain.id)[-1].payload) == {**NOBODY, "roles": [loud]}
    await staff.send(text, allowed_mentions=discord.AllowedMentions.all())
    assert pinged(fake.messages(staff.id)[-1].payload) == {
        "everyone": True,
        "roles": [loud, quiet],
        "users": [],
    }
    assert sent.id != fake.messages(staff.id)[-1].id


async def test_allowed_mentions_parse_and_list_of_one_kind_is_refused(
    world: FakeDiscord, client: discord.Client
) -> None:
    fake = world
    channel = fake.guild.channel_by_name("plain")
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=channel.id)
    body = {"content": "x", "allowed_mentions": {"parse": ["roles"], "roles": ["1"]}}
    with pytest.raises(discord.HTTPException) as err:
        await client.http.request(route, json=body)
    assert err.value.status == 400
    assert "mutually exclusive" in str(fake.violations[0])
    fake.violations.clear()  # provoked on purpose


async def test_forum_posts_tags_and_active_threads(
    world: FakeDiscord, client: discord.Client
) -> None:
    fake = world
    forum_state = fake.guild.channel_by_name("forum")
    forum = client.get_channel(forum_state.id)
    assert isinstance(forum, discord.ForumChannel)
    tag = next(t for t in forum.available_tags if t.name == "Tech Brief")
    created = await forum.create_thread(name="Post", content="first", applied_tags=[tag])
    post = fake.guild.channels[created.thread.id]
    assert created.message.id == post.id and tag_names(forum_state, post) == ["Tech Brief"]
    assert fake.messages(post.id)[0].payload["content"] == "first"
    await created.thread.send("reply")
    active = await client.http.get_active_threads(fake.guild.id)
    assert [t["id"] for t in active["threads"]] == [str(post.id)]
    with pytest.raises(discord.HTTPException) as into_forum:
        route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=forum.id)
        await client.http.request(route, json={"content": "not here"})
    assert into_forum.value.code == 50024
    with pytest.raises(discord.HTTPException) as bad_tag:
        route = discord.http.Route("POST", "/channels/{channel_id}/threads", channel_id=forum.id)
        body = {"name": "P", "message": {"content": "x"}, "applied_tags": ["12345"]}
        await client.http.request(route, json=body)
    assert bad_tag.value.status == 400
    assert "not a tag of this forum" in str(fake.violations[-1])
    fake.violations.clear()  # provoked on purpose
