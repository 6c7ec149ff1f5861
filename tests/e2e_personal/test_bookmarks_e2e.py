"""Bookmarks end to end: the persistent button across a restart, the message menu, the
commands, paging, exports, privacy between users, cap and duplicates; all ephemeral."""

from __future__ import annotations

import json
from pathlib import Path

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from tests.botharness import Clock
from tests.briefs.helpers import add_story
from tests.e2e_personal.helpers import (
    assert_ephemeral,
    bookmark_ids,
    buttons,
    choices,
    click,
    description,
    end_closed_sessions,
    feed_id,
    file_of,
    final_text,
    footer,
    personal_bot,
    reply_content,
    shown,
)
from tests.fakediscord import FakeDiscord, StoredMessage
from tests.fakediscord import permissions as P

Bot = tuple[TechbriefBot, Services]
MESSAGES = "POST /channels/{channel_id}/messages"


async def post_brief(
    fake: FakeDiscord, services: Services, clock: Clock, titles: list[str]
) -> tuple[StoredMessage, StoredMessage, list[int]]:
    """Set up #general, store stories, deliver the brief: (header, story batch, story ids)."""
    general = fake.channel
    assert general is not None
    record = await fake.interact_command(
        "brief setup",
        {"channel": str(general.id), "time": "09:00", "timezone": "Europe/Berlin"},
        member_permissions=P.MANAGE_GUILD,
    )
    assert "every day at 09:00" in await final_text(fake, record)
    netflix = await feed_id(services, "netflix")
    ids = [await add_story(services.sessions, netflix, title) for title in titles]
    clock.advance(hours=1)
    await services.deliver_tick()
    header, *_ = fake.messages(general.id)
    batch = next(
        m
        for m in fake.world.messages.values()
        if m.channel_id != general.id and m.payload.get("components")
    )
    assert sorted(bookmark_ids(batch)) == sorted(ids)
    return header, batch, ids


async def titles_of(services: Services, user_id: int) -> list[str]:
    page = await services.bookmark_service().list(user_id, limit=100)
    return [b.title for b in page.items]


async def test_bookmark_button_on_a_brief_works_after_a_restart(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, clock: Clock
) -> None:
    async with personal_bot(fake_discord, sqlite_url, tmp_path, clock=clock) as (_bot, services):
        _header, batch, ids = await post_brief(
            fake_discord, services, clock, ["Data Mesh at Netflix", "Chaos engineering"]
        )
    end_closed_sessions(fake_discord)
    # A new process on the same database: nothing of the first one's views survives.
    async with personal_bot(fake_discord, sqlite_url, tmp_path, clock=clock, first_start=False) as (
        _bot,
        services,
    ):
        record = await fake_discord.interact_component(f"tb:bm:{ids[1]}", batch)
        text = await final_text(fake_discord, record)
        assert "Saved" in text and "Chaos engineering" in text and "1 of 5,000" in text
        again = await fake_discord.interact_component(f"tb:bm:{ids[1]}", batch)
        assert "Already in your bookmarks" in await final_text(fake_discord, again)
        other = fake_discord.world.add_user("other")
        theirs = await fake_discord.interact_component(f"tb:bm:{ids[0]}", batch, user=other)
        assert "Saved" in await final_text(fake_discord, theirs)
        assert await titles_of(services, fake_discord.tester.id) == ["Chaos engineering"]
        assert await titles_of(services, other.id) == ["Data Mesh at Netflix"]


async def test_context_menu_one_several_and_no_story(
    bot: Bot, fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = bot
    header, batch, ids = await post_brief(
        fake_discord, services, clock, ["First story", "Second story", "Third story"]
    )
    # Several stories: an ephemeral menu to choose from, usable only by the invoker.
    record = await fake_discord.interact_message_command("Bookmark story", batch)
    assert_ephemeral(record)
    (select,) = buttons(record.data)
    assert select["type"] == 3 and select["max_values"] == 3
    in_message = [e["title"] for e in batch.payload["embeds"]]
    assert [o["label"] for o in select["options"]] == [
        f"{n}. {title}" for n, title in enumerate(in_message, start=1)
    ]
    assert [o["value"] for o in select["options"]] == [str(i) for i in bookmark_ids(batch)]
    menu = record.original
    assert menu is not None
    stranger = fake_discord.world.add_user("stranger")
    refused = await fake_discord.interact_component(
        select["custom_id"], menu, component_type=3, values=[str(ids[0])], user=stranger
    )
    assert refused.ephemeral and "Only the person" in (refused.content or "")
    assert await titles_of(services, stranger.id) == []
    picked = await fake_discord.interact_component(
        select["custom_id"], menu, component_type=3, values=[str(ids[0]), str(ids[2])]
    )
    await fake_discord.wait_until(lambda: bool(picked.original_edits), 5)
    assert "Saved" in menu.payload["content"] and "Third story" in menu.payload["content"]
    assert menu.payload["components"] == []  # the menu is gone once used
    assert sorted(await titles_of(services, fake_discord.tester.id)) == [
        "First story",
        "Third story",
    ]

    # One story (a realtime post): bookmarked at once.
    single = await fake_discord.interact_component(f"tb:bm:{ids[1]}", batch)  # warm path
    assert "Saved" in await final_text(fake_discord, single)
    realtime = dict(
        batch.payload,
        components=[
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 2, "label": "Bookmark", "custom_id": f"tb:bm:{ids[1]}"}
                ],
            }
        ],
        embeds=batch.payload["embeds"][1:2],
    )
    record = await fake_discord.interact_message_command("Bookmark story", realtime)
    text = await final_text(fake_discord, record)
    assert "Already in your bookmarks" in text and "Second story" in text

    # No story: the brief header, and somebody else's message.
    for target in (header, "look at this @everyone"):
        record = await fake_discord.interact_message_command("Bookmark story", target)
        assert "holds no story" in await final_text(fake_discord, record)


async def test_add_note_tag_filter_remove_through_commands(
    bot: Bot, fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = bot
    netflix = await feed_id(services, "netflix")
    k8s = await add_story(services.sessions, netflix, "Kubernetes cost at scale")
    chaos = await add_story(services.sessions, netflix, "Chaos engineering revisited")
    # Autocomplete finds stories by title (search service), value = the story id.
    record = await fake_discord.interact_autocomplete(
        "bookmark add", {"story": "kubernetes co"}, focused="story"
    )
    assert choices(record)[0][1] == str(k8s)
    assert choices(record)[0][0].startswith("Kubernetes cost at scale — Netflix TechBlog")
    newest = await fake_discord.interact_autocomplete(
        "bookmark add", {"story": ""}, focused="story"
    )
    assert {value for _n, value in choices(newest)} == {str(k8s), str(chaos)}

    for story in (k8s, chaos):
        rec = await fake_discord.interact_command("bookmark add", {"story": str(story)})
        assert "Saved" in await final_text(fake_discord, rec)
        clock.advance(minutes=1)
    own = await fake_discord.interact_autocomplete(
        "bookmark note", {"story": "chaos"}, focused="story"
    )
    assert choices(own) == [(choices(own)[0][0], str(chaos))]

    rec = await fake_discord.interact_command(
        "bookmark note", {"story": str(k8s), "text": "Read before the **budget** @here meeting"}
    )
    text = await reply_content(fake_discord, rec)
    assert "\\*\\*budget\\*\\*" in text and "@here" not in text and "@\u200bhere" in text
    rec = await fake_discord.interact_command(
        "bookmark tag", {"story": str(k8s), "tags": "K8s, cost"}
    )
    text = await reply_content(fake_discord, rec)
    assert text.endswith(": `cost` `k8s`\nFilter by one with `/bookmarks tag:`."), text
    tags = await fake_discord.interact_autocomplete(
        "bookmark tag", {"story": str(chaos), "tags": "sre, co"}, focused="tags"
    )
    assert choices(tags) == [("sre, cost", "sre, cost")]
    tag_filter = await fake_discord.interact_autocomplete("bookmarks", {"tag": "k"}, focused="tag")
    assert choices(tag_filter) == [("k8s (1)", "k8s")]

    listing = await fake_discord.interact_command("bookmarks", {"tag": "k8s"})
    message = await shown(fake_discord, listing)
    assert "Kubernetes cost" in description(message) and "Chaos" not in description(message)
    assert "Read before the" in description(message) and "`k8s`" in description(message)

    rec = await fake_discord.interact_command("bookmark remove", {"story": str(k8s)})
    assert "Removed" in await final_text(fake_discord, rec)
    assert await titles_of(services, fake_discord.tester.id) == ["Chaos engineering revisited"]
    rec = await fake_discord.interact_command("bookmark remove", {"story": str(k8s)})
    assert "is not in your bookmarks" in await final_text(fake_discord, rec)
    rec = await fake_discord.interact_command("bookmark add", {"story": "kubernetes"})
    assert "is not a story" in await final_text(fake_discord, rec)


async def test_bookmarks_list_pages_newest_first(
    bot: Bot, fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = bot
    netflix = await feed_id(services, "netflix")
    for n in range(7):
        story = await add_story(services.sessions, netflix, f"Story number {n}")
        await services.bookmark_service().add(
            fake_discord.tester.id, story, guild_id=fake_discord.guild.id
        )
        clock.advance(minutes=1)
    record = await fake_discord.interact_command("bookmarks", {})
    assert_ephemeral(record)
    message = await shown(fake_discord, record)
    first = description(message)
    assert "Page 1 of 2" in footer(message) and "7 bookmarks" in footer(message)
    assert first.index("Story number 6") < first.index("Story number 2")
    assert "Story number 1" not in first
    stranger = fake_discord.world.add_user("stranger")
    refused = await click(fake_discord, message, "Next", user=stranger)
    assert "Only the person" in (refused.content or "") and "Page 1 of 2" in footer(message)
    await click(fake_discord, message, "Next")
    assert "Page 2 of 2" in footer(message)
    assert "Story number 1" in description(message) and "Story number 0" in description(message)
    assert "Story number 6" not in description(message)


async def test_exports_are_ephemeral_files(bot: Bot, fake_discord: FakeDiscord) -> None:
    _bot, services = bot
    netflix = await feed_id(services, "netflix")
    story = await add_story(
        services.sessions,
        netflix,
        "Exported <b>story</b> & more",
        url="https://netflix.example/post?a=1&b=2",
    )
    await services.bookmark_service().add(
        fake_discord.tester.id, story, guild_id=fake_discord.guild.id
    )
    await services.bookmark_service().set_tags(fake_discord.tester.id, story, "data")

    rec = await fake_discord.interact_command("bookmark export", {"format": "markdown"})
    assert "Markdown" in await final_text(fake_discord, rec)
    name, data = file_of(rec)
    assert name == "techbrief-bookmarks-2026-11-22.md"
    assert "netflix.example/post?a=1&b=2" in data.decode() and "Exported" in data.decode()

    rec = await fake_discord.interact_command("bookmark export", {"format": "html"})
    await final_text(fake_discord, rec)
    name, data = file_of(rec)
    html = data.decode()
    assert name.endswith(".html") and html.startswith("<!DOCTYPE NETSCAPE-Bookmark-file-1>")
    assert 'HREF="https://netflix.example/post?a=1&amp;b=2"' in html
    assert "&lt;b&gt;story&lt;/b&gt; &amp; more" in html and 'TAGS="data"' in html

    rec = await fake_discord.interact_command("bookmark export", {"format": "json"})
    await final_text(fake_discord, rec)
    name, data = file_of(rec)
    exported = json.loads(data)
    items = exported if isinstance(exported, list) else exported.get("bookmarks", exported)
    assert name.endswith(".json") and "Exported <b>story</b> & more" in data.decode()
    assert len(items) == 1


async def test_users_only_ever_see_their_own(bot: Bot, fake_discord: FakeDiscord) -> None:
    _bot, services = bot
    netflix = await feed_id(services, "netflix")
    secret = await add_story(services.sessions, netflix, "Alice secret reading")
    rec = await fake_discord.interact_command("bookmark add", {"story": str(secret)})
    assert "Saved" in await final_text(fake_discord, rec)
    await services.bookmark_service().set_note(fake_discord.tester.id, secret, "private note")

    bob = fake_discord.world.add_user("bob")
    listing = await fake_discord.interact_command("bookmarks", {}, user=bob)
    message = await shown(fake_discord, listing)
    assert "no bookmarks yet" in description(message) and "Alice" not in description(message)
    auto = await fake_discord.interact_autocomplete(
        "bookmark remove", {"story": ""}, focused="story", user=bob
    )
    assert choices(auto) == []
    for command, options in (
        ("bookmark remove", {"story": str(secret)}),
        ("bookmark note", {"story": str(secret), "text": "mine now"}),
        ("bookmark tag", {"story": str(secret), "tags": "stolen"}),
    ):
        rec = await fake_discord.interact_command(command, options, user=bob)
        assert "is not in your bookmarks" in await final_text(fake_discord, rec)
    rec = await fake_discord.interact_command("bookmark export", {"format": "json"}, user=bob)
    await final_text(fake_discord, rec)
    _name, data = file_of(rec)
    assert b"Alice" not in data and b"private note" not in data
    mine = await services.bookmark_service().get(fake_discord.tester.id, secret)
    assert mine.note == "private note" and mine.tags == ()


async def test_cap_duplicates_and_missing_stories(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, clock: Clock
) -> None:
    async with personal_bot(
        fake_discord, sqlite_url, tmp_path, clock=clock, TECHBRIEF_BOOKMARKS__PER_USER_CAP="2"
    ) as (_bot, services):
        netflix = await feed_id(services, "netflix")
        ids = [await add_story(services.sessions, netflix, f"Capped {n}") for n in range(3)]
        for story in ids[:2]:
            rec = await fake_discord.interact_command("bookmark add", {"story": str(story)})
            assert "Saved" in await final_text(fake_discord, rec)
        rec = await fake_discord.interact_command("bookmark add", {"story": str(ids[0])})
        assert "Already in your bookmarks" in await final_text(fake_discord, rec)
        rec = await fake_discord.interact_command("bookmark add", {"story": str(ids[2])})
        assert "limit of 2 bookmarks" in await final_text(fake_discord, rec)
        rec = await fake_discord.interact_command("bookmark add", {"story": "987654321"})
        assert "There is no story 987654321" in await final_text(fake_discord, rec)
        assert len(await titles_of(services, fake_discord.tester.id)) == 2


async def test_bad_filters_get_an_ephemeral_explanation(
    bot: Bot, fake_discord: FakeDiscord
) -> None:
    rec = await fake_discord.interact_command("bookmarks", {"tag": "no way!"})
    assert "has characters tags cannot use" in await reply_content(fake_discord, rec)
    rec = await fake_discord.interact_command("bookmarks", {"query": "x" * 300})
    assert "at most 200 characters" in await reply_content(fake_discord, rec)
    rec = await fake_discord.interact_command(
        "bookmark tag", {"story": "1", "tags": " ".join(f"t{n}" for n in range(11))}
    )
    assert "at most 10 tags" in await reply_content(fake_discord, rec)
