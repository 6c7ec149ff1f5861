"""Two servers follow one feed added under two spellings: real discord.py against the fake
Discord, the feed from 127.0.0.1, SQLite. One feed row, one fetch per cycle, each channel
gets each new story once; when one server removes it the other keeps getting them."""

from __future__ import annotations

from typing import Any

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from tests.botharness import answer_text
from tests.e2e_feeds.test_feed_commands import content, custom_feeds, day, rss
from tests.fakediscord import EPHEMERAL, FakeDiscord, InteractionRecord
from tests.fakediscord import permissions as P
from tests.fakediscord.state import Channel, Guild
from tests.feedserver import FeedServer

Bot = tuple[TechbriefBot, Services]
MESSAGES = "POST /channels/{channel_id}/messages"


async def command(
    fake: FakeDiscord, guild: Guild, channel: Channel, name: str, options: dict[str, Any]
) -> str:
    record: InteractionRecord = await fake.interact_command(
        name, options, guild=guild, channel=channel, member_permissions=P.MANAGE_GUILD
    )
    await answer_text(fake, record, timeout=10)
    assert record.ephemeral, record.callback
    for message in record.followups:
        assert message.payload["flags"] & EPHEMERAL, message.payload
    return content(record)


def titles(fake: FakeDiscord, channel: Channel) -> list[str]:
    return [m.embeds[0]["title"] for m in fake.sent(MESSAGES, channel_id=channel.id) if m.embeds]


async def poll(services: Services) -> None:
    assert services.refresher is not None
    await services.refresher.run_due("test", force=True)
    await services.deliver_tick()


async def test_two_servers_two_spellings_one_feed(
    bot: Bot, fake_discord: FakeDiscord, feed_server: FeedServer
) -> None:
    _bot, services = bot
    first_guild, first = fake_discord.guild, fake_discord.channel
    second_guild = await fake_discord.join_guild("Second Server")
    second = next(iter(second_guild.channels.values()))
    old = ("Old post", "https://blog.test/old", day(20))
    feed_server.add("/blog", rss("Shared Eng Blog", [old]))
    spelling_a = feed_server.url("/blog")
    # Scheme and host case and a trailing slash: the same address as the fetcher sees it.
    spelling_b = spelling_a.replace("http://127.0.0.1", "HTTP://127.0.0.1") + "/"
    servers = ((first_guild, first, spelling_a), (second_guild, second, spelling_b))
    for guild, channel, url in servers:
        setup = {"channel": str(channel.id), "time": "09:00", "timezone": "UTC"}
        setup["mode"] = "realtime"
        await command(fake_discord, guild, channel, "brief setup", setup)
        answer = await command(
            fake_discord, guild, channel, "feed add", {"url": url, "channel": str(channel.id)}
        )
        # The second server gets the same answer as the first, not a refusal.
        assert "Added **Shared Eng Blog**" in answer, answer
        assert "Latest: [Old post](<https://blog.test/old>)" in answer, answer

    (feed,) = await custom_feeds(services)
    assert feed.url == spelling_a
    hits_before = feed_server.hits["/blog"]
    fresh = ("Fresh post", "https://blog.test/fresh", day(22))
    feed_server.add("/blog", rss("Shared Eng Blog", [old, fresh]))
    await poll(services)
    assert feed_server.hits["/blog"] == hits_before + 1  # one fetch for both servers
    assert feed_server.hits["/blog/"] == 0
    await services.deliver_tick()  # a second tick repeats nothing
    assert titles(fake_discord, first) == ["Fresh post"]
    assert titles(fake_discord, second) == ["Fresh post"]

    removed = await command(fake_discord, second_guild, second, "feed remove", {"feed": feed.key})
    assert "Removed **Shared Eng Blog**" in removed, removed
    later = ("Later post", "https://blog.test/later", day(23))
    feed_server.add("/blog", rss("Shared Eng Blog", [old, fresh, later]))
    await poll(services)
    assert titles(fake_discord, first) == ["Fresh post", "Later post"]
    assert titles(fake_discord, second) == ["Fresh post"]
    (still,) = await custom_feeds(services)
    assert still.id == feed.id and still.active  # still followed by the first server
    fake_discord.assert_no_violations()
