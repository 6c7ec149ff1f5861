"""/search end to end: ephemeral ranked pages, owner-only paging, Bookmark buttons, errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from tests.botharness import Clock
from tests.briefs.helpers import add_story
from tests.e2e_personal.helpers import (
    assert_ephemeral,
    bookmark_ids,
    button,
    buttons,
    choices,
    click,
    description,
    feed_id,
    final_text,
    footer,
    personal_bot,
    shown,
)
from tests.fakediscord import EPHEMERAL, FakeDiscord

Bot = tuple[TechbriefBot, Services]
WEBHOOK_EDIT = "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original"


async def twelve_kubernetes_stories(services: Services) -> list[int]:
    netflix = await feed_id(services, "netflix")
    toss = await feed_id(services, "toss")
    ids = [
        await add_story(
            services.sessions,
            netflix,
            f"Kubernetes cost report {n}",
            summary=f"How we cut kubernetes cost, part {n}.",
        )
        for n in range(11)
    ]
    ids.append(
        await add_story(
            services.sessions,
            toss,
            "Kubernetes at Toss @everyone",
            summary="kubernetes <@123> **not bold**",
        )
    )
    await add_story(services.sessions, netflix, "Unrelated chaos story", summary="chaos")
    return ids


async def test_search_pages_forward_and_back_only_for_the_invoker(
    bot: Bot, fake_discord: FakeDiscord
) -> None:
    _bot, services = bot
    ids = await twelve_kubernetes_stories(services)
    record = await fake_discord.interact_command("search", {"query": "kubernetes"})
    assert_ephemeral(record)
    message = await shown(fake_discord, record)
    assert "Page 1 of 3" in footer(message) and "12 results" in footer(message)
    first = description(message)
    assert "**1. [" in first and "**5. [" in first and "**6. [" not in first
    assert "Unrelated" not in first
    assert button(message, "Previous")["disabled"] is True
    assert button(message, "Next").get("disabled") is not True
    assert button(message, "1/3")["disabled"] is True
    page_one = bookmark_ids(message)
    assert len(page_one) == 5 and set(page_one) <= set(ids)

    stranger = fake_discord.world.add_user("stranger")
    refused = await click(fake_discord, message, "Next", user=stranger)
    assert refused.ephemeral and "Only the person who ran the command" in (refused.content or "")
    assert "Page 1 of 3" in footer(message) and bookmark_ids(message) == page_one

    turned = await click(fake_discord, message, "Next")
    assert turned.type == 6  # acknowledged as an update of the same message, then edited
    assert "Page 2 of 3" in footer(message) and "**6. [" in description(message)
    page_two = bookmark_ids(message)
    assert len(page_two) == 5 and not set(page_two) & set(page_one)
    assert button(message, "Previous").get("disabled") is not True
    await click(fake_discord, message, "Next")
    assert "Page 3 of 3" in footer(message) and len(bookmark_ids(message)) == 2
    assert button(message, "Next")["disabled"] is True
    await click(fake_discord, message, "Previous")
    assert "Page 2 of 3" in footer(message) and bookmark_ids(message) == page_two
    assert message.payload["flags"] & EPHEMERAL
    # Hostile story text stays inert, and no message the bot sent could ping anyone.
    everything = "\n".join(str(m.payload) for m in [message])
    assert "@everyone" not in everything and "<@123>" not in everything
    edits = fake_discord.sent(WEBHOOK_EDIT)
    assert edits and all(e.body.get("allowed_mentions") == {"parse": []} for e in edits)


async def test_bookmark_button_on_a_result(bot: Bot, fake_discord: FakeDiscord) -> None:
    _bot, services = bot
    await twelve_kubernetes_stories(services)
    record = await fake_discord.interact_command("search", {"query": "kubernetes toss"})
    message = await shown(fake_discord, record)
    (story_id,) = bookmark_ids(message)
    saved = await fake_discord.interact_component(f"tb:bm:{story_id}", message)
    text = await final_text(fake_discord, saved)
    assert "Saved" in text and "Kubernetes at Toss" in text
    page = await services.bookmark_service().list(fake_discord.tester.id)
    assert [b.story_id for b in page.items] == [story_id]
    # Anyone's click is answered once, by the persistent handler, for the clicker alone
    # (the paginator's owner check must not answer it a second time).
    stranger = fake_discord.world.add_user("stranger")
    theirs = await fake_discord.interact_component(f"tb:bm:{story_id}", message, user=stranger)
    assert "Saved" in await final_text(fake_discord, theirs)
    await asyncio.sleep(0.2)  # a second answer would arrive now (and the fake would object)
    assert not fake_discord.violations
    page = await services.bookmark_service().list(stranger.id)
    assert [b.story_id for b in page.items] == [story_id]


async def test_buttons_are_disabled_when_the_view_times_out(
    bot: Bot, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cogs.paginator

    monkeypatch.setattr(cogs.paginator, "DEFAULT_TIMEOUT", 0.3)
    _bot, services = bot
    await twelve_kubernetes_stories(services)
    record = await fake_discord.interact_command("search", {"query": "kubernetes"})
    message = await shown(fake_discord, record)
    await fake_discord.wait_until(lambda: button(message, "Next").get("disabled") is True, 5)
    assert button(message, "Previous")["disabled"] is True
    # Bookmark buttons stay usable: their handler is persistent, not part of the view.
    marks = [b for b in buttons(message) if b["custom_id"].startswith("tb:bm:")]
    assert len(marks) == 5 and not any(b.get("disabled") for b in marks)
    saved = await fake_discord.interact_component(marks[0]["custom_id"], message)
    assert "Saved" in await final_text(fake_discord, saved)


async def test_no_results_and_filters(bot: Bot, fake_discord: FakeDiscord) -> None:
    _bot, services = bot
    await twelve_kubernetes_stories(services)
    record = await fake_discord.interact_command(
        "search", {"query": "kubernetes", "source": "toss", "after": "2026-11-01"}
    )
    message = await shown(fake_discord, record)
    assert "1 result" in footer(message) and "source `toss`" in description(message)
    assert len(bookmark_ids(message)) == 1
    record = await fake_discord.interact_command("search", {"query": "serverless"})
    message = await shown(fake_discord, record)
    assert "No stories match" in description(message) and bookmark_ids(message) == []
    assert button(message, "Next")["disabled"] is True


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"query": '"unbalanced'}, "Unbalanced quote"),
        ({"query": "kubernetes", "after": "yesterday"}, "is not a date"),
        ({"query": "colour:red"}, "Unknown operator"),
    ],
)
async def test_bad_input_gets_an_ephemeral_explanation(
    bot: Bot, fake_discord: FakeDiscord, options: dict[str, str], expected: str
) -> None:
    record = await fake_discord.interact_command("search", options)
    assert expected in await final_text(fake_discord, record)


async def test_per_user_cooldown(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, clock: Clock
) -> None:
    async with personal_bot(
        fake_discord, sqlite_url, tmp_path, clock=clock, TECHBRIEF_SEARCH__COOLDOWN_SECONDS="30"
    ):
        first = await fake_discord.interact_command("search", {"query": "anything"})
        await shown(fake_discord, first)
        second = await fake_discord.interact_command("search", {"query": "anything"})
        text = await final_text(fake_discord, second)
        assert "Try again in" in text
        other = fake_discord.world.add_user("other")
        third = await fake_discord.interact_command("search", {"query": "anything"}, user=other)
        await shown(fake_discord, third)  # the cooldown is per user


async def test_source_autocomplete(bot: Bot, fake_discord: FakeDiscord) -> None:
    record = await fake_discord.interact_autocomplete(
        "search", {"query": "x", "source": "net"}, focused="source"
    )
    assert choices(record) == [("netflix — Netflix TechBlog", "netflix")]
    record = await fake_discord.interact_autocomplete(
        "search", {"query": "x", "source": ""}, focused="source"
    )
    assert [value for _name, value in choices(record)] == ["netflix", "toss"]


async def test_help_lists_the_personal_commands(bot: Bot, fake_discord: FakeDiscord) -> None:
    record = await fake_discord.interact_command("help", {})
    text = await final_text(fake_discord, record)
    for name in ("/search", "/bookmarks", "/bookmark add", "/bookmark export", "Bookmark story"):
        assert name in text, name
