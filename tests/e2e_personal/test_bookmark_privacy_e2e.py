"""A server's custom feeds are its own, for bookmarks too: from another server, /bookmark add
with the raw id of a story only that feed carries (or a Bookmark button forged to point at it)
answers "There is no story N" exactly as for an id that does not exist, and /bookmarks there
never shows its title or link. Saved from the server that may see it, it is the user's own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from bot.storage.models import Feed, FeedLink
from tests.briefs.helpers import add_story
from tests.e2e_personal.helpers import description, feed_id, reply_content, shown
from tests.fakediscord import FakeDiscord
from tests.fakediscord import builders as B

Bot = tuple[TechbriefBot, Services]
WHEN = datetime(2026, 11, 20, tzinfo=UTC)
SECRET_URL = "https://private.example/post?token=SECRET"
SECRET_TITLE = "Quarterly numbers only for A"


async def a_private_story(services: Services, guild_id: int) -> int:
    """A story only a custom feed of ``guild_id`` carries (added with /feed add there)."""
    async with services.sessions.begin() as s:
        feed = Feed(
            key="a-private",
            url="https://private.example/a.xml?token=SECRET",
            title="A private",
            origin="custom",
            added_by_guild_id=guild_id,
            created_at=WHEN,
            next_check_at=WHEN,
        )
        s.add(feed)
        await s.flush()
        s.add(FeedLink(feed_id=feed.id, guild_id=guild_id, created_at=WHEN))
        private = int(feed.id)
    return await add_story(services.sessions, private, SECRET_TITLE, url=SECRET_URL)


async def saved_ids(services: Services, user_id: int) -> list[int]:
    return [b.story_id for b in (await services.bookmark_service().list(user_id, limit=100)).items]


async def test_bookmark_add_from_another_server_is_no_story(
    bot: Bot, fake_discord: FakeDiscord
) -> None:
    _bot, services = bot
    guild_a = fake_discord.guild
    guild_b = await fake_discord.join_guild("Guild B")
    secret = await a_private_story(services, guild_a.id)
    missing = secret + 10_000
    me = fake_discord.tester.id

    record = await fake_discord.interact_command(
        "bookmark add", {"story": str(secret)}, guild=guild_b
    )
    refused = await reply_content(fake_discord, record)
    assert f"There is no story {secret}" in refused
    assert SECRET_TITLE not in refused and "SECRET" not in refused
    # Word for word the answer for an id that does not exist: existence does not leak.
    record = await fake_discord.interact_command(
        "bookmark add", {"story": str(missing)}, guild=guild_b
    )
    assert (await reply_content(fake_discord, record)).replace(str(missing), str(secret)) == (
        refused
    )
    assert await saved_ids(services, me) == []

    record = await fake_discord.interact_command("bookmarks", {}, guild=guild_b)
    listed = description(await shown(fake_discord, record))
    assert SECRET_TITLE not in listed and "private.example" not in listed

    # A shared story is still fine from guild B.
    shared = await add_story(
        services.sessions, await feed_id(services, "netflix"), "Shared Netflix story"
    )
    record = await fake_discord.interact_command(
        "bookmark add", {"story": str(shared)}, guild=guild_b
    )
    assert "There is no story" not in await reply_content(fake_discord, record)
    assert await saved_ids(services, me) == [shared]


async def test_a_forged_bookmark_button_in_another_server_is_no_story(
    bot: Bot, fake_discord: FakeDiscord
) -> None:
    """The button path goes through the same check (custom ids are client-supplied)."""
    _bot, services = bot
    guild_a = fake_discord.guild
    guild_b = await fake_discord.join_guild("Guild B")
    secret = await a_private_story(services, guild_a.id)
    channel_b = next(iter(guild_b.channels.values()))
    # A message "by the bot" in guild B whose button points at guild A's story.
    forged: dict[str, Any] = B.user_message(channel_b, fake_discord.world.bot, "")
    forged["components"] = [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 2, "label": "Bookmark", "custom_id": f"tb:bm:{secret}"}
            ],
        }
    ]
    record = await fake_discord.interact_component(f"tb:bm:{secret}", forged)
    answer = await reply_content(fake_discord, record)
    assert f"There is no story {secret}" in answer and SECRET_TITLE not in answer
    assert await saved_ids(services, fake_discord.tester.id) == []


async def test_saved_in_its_own_server_it_stays_listable_everywhere(
    bot: Bot, fake_discord: FakeDiscord
) -> None:
    _bot, services = bot
    guild_a = fake_discord.guild
    guild_b = await fake_discord.join_guild("Guild B")
    secret = await a_private_story(services, guild_a.id)

    record = await fake_discord.interact_command("bookmark add", {"story": str(secret)})
    assert "There is no story" not in await reply_content(fake_discord, record)

    # The user's own bookmark: listed wherever that user asks.
    record = await fake_discord.interact_command("bookmarks", {}, guild=guild_b)
    assert SECRET_TITLE in description(await shown(fake_discord, record))
    assert await saved_ids(services, fake_discord.tester.id) == [secret]
