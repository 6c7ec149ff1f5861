"""Sharing end to end through real discord.py against the fake Discord: /share with its story
autocomplete, the "Share story" menu with its form, permission refusals, inert comments, the
cooldown and the once-a-day answer. Everything the sharer is told is ephemeral; the shared
message is the brief's own card with the sharer's line, and pings nobody."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from bot.storage.models import Share
from tests.botharness import Clock
from tests.briefs.helpers import add_story
from tests.e2e_personal.helpers import (
    assert_ephemeral,
    bookmark_ids,
    buttons,
    choices,
    feed_id,
    final_text,
    personal_bot,
    reply_content,
)
from tests.fakediscord import FakeDiscord, Overwrite, StoredMessage
from tests.fakediscord import permissions as P
from tests.fakediscord.state import Channel

Bot = tuple[TechbriefBot, Services]
MESSAGES = "POST /channels/{channel_id}/messages"
ZWSP = "\u200b"


@pytest.fixture
async def bot(fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, clock: Clock) -> Any:
    async with personal_bot(
        fake_discord, sqlite_url, tmp_path, clock=clock, TECHBRIEF_SHARE__COOLDOWN_SECONDS="0"
    ) as pair:
        yield pair


async def brief_with(
    fake: FakeDiscord, services: Services, clock: Clock, titles: list[str]
) -> tuple[StoredMessage, list[int]]:
    """#general gets a brief of ``titles``; (the thread's story message, the story ids)."""
    general = fake.channel
    record = await fake.interact_command(
        "brief setup",
        {"channel": str(general.id), "time": "09:00", "timezone": "Europe/Berlin"},
        member_permissions=P.MANAGE_GUILD,
    )
    assert "every day at 09:00" in await final_text(fake, record)
    netflix = await feed_id(services, "netflix")
    # Late on the 20th in UTC is the 21st in Berlin: a card shows which zone dated it.
    late = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    ids = [await add_story(services.sessions, netflix, t, published=late) for t in titles]
    clock.advance(hours=1)
    await services.deliver_tick()
    batch = next(
        m
        for m in fake.world.messages.values()
        if m.channel_id != general.id and m.payload.get("components")
    )
    assert sorted(bookmark_ids(batch)) == sorted(ids)
    return batch, ids


async def add_channel(fake: FakeDiscord, name: str, overwrites: list[Overwrite]) -> Channel:
    """A channel created while the bot runs (CHANNEL_CREATE reaches its cache)."""
    channel = fake.guild.add_channel(name, overwrites=overwrites)
    await fake.dispatch("CHANNEL_CREATE", channel.payload(), guild_id=fake.guild.id)
    await fake.wait_until(lambda: True, 0.1)
    return channel


def posted_in(fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    """The bodies the bot posted into the channel (not interaction answers)."""
    return [
        r.body
        for r in fake.sent(MESSAGES, channel_id=channel_id)
        if r.status == 200 and isinstance(r.body, dict)
    ]


async def stored_shares(services: Services) -> list[Share]:
    async with services.sessions() as s:
        return list((await s.scalars(select(Share).order_by(Share.id))).all())


def card_of(batch: StoredMessage, story_id: int) -> dict[str, Any]:
    index = bookmark_ids(batch).index(story_id)
    return dict(batch.payload["embeds"][index])


async def test_share_from_the_slash_command(
    bot: Bot, fake_discord: FakeDiscord, clock: Clock
) -> None:
    fake = fake_discord
    _bot, services = bot
    batch, (mesh, chaos) = await brief_with(
        fake, services, clock, ["Data mesh at Netflix", "Chaos engineering"]
    )
    # The story option completes like /bookmark add's.
    suggested = await fake.interact_autocomplete("share", {"story": "chaos"}, "story")
    assert choices(suggested)[0][1] == str(chaos)
    assert "Chaos engineering" in choices(suggested)[0][0]

    general = fake.channel
    record = await fake.interact_command(
        "share", {"story": str(chaos), "comment": "Great read on failure drills"}
    )
    answer = await reply_content(fake, record)
    assert_ephemeral(record)
    (body,) = posted_in(fake, general.id)[-1:]
    (row,) = await stored_shares(services)
    link = f"https://discord.com/channels/{fake.guild.id}/{general.id}/{row.message_id}"
    assert answer == f"Shared **Chaos engineering** in <#{general.id}>: {link}"
    assert (row.user_id, row.story_id, row.guild_id, row.channel_id) == (
        fake.tester.id,
        chaos,
        fake.guild.id,
        general.id,
    )
    assert body["content"] == "Shared by tester: Great read on failure drills"
    assert body["allowed_mentions"] == {"parse": []}
    # The card exactly as the brief showed it, with its Bookmark button.
    assert body["embeds"] == [card_of(batch, chaos)]
    (bookmark,) = buttons(body)
    assert bookmark["custom_id"] == f"tb:bm:{chaos}" and bookmark["label"] == "Bookmark"
    shared = fake.world.messages[int(row.message_id or 0)]
    clicked = await fake.interact_component(bookmark["custom_id"], shared)
    assert "Saved" in await final_text(fake, clicked)

    # Into another channel, named by the option.
    elsewhere = await add_channel(fake, "reading", [])
    clock.advance(seconds=1)
    record = await fake.interact_command(
        "share", {"story": str(mesh), "comment": "For the data folks", "channel": str(elsewhere.id)}
    )
    assert f"in <#{elsewhere.id}>" in await reply_content(fake, record)
    (body,) = posted_in(fake, elsewhere.id)
    assert body["content"] == "Shared by tester: For the data folks"
    # A channel without a brief dates the card in UTC; the rest is the brief's card.
    (embed,) = body["embeds"]
    assert embed["footer"]["text"] == "Fri 20 Nov 2026"
    assert card_of(batch, mesh)["footer"]["text"] == "Sat 21 Nov 2026"
    assert {**embed, "footer": None} == {**card_of(batch, mesh), "footer": None}

    # Registered within Discord's rules, and listed by /help.
    share = fake.world.commands[None]["share"]
    comment = next(o for o in share["options"] if o["name"] == "comment")
    assert comment["max_length"] == 500 and comment["required"] is True
    menu = fake.world.commands[None]["Share story"]
    assert menu["type"] == 3 and menu["contexts"] == [0]  # message menu, servers only
    assert share["contexts"] == [0]
    helped = await fake.interact_command("help")
    text = str(helped.embeds)
    assert "/share" in text and "Share story" in text


async def test_share_from_the_context_menu_with_a_form(
    bot: Bot, fake_discord: FakeDiscord, clock: Clock
) -> None:
    fake = fake_discord
    _bot, services = bot
    batch, ids = await brief_with(fake, services, clock, ["First", "Second", "Third"])
    found = fake.world.find_channel(batch.channel_id)
    assert found is not None
    thread = found[1]
    # Several stories: which one? Then the form; the share goes where the menu was used.
    record = await fake.interact_message_command("Share story", batch, channel=thread)
    assert_ephemeral(record)
    (select_menu,) = buttons(record.data)
    assert [o["value"] for o in select_menu["options"]] == [str(i) for i in bookmark_ids(batch)]
    menu = record.original
    assert menu is not None
    picked = await fake.interact_component(
        select_menu["custom_id"], menu, component_type=3, values=[str(ids[1])]
    )
    form = picked.modal
    assert form is not None and form["title"] == "Share story"
    (field,) = [c["component"] for c in form["components"]]
    assert field["max_length"] == 500 and form["components"][0]["description"] == "Second"
    with pytest.raises(ValueError):  # Discord's form refuses more than max_length
        await fake.interact_modal_submit(picked, {"comment": "x" * 501})
    submitted = await fake.interact_modal_submit(picked, {"comment": "Read the second one"})
    answer = await reply_content(fake, submitted)
    assert_ephemeral(submitted)
    (body,) = posted_in(fake, thread.id)[-1:]
    assert body["content"] == "Shared by tester: Read the second one"
    assert body["embeds"] == [card_of(batch, ids[1])]
    (row,) = await stored_shares(services)
    assert (row.story_id, row.channel_id) == (ids[1], thread.id)
    assert answer.endswith(f"/{thread.id}/{row.message_id}")

    # One story (a realtime post in #general): straight to the form.
    single = dict(
        batch.payload,
        channel_id=str(fake.channel.id),
        components=[
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 2, "label": "Bookmark", "custom_id": f"tb:bm:{ids[2]}"}
                ],
            }
        ],
        embeds=batch.payload["embeds"][2:3],
    )
    opened = await fake.interact_message_command("Share story", single)
    assert opened.modal is not None
    done = await fake.interact_modal_submit(opened, {"comment": "Third!"})
    assert f"in <#{fake.channel.id}>" in await reply_content(fake, done)
    assert posted_in(fake, fake.channel.id)[-1]["content"] == "Shared by tester: Third!"

    # Not a story: the header or somebody else's message.
    for target in (fake.messages(fake.channel.id)[0], "look @everyone"):
        refused = await fake.interact_message_command("Share story", target)
        assert "holds no story to share" in await final_text(fake, refused)


async def test_refused_where_the_sharer_or_the_bot_cannot_post(
    bot: Bot, fake_discord: FakeDiscord, clock: Clock
) -> None:
    fake = fake_discord
    _bot, services = bot
    story = await add_story(services.sessions, await feed_id(services, "netflix"), "Quiet")
    tester = fake.tester.id
    read_only = await add_channel(
        fake, "announcements", [Overwrite.member(tester, deny=P.SEND_MESSAGES)]
    )
    hidden = await add_channel(fake, "staff", [Overwrite.role(fake.guild.id, deny=P.VIEW_CHANNEL)])
    no_embeds = await add_channel(
        fake, "plain", [Overwrite.member(fake.world.bot.id, deny=P.EMBED_LINKS)]
    )
    cases = [
        (read_only, "You cannot share in", "**Send Messages** permission"),
        (hidden, "You cannot share in", "**View Channel, Send Messages** permissions"),
        (no_embeds, "I cannot post in", "**Embed Links** permission"),
    ]
    for channel, who, what in cases:
        record = await fake.interact_command(
            "share", {"story": str(story), "comment": "hi", "channel": str(channel.id)}
        )
        text = await reply_content(fake, record)
        assert_ephemeral(record)
        assert who in text and what in text and f"<#{channel.id}>" in text, text
        assert posted_in(fake, channel.id) == []
    assert await stored_shares(services) == []
    # The menu in a channel the sharer cannot post in answers before any form opens.
    target = {
        "id": "1",
        "channel_id": str(read_only.id),
        "author": fake.world.bot.payload(),
        "content": "",
        "embeds": [{"title": "Quiet"}],
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 2, "label": "Bookmark", "custom_id": f"tb:bm:{story}"}
                ],
            }
        ],
        "timestamp": "2026-11-22T07:00:00+00:00",
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "pinned": False,
        "tts": False,
        "mention_everyone": False,
        "type": 0,
        "flags": 0,
        "edited_timestamp": None,
    }
    record = await fake.interact_message_command("Share story", target, channel=read_only)
    assert record.modal is None
    assert "You cannot share in" in await final_text(fake, record)


async def test_a_hostile_comment_and_name_post_inertly(
    bot: Bot, fake_discord: FakeDiscord, clock: Clock
) -> None:
    fake = fake_discord
    _bot, services = bot
    story = await add_story(services.sessions, await feed_id(services, "netflix"), "Loud")
    sharer = fake.world.add_user("@here **boss**")
    comment = "@everyone <@123> <@&456> **x** [link](http://x) # big\n> quote"
    record = await fake.interact_command(
        "share", {"story": str(story), "comment": comment}, user=sharer
    )
    assert "Shared **Loud**" in await reply_content(fake, record)
    (body,) = posted_in(fake, fake.channel.id)
    assert body["content"] == (
        f"Shared by @{ZWSP}here \\*\\*boss\\*\\*: @{ZWSP}everyone \\<@{ZWSP}123\\> "
        f"\\<@&{ZWSP}456\\> \\*\\*x\\*\\* \\[link\\]\\(http\\://x\\) \\# big\n\\> quote"
    )
    assert body["allowed_mentions"] == {"parse": []}
    stored = fake.messages(fake.channel.id)[-1].payload
    assert stored["mention_everyone"] is False and stored["mentions"] == []
    # Longer than 500 characters (Discord's client enforces the option's max_length, a
    # forged interaction does not): refused, nothing posted.
    clock.advance(seconds=1)
    other = await add_story(services.sessions, await feed_id(services, "netflix"), "Other")
    long = await fake.interact_command("share", {"story": str(other), "comment": "y" * 501})
    # Checked by the service: discord.py does not re-check a string option's length.
    assert await reply_content(fake, long) == (
        "A comment can have at most 500 characters; yours has 501. Shorten it and try again."
    )
    assert len(posted_in(fake, fake.channel.id)) == 1


async def test_cooldown_per_user(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, clock: Clock
) -> None:
    fake = fake_discord
    async with personal_bot(
        fake, sqlite_url, tmp_path, clock=clock, TECHBRIEF_SHARE__COOLDOWN_SECONDS="30"
    ) as (_bot, services):
        netflix = await feed_id(services, "netflix")
        a, b = [await add_story(services.sessions, netflix, t) for t in ("A", "B")]
        first = await fake.interact_command("share", {"story": str(a), "comment": "one"})
        assert "Shared **A**" in await reply_content(fake, first)
        clock.advance(seconds=10)
        again = await fake.interact_command("share", {"story": str(b), "comment": "two"})
        assert "Try again in 20 seconds" in await reply_content(fake, again)
        (row,) = await stored_shares(services)
        shared = fake.world.messages[int(row.message_id or 0)]
        menu = await fake.interact_message_command("Share story", shared)
        assert menu.modal is None  # told to wait before writing anything
        assert "Try again in 20 seconds" in await final_text(fake, menu)
        other = fake.world.add_user("someone-else")
        theirs = await fake.interact_command(
            "share", {"story": str(b), "comment": "mine"}, user=other
        )
        assert "Shared **B**" in await reply_content(fake, theirs)
        clock.advance(seconds=21)
        later = await fake.interact_command(
            "share", {"story": str(a), "comment": "three", "channel": str(fake.channel.id)}
        )
        # A was shared here by this user already: the cooldown is over, the day is not.
        assert "already shared in" in await reply_content(fake, later)
        assert len(posted_in(fake, fake.channel.id)) == 2


async def test_the_same_story_twice_in_a_day_links_the_first(
    bot: Bot, fake_discord: FakeDiscord, clock: Clock
) -> None:
    fake = fake_discord
    _bot, services = bot
    story = await add_story(services.sessions, await feed_id(services, "netflix"), "Twice")
    first = await fake.interact_command("share", {"story": str(story), "comment": "one"})
    await reply_content(fake, first)
    (row,) = await stored_shares(services)
    link = f"https://discord.com/channels/{fake.guild.id}/{fake.channel.id}/{row.message_id}"
    clock.advance(hours=5)
    other = fake.world.add_user("second-sharer")
    again = await fake.interact_command(
        "share", {"story": str(story), "comment": "two"}, user=other
    )
    text = await reply_content(fake, again)
    assert_ephemeral(again)
    assert text == f"This story was already shared in <#{fake.channel.id}> today: {link}"
    assert len(posted_in(fake, fake.channel.id)) == 1
    clock.advance(hours=19, minutes=1)
    later = await fake.interact_command("share", {"story": str(story), "comment": "three"})
    assert "Shared **Twice**" in await reply_content(fake, later)
    assert len(posted_in(fake, fake.channel.id)) == 2


async def test_a_channel_discord_refuses_shares_nothing(
    bot: Bot, fake_discord: FakeDiscord, clock: Clock
) -> None:
    fake = fake_discord
    _bot, services = bot
    story = await add_story(services.sessions, await feed_id(services, "netflix"), "Gone")
    fake.faults.forbid_channel(fake.channel.id)
    record = await fake.interact_command("share", {"story": str(story), "comment": "hi"})
    assert "I could not post in" in await reply_content(fake, record)
    assert await stored_shares(services) == []  # refused: no cooldown, no "already shared"
