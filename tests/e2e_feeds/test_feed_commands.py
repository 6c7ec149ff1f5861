"""/feed end to end: real discord.py and cogs against the fake Discord, feeds from 127.0.0.1."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from bot.storage.models import Feed
from tests.botharness import Clock, answer_text, running_bot
from tests.briefs.helpers import add_feed
from tests.fakediscord import EPHEMERAL, FakeDiscord, InteractionRecord
from tests.fakediscord import permissions as P
from tests.feedserver import FeedServer

Bot = tuple[TechbriefBot, Services]
MESSAGES = "POST /channels/{channel_id}/messages"
OTHER_GUILD = 999_000_111


# -- helpers ------------------------------------------------------------------------------------


def rss(title: str, items: Sequence[tuple[str, str, datetime]]) -> str:
    """An RSS 2.0 document with exactly these (title, link, published) items."""
    entries = "".join(
        f"<item><title>{html.escape(t)}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{format_datetime(when)}</pubDate><description>About {html.escape(t)}"
        "</description></item>"
        for t, link, when in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title><link>https://blog.test/</link>{entries}"
        "</channel></rss>"
    )


def day(n: int) -> datetime:
    return datetime(2026, 11, n, 12, 0, tzinfo=UTC)


async def run(
    fake: FakeDiscord,
    command: str,
    options: dict[str, Any] | None = None,
    *,
    perms: int = P.MANAGE_GUILD,
) -> InteractionRecord:
    """Run a slash command, wait for its (deferred) answer, check it is private."""
    record = await fake.interact_command(command, options or {}, member_permissions=perms)
    await answer_text(fake, record, timeout=10)
    assert record.ephemeral, f"answer to /{command} is not ephemeral: {record.callback}"
    for message in record.followups:
        assert message.payload["flags"] & EPHEMERAL, message.payload
    return record


def content(record: InteractionRecord) -> str:
    """The answer's text as Discord would show it (after a deferral: the followup)."""
    if record.followups:
        return str(record.followups[-1].payload.get("content") or "")
    if record.original_edits:
        return str(record.original_edits[-1].get("content") or "")
    return str(record.data.get("content") or "")


def embed(record: InteractionRecord) -> dict[str, Any]:
    if record.followups:
        embeds = record.followups[-1].payload.get("embeds") or []
    elif record.original_edits:
        embeds = record.original_edits[-1].get("embeds") or []
    else:
        embeds = record.data.get("embeds") or []
    assert embeds, f"no embed in the answer: {record.callback}"
    return dict(embeds[0])


async def custom_feeds(services: Services) -> list[Feed]:
    async with services.sessions() as s:
        rows = await s.scalars(select(Feed).where(Feed.origin != "catalog").order_by(Feed.id))
        return list(rows)


async def add(fake: FakeDiscord, url: str, **options: str) -> str:
    return content(await run(fake, "feed add", {"url": url, **options}))


# -- /feed add ----------------------------------------------------------------------------------


async def test_add_shows_title_and_latest_story_and_announces_no_backfill(
    bot: Bot, fake_discord: FakeDiscord, feed_server: FeedServer
) -> None:
    _bot, services = bot
    channel = fake_discord.channel
    await run(
        fake_discord,
        "brief setup",
        {"channel": str(channel.id), "time": "09:00", "timezone": "UTC", "mode": "realtime"},
    )
    older = ("Older post", "https://blog.test/older", day(19))
    newest = ("Newest post", "https://blog.test/newest", day(21))
    feed_server.add("/blog.xml", rss("Hostile **Blog** @everyone", [older, newest]), etag=True)

    text = await add(fake_discord, feed_server.url("/blog.xml"), channel=str(channel.id))

    assert "Added **Hostile \\*\\*Blog\\*\\* @\u200beveryone**" in text, text
    assert "@everyone" not in text
    assert "Latest: [Newest post](<https://blog.test/newest>)" in text, text
    assert "2 existing stories archived" in text
    assert f"<#{channel.id}> gets its new stories" in text
    assert feed_server.hits["/blog.xml"] == 1  # fetched once, before it was accepted
    (row,) = await custom_feeds(services)
    assert row.added_by_guild_id == fake_discord.guild.id and row.origin == "custom"

    # What the feed already had is backfill: never announced, however often delivery runs.
    await services.deliver_tick()
    await services.deliver_tick()
    assert fake_discord.sent(MESSAGES, channel_id=channel.id) == []

    # ...while a post that appears later is, so the channel really follows the feed.
    fresh = ("Fresh post", "https://blog.test/fresh", day(22))
    feed_server.add(
        "/blog.xml", rss("Hostile **Blog** @everyone", [older, newest, fresh]), etag=True
    )
    assert services.refresher is not None
    await services.refresher.run_due("test", force=True, feed_ids=[row.id])
    await services.deliver_tick()
    sent = fake_discord.sent(MESSAGES, channel_id=channel.id)
    assert [m.embeds[0]["title"] for m in sent] == ["Fresh post"]


async def test_add_to_a_channel_without_a_brief_stores_nothing(
    bot: Bot, fake_discord: FakeDiscord, feed_server: FeedServer
) -> None:
    _bot, services = bot
    feed_server.add_feed("/feed.xml")
    text = await add(
        fake_discord, feed_server.url("/feed.xml"), channel=str(fake_discord.channel.id)
    )
    assert "no brief set up" in text, text
    assert feed_server.hits["/feed.xml"] == 0
    assert await custom_feeds(services) == []


async def test_adding_the_same_url_again_says_already(
    bot: Bot, fake_discord: FakeDiscord, feed_server: FeedServer
) -> None:
    _bot, services = bot
    feed_server.add_feed("/feed.xml", items=2)
    url = feed_server.url("/feed.xml")
    assert "Added **Generated blog**" in await add(fake_discord, url)
    again = await add(fake_discord, url)
    assert "already follows that feed" in again, again
    assert len(await custom_feeds(services)) == 1


async def test_bad_urls_get_clear_answers_and_store_nothing(
    bot: Bot, fake_discord: FakeDiscord, feed_server: FeedServer
) -> None:
    _bot, services = bot
    feed_server.add(
        "/page.html",
        "<!doctype html><html><head><title>Home</title></head><body><p>Hi</p></body></html>",
        content_type="text/html; charset=utf-8",
    )
    feed_server.status("/broken.xml", 500)
    cases = {
        feed_server.url("/missing.xml"): "The site answered HTTP 404; check the URL.",
        feed_server.url("/broken.xml"): "The site answered HTTP 500; check the URL.",
        feed_server.url("/page.html"): "That URL is not a feed",
        "ftp://example.com/feed.xml": "Feed URLs must start with http:// or https://",
        "javascript:alert(1)": "Feed URLs must start with http:// or https://",
        "not a url": "Feed URLs must start with http:// or https://",
    }
    for url, expected in cases.items():
        text = await add(fake_discord, url)
        assert expected in text, (url, text)
    assert await custom_feeds(services) == []


async def test_timeout_and_too_large_get_clear_answers(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/slow.xml", delay=3.0)
    feed_server.huge("/huge.xml", 2 * 1024 * 1024)
    async with running_bot(
        fake_discord,
        sqlite_url,
        tmp_path,
        migrate=True,
        TECHBRIEF_FETCH__TOTAL_TIMEOUT_S="1",
        TECHBRIEF_FETCH__MAX_BODY_MB="1",
    ) as pair:
        _bot, services = pair
        assert "took too long" in await add(fake_discord, feed_server.url("/slow.xml"))
        assert "too large" in await add(fake_discord, feed_server.url("/huge.xml"))
        assert await custom_feeds(services) == []


async def test_private_addresses_are_refused_unless_allowed(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/feed.xml")
    async with running_bot(
        fake_discord,
        sqlite_url,
        tmp_path,
        migrate=True,
        TECHBRIEF_FETCH__ALLOW_PRIVATE_NETWORKS="0",
    ) as pair:
        _bot, services = pair
        # A literal address is refused before any request; a name that resolves to one is
        # refused by the guard on the address actually dialled.
        for url in (feed_server.url("/feed.xml"), feed_server.url("/feed.xml", host="localhost")):
            text = await add(fake_discord, url)
            assert "That address is not allowed" in text, (url, text)
        assert feed_server.hits["/feed.xml"] == 0
        assert await custom_feeds(services) == []


# -- /feed remove, list ---------------------------------------------------------------------------


async def test_remove_through_autocomplete_and_list(
    bot: Bot, fake_discord: FakeDiscord, feed_server: FeedServer
) -> None:
    _bot, services = bot
    feed_server.add("/alpha.xml", rss("Alpha Engineering", [("A1", "https://a.test/1", day(20))]))
    feed_server.add("/beta.xml", rss("Beta Notes", [("B1", "https://b.test/1", day(20))]))
    feed_server.add("/gamma.xml", rss("Gamma Elsewhere", [("G1", "https://g.test/1", day(20))]))
    await add(fake_discord, feed_server.url("/alpha.xml"))
    await add(fake_discord, feed_server.url("/beta.xml"))
    # Another server's feed: never offered, never removable from here.
    gamma = await services.feed_service().add_custom(
        feed_server.url("/gamma.xml"), guild_id=OTHER_GUILD
    )

    everything = await fake_discord.interact_autocomplete(
        "feed remove", {"feed": ""}, focused="feed", member_permissions=P.MANAGE_GUILD
    )
    names = [c["name"] for c in everything.choices]
    assert len(names) == 2 and not any("Gamma" in n for n in names), names
    beta = await fake_discord.interact_autocomplete(
        "feed remove", {"feed": "BETA"}, focused="feed", member_permissions=P.MANAGE_GUILD
    )
    ((name, key),) = [(c["name"], c["value"]) for c in beta.choices]
    assert name == f"{key} · Beta Notes"
    outsider = await fake_discord.interact_autocomplete(
        "feed remove", {"feed": ""}, focused="feed", member_permissions=0
    )
    assert outsider.choices == []

    text = content(await run(fake_discord, "feed remove", {"feed": key}))
    assert f"Removed **Beta Notes** (`{key}`)" in text, text
    listing = embed(await run(fake_discord, "feed list"))
    assert listing["title"] == "This server's feeds (1)"
    assert "Alpha Engineering" in listing["description"]
    assert "Beta Notes" not in listing["description"]

    refused = content(await run(fake_discord, "feed remove", {"feed": gamma.key}))
    assert f"This server follows no feed `{gamma.key}`" in refused
    assert any(f.key == gamma.key and f.active for f in await custom_feeds(services))


async def test_rename_changes_the_name_shown_and_keeps_the_key(
    bot: Bot, fake_discord: FakeDiscord, feed_server: FeedServer
) -> None:
    _bot, services = bot
    feed_server.add(
        "/med.xml", rss("Fresh Eng Blog – Medium", [("M1", "https://m.test/1", day(20))])
    )
    feed_server.add("/other.xml", rss("Elsewhere", [("O1", "https://o.test/1", day(20))]))
    await add(fake_discord, feed_server.url("/med.xml"))
    ((feed,),) = [await custom_feeds(services)]
    assert (feed.title, feed.key) == ("Fresh Eng Blog", "fresh-eng-blog")  # suffix dropped
    offered = await fake_discord.interact_autocomplete(
        "feed rename",
        {"feed": "fresh", "name": ""},
        focused="feed",
        member_permissions=P.MANAGE_GUILD,
    )
    assert [c["value"] for c in offered.choices] == ["fresh-eng-blog"]

    hostile = "@everyone **Our** <b>Platform</b> Blog"
    text = content(
        await run(fake_discord, "feed rename", {"feed": "fresh-eng-blog", "name": hostile})
    )
    assert "Renamed **Fresh Eng Blog** to" in text and "`fresh-eng-blog`" in text, text
    assert "@everyone" not in text.replace("@\u200beveryone", "")  # inert if echoed at all
    ((renamed,),) = [await custom_feeds(services)]
    assert renamed.key == "fresh-eng-blog"
    assert renamed.title == "@everyone **Our** Platform Blog"  # plain text, markup gone
    listing = embed(await run(fake_discord, "feed list"))
    assert "Platform Blog" in listing["description"]

    empty = content(
        await run(fake_discord, "feed rename", {"feed": "fresh-eng-blog", "name": "<b></b>"})
    )
    assert "Give the feed a name" in empty
    long = content(
        await run(fake_discord, "feed rename", {"feed": "fresh-eng-blog", "name": "x" * 81})
    )
    assert "keep it to 80" in long
    other = await services.feed_service().add_custom(
        feed_server.url("/other.xml"), guild_id=OTHER_GUILD
    )
    refused = content(await run(fake_discord, "feed rename", {"feed": other.key, "name": "Mine"}))
    assert f"This server follows no feed `{other.key}`" in refused
    titles = {f.key: f.title for f in await custom_feeds(services)}
    assert titles[other.key] == "Elsewhere"


async def test_list_is_paginated(bot: Bot, fake_discord: FakeDiscord) -> None:
    _bot, services = bot
    for n in range(12):
        await add_feed(
            services.sessions, f"own{n:02d}", origin="custom", guild_id=fake_discord.guild.id
        )
    await add_feed(services.sessions, "someone-else", origin="custom", guild_id=OTHER_GUILD)
    record = await run(fake_discord, "feed list")
    first = embed(record)
    assert first["title"] == "This server's feeds (12)"
    assert "`own09`" in first["description"] and "`own10`" not in first["description"]
    assert first["footer"]["text"].startswith("Page 1/2")
    assert "someone-else" not in first["description"]

    assert record.original is not None
    message = record.original
    buttons = [c for row in message.payload["components"] for c in row["components"]]
    (next_button,) = [b for b in buttons if b.get("label") == "Next"]
    click = await fake_discord.interact_component(next_button["custom_id"], message)
    await fake_discord.wait_until(lambda: bool(click.original_edits), 5)
    second = click.original_edits[-1]["embeds"][0]
    assert "`own10`" in second["description"] and "`own11`" in second["description"]
    assert second["footer"]["text"].startswith("Page 2/2")


# -- /feed status ---------------------------------------------------------------------------------


async def test_status_shows_failing_feeds_with_their_error(
    bot: Bot, fake_discord: FakeDiscord, feed_server: FeedServer, clock: Clock
) -> None:
    _bot, services = bot
    feed_server.add_feed("/fine.xml")
    feed_server.add("/flaky.xml", rss("Flaky Blog", [("F1", "https://f.test/1", day(20))]))
    await add(fake_discord, feed_server.url("/fine.xml"))
    await add(fake_discord, feed_server.url("/flaky.xml"))

    healthy = embed(await run(fake_discord, "feed status"))
    assert healthy["description"] == "**4 feeds OK**"  # 2 catalog + 2 own
    assert not healthy.get("fields")

    added_at = clock.now
    clock.advance(minutes=30)  # later than the add, not yet late for any check
    feed_server.status("/flaky.xml", 500)
    (flaky,) = [f for f in await custom_feeds(services) if f.title == "Flaky Blog"]
    assert services.refresher is not None
    await services.refresher.run_due("test", force=True, feed_ids=[flaky.id])
    # A catalog feed this server draws from fails too (no network for it in a test).
    async with services.sessions.begin() as s:
        await s.execute(
            update(Feed)
            .where(Feed.key == "netflix")
            .values(error_count=3, last_error="Connection refused")
        )

    status = embed(await run(fake_discord, "feed status"))
    assert status["description"] == "**2 feeds OK** · 2 failing · 0 slow", status
    fields = {f["name"]: f["value"] for f in status["fields"]}
    (flaky_now,) = [f for f in await custom_feeds(services) if f.id == flaky.id]
    value = fields[f"⚠️ {flaky.key}"]
    assert "Flaky Blog · this server's feed" in value
    assert "HTTP 500" in value and "**Errors in a row:** 1" in value
    assert f"**Last success:** <t:{int(added_at.timestamp())}:R>" in value
    assert f"**Next check:** <t:{int(flaky_now.next_check_at.timestamp())}:R>" in value
    assert flaky_now.next_check_at > clock.now  # backing off, not given up
    catalog = fields["⚠️ netflix"]
    assert "catalog" in catalog and "Connection refused" in catalog
    assert "**Errors in a row:** 3" in catalog

    # Hours later nothing has polled the other catalog feed: it shows as slow (overdue).
    clock.advance(hours=3)
    later = embed(await run(fake_discord, "feed status"))
    overdue = {f["name"]: f["value"] for f in later["fields"]}["🐢 toss"]
    assert "check is overdue" in overdue and "**Last success:** never" in overdue
    assert f"**Next check:** was due <t:{int(added_at.timestamp())}:R>" in overdue
    assert "· 1 slow" in later["description"]


# -- permissions ----------------------------------------------------------------------------------


async def test_members_without_manage_server_are_refused(
    bot: Bot, fake_discord: FakeDiscord, feed_server: FeedServer
) -> None:
    _bot, services = bot
    feed_server.add_feed("/feed.xml")
    commands: list[tuple[str, dict[str, Any]]] = [
        ("feed add", {"url": feed_server.url("/feed.xml")}),
        ("feed remove", {"feed": "anything"}),
        ("feed rename", {"feed": "anything", "name": "Mine"}),
        ("feed list", {}),
        ("feed status", {}),
    ]
    for command, options in commands:
        record = await run(fake_discord, command, options, perms=P.VIEW_CHANNEL)
        assert "You need the **Manage Server** permission" in content(record), command
    assert feed_server.hits["/feed.xml"] == 0
    assert await custom_feeds(services) == []
