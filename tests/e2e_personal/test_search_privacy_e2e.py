"""A server's custom feeds are its own: /search and /bookmark add's story autocomplete in one
server never show stories from another server's custom feed (a private feed's URL can carry
a token, and its stories are that server's business)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from bot.storage.models import Feed, FeedLink
from tests.briefs.helpers import add_story
from tests.e2e_personal.helpers import choices, description, feed_id, shown
from tests.fakediscord import FakeDiscord

Bot = tuple[TechbriefBot, Services]
WHEN = datetime(2026, 11, 20, tzinfo=UTC)


async def add_custom_feed(services: Services, key: str, guild_id: int) -> int:
    """A feed one server added with /feed add (origin "custom")."""
    async with services.sessions.begin() as s:
        feed = Feed(
            key=key,
            url=f"https://private.example/{key}.xml?token=SECRET",
            title=f"{key} private",
            origin="custom",
            added_by_guild_id=guild_id,
            created_at=WHEN,
            next_check_at=WHEN,
        )
        s.add(feed)
        await s.flush()
        s.add(FeedLink(feed_id=feed.id, guild_id=guild_id, created_at=WHEN))
        return int(feed.id)


async def okapi_stories(services: Services, guild_a: int, guild_b: int) -> dict[str, int]:
    feed_a = await add_custom_feed(services, "a-private", guild_a)
    feed_b = await add_custom_feed(services, "b-private", guild_b)
    netflix = await feed_id(services, "netflix")
    return {
        "shared": await add_story(services.sessions, netflix, "Okapi shared story"),
        "a": await add_story(services.sessions, feed_a, "Okapi only for A"),
        "b": await add_story(services.sessions, feed_b, "Okapi only for B"),
    }


async def test_search_shows_only_this_servers_custom_feeds(
    bot: Bot, fake_discord: FakeDiscord
) -> None:
    _bot, services = bot
    guild_a = fake_discord.guild
    guild_b = await fake_discord.join_guild("Guild B")
    await okapi_stories(services, guild_a.id, guild_b.id)

    in_a = description(
        await shown(fake_discord, await fake_discord.interact_command("search", {"query": "okapi"}))
    )
    assert "Okapi shared story" in in_a and "Okapi only for A" in in_a
    assert "Okapi only for B" not in in_a

    record = await fake_discord.interact_command("search", {"query": "okapi"}, guild=guild_b)
    in_b = description(await shown(fake_discord, record))
    assert "Okapi shared story" in in_b and "Okapi only for B" in in_b
    assert "Okapi only for A" not in in_b

    # Naming the other server's feed finds nothing, not even that it exists.
    record = await fake_discord.interact_command("search", {"query": "source:b-private"})
    assert "No stories match" in description(await shown(fake_discord, record))


async def test_bookmark_story_autocomplete_shows_only_this_servers_custom_feeds(
    bot: Bot, fake_discord: FakeDiscord
) -> None:
    _bot, services = bot
    guild_a = fake_discord.guild
    guild_b = await fake_discord.join_guild("Guild B")
    ids = await okapi_stories(services, guild_a.id, guild_b.id)

    for typed in ("okapi", ""):  # a title, and the newest stories for an empty field
        in_a = await fake_discord.interact_autocomplete(
            "bookmark add", {"story": typed}, focused="story"
        )
        offered = {value for _name, value in choices(in_a)}
        assert {str(ids["shared"]), str(ids["a"])} <= offered
        assert str(ids["b"]) not in offered

        in_b = await fake_discord.interact_autocomplete(
            "bookmark add", {"story": typed}, focused="story", guild=guild_b
        )
        offered = {value for _name, value in choices(in_b)}
        assert {str(ids["shared"]), str(ids["b"])} <= offered
        assert str(ids["a"]) not in offered
