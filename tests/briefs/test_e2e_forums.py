"""Forum channels end to end: a brief is one forum post (tagged when the forum has a "tech
brief" tag) with the stories as replies, exactly once even when the sender dies between
asking Discord for the post and recording it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from bot.runtime.publisher import Publisher
from bot.storage.models import Delivery, Feed
from tests.botharness import Clock, answer_text, running_bot
from tests.briefs.helpers import add_story
from tests.fakediscord import Channel, FakeDiscord
from tests.fakediscord import permissions as P
from tests.fakediscord.forums import add_forum, tag_names
from tests.fakediscord.mentions import pinged

POSTS = "POST /channels/{channel_id}/threads"
MESSAGES = "POST /channels/{channel_id}/messages"
ACTIVE = "GET /guilds/{guild_id}/threads/active"
ARCHIVED = "GET /channels/{channel_id}/threads/archived/public"


@pytest.fixture
async def bot(
    fake_discord: FakeDiscord, db_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[tuple[TechbriefBot, Services]]:
    """The bot on each backend: the outbox carries pings and forum progress on both."""
    async with running_bot(fake_discord, db_url, tmp_path, clock=clock, migrate=True) as pair:
        yield pair


async def _forum(fake: FakeDiscord, *tags: str) -> Channel:
    forum = add_forum(fake.guild, "tech-forum", tags)
    await fake.dispatch("CHANNEL_CREATE", forum.payload(), guild_id=fake.guild.id)
    return forum


async def _command(fake: FakeDiscord, name: str, **options: str) -> str:
    record = await fake.interact_command(name, options, member_permissions=P.MANAGE_GUILD)
    assert record.ephemeral, record
    return await answer_text(fake, record)


async def _setup(fake: FakeDiscord, channel_id: int, **options: str) -> str:
    args = {"channel": str(channel_id), "time": "09:00", "timezone": "Europe/Berlin", **options}
    return await _command(fake, "brief setup", **args)


async def _stories(services: Services, count: int) -> list[str]:
    async with services.sessions() as s:
        netflix = int((await s.execute(select(Feed.id).where(Feed.key == "netflix"))).scalar_one())
    titles = [f"Forum story {n}" for n in range(count)]
    for title in titles:
        await add_story(services.sessions, netflix, title)
    return titles


def _posts(fake: FakeDiscord, forum: Channel) -> list[Channel]:
    return [c for c in fake.guild.channels.values() if c.parent_id == forum.id and c.is_thread]


def _card_titles(fake: FakeDiscord, post: Channel) -> list[str]:
    replies = [m for m in fake.messages(post.id) if m.id != post.id]
    return [e["title"] for m in replies for e in m.payload["embeds"]]


async def test_a_forum_brief_is_one_tagged_post_with_the_cards_as_replies(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = bot
    forum = await _forum(fake_discord, "Announcements", "Tech-Brief")
    readers = fake_discord.guild.add_role("readers", 0)
    readers.mentionable = True
    answer = await _setup(fake_discord, forum.id, ping=str(readers.id))
    assert "new post in the forum" in answer, answer
    titles = await _stories(services, 3)
    clock.advance(hours=1)
    await services.deliver_tick()
    await services.deliver_tick()  # a second tick must not post again

    (request,) = fake_discord.sent(POSTS, channel_id=forum.id)
    assert request.status == 201
    assert request.body["name"] == "Tech Brief · Sun 22 Nov 2026"
    message = request.body["message"]
    assert message["content"] == f"<@&{readers.id}>"
    assert message["allowed_mentions"] == {"parse": [], "roles": [str(readers.id)]}
    assert message["embeds"][0]["title"].startswith("Tech Brief · Sun 22 Nov 2026 · 3 new")
    (post,) = _posts(fake_discord, forum)
    assert tag_names(forum, post) == ["Tech-Brief"]
    first = fake_discord.messages(post.id)[0]
    assert first.id == post.id
    assert pinged(first.payload) == {"everyone": False, "roles": [readers.id], "users": []}
    assert sorted(_card_titles(fake_discord, post)) == sorted(titles)
    replies = fake_discord.sent(MESSAGES, channel_id=post.id)
    assert replies and all(r.allowed_mentions == {"parse": []} for r in replies)
    assert fake_discord.sent(MESSAGES, channel_id=forum.id) == []  # nothing into the forum
    async with services.sessions() as s:
        (row,) = (await s.scalars(select(Delivery))).all()
    assert (row.status, row.thread_id, row.message_ids[0]) == ("sent", post.id, str(post.id))
    assert "a new forum post per brief" in await _command(fake_discord, "brief status")


async def test_a_forum_without_the_tag_gets_an_untagged_post(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = bot
    forum = await _forum(fake_discord, "Announcements", "Tech news")
    await _setup(fake_discord, forum.id)
    await _stories(services, 1)
    assert (await services.brief_service().plan_now(forum.id)).planned
    await services.publisher.run_once()  # type: ignore[union-attr]
    (request,) = fake_discord.sent(POSTS, channel_id=forum.id)
    assert request.status == 201 and "applied_tags" not in request.body
    assert "allowed_mentions" in request.body["message"]
    (post,) = _posts(fake_discord, forum)
    assert post.applied_tags == [] and _card_titles(fake_discord, post) == ["Forum story 0"]


async def test_realtime_needs_a_text_channel(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord
) -> None:
    _bot, services = bot
    forum = await _forum(fake_discord)
    answer = await _setup(fake_discord, forum.id, mode="realtime")
    assert "realtime posting needs a text channel" in answer
    assert await services.brief_service().subs.get(forum.id) is None


@pytest.mark.parametrize("archived", [False, True], ids=["active", "archived"])
async def test_a_post_created_but_never_recorded_is_found_not_repeated(
    bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord, clock: Clock, archived: bool
) -> None:
    """The sender dies while Discord creates the post: the retry adopts that post (also
    when the post was archived meanwhile, e.g. the bot was down for a day)."""
    _bot, services = bot
    forum = await _forum(fake_discord, "tech brief")
    await _setup(fake_discord, forum.id)
    titles = await _stories(services, 4)
    assert (await services.brief_service().plan_now(forum.id)).planned
    briefs = services.brief_service()
    fake_discord.faults.slow(POSTS, delay=0.3, times=1)
    first = Publisher(
        services.require_discord, briefs.outbox, briefs.subs, services.metrics, clock, owner="a"
    )
    task = asyncio.create_task(first.run_once())
    await fake_discord.wait_until(lambda: bool(fake_discord.sent(POSTS)), timeout=5)
    task.cancel()  # the sender dies with the request in flight
    await asyncio.gather(task, return_exceptions=True)
    await fake_discord.wait_until(lambda: fake_discord.sent(POSTS)[0].status == 201, timeout=5)
    (post,) = _posts(fake_discord, forum)  # Discord made the post; nobody recorded it
    async with services.sessions() as s:
        (row,) = (await s.scalars(select(Delivery))).all()
    assert row.thread_id is None and row.post_requested_at is not None and row.progress == 0
    post.archived = archived

    clock.advance(minutes=5)  # the dead sender's lease runs out
    second = Publisher(
        services.require_discord, briefs.outbox, briefs.subs, services.metrics, clock, owner="b"
    )
    await second.run_once()
    assert len(fake_discord.sent(POSTS)) == 1 and len(_posts(fake_discord, forum)) == 1
    assert len(fake_discord.sent(ACTIVE)) == 1  # looked up once, by the retry
    assert len(fake_discord.sent(ARCHIVED)) == (1 if archived else 0)
    assert sorted(_card_titles(fake_discord, post)) == sorted(titles)
    async with services.sessions() as s:
        (row,) = (await s.scalars(select(Delivery))).all()
    assert (row.status, row.thread_id, row.progress) == ("sent", post.id, 2)
