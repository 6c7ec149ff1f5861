"""Sharing in Korean and Japanese, end to end through real discord.py against the fake Discord:
the sharer is answered in their client's language (interaction.locale), the shared post is
written in the server's (preferred_locale), like a brief. Here a Korean reader shares into a
Japanese server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from tests.botharness import Clock
from tests.briefs.helpers import add_story
from tests.e2e_personal.helpers import (
    assert_ephemeral,
    buttons,
    feed_id,
    final_text,
    personal_bot,
    reply_content,
)
from tests.fakediscord import FakeDiscord, Overwrite
from tests.fakediscord import permissions as P
from tests.share.test_share_e2e import add_channel, brief_with, card_of, posted_in, stored_shares

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

Bot = tuple[TechbriefBot, Services]


@pytest.fixture
async def ja_guild(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[Bot]:
    fake_discord.guild.preferred_locale = "ja"  # as GUILD_CREATE and interactions report it
    async with personal_bot(
        fake_discord, sqlite_url, tmp_path, clock=clock, TECHBRIEF_SHARE__COOLDOWN_SECONDS="30"
    ) as pair:
        yield pair


async def test_a_korean_reader_shares_into_a_japanese_server(
    ja_guild: Bot, fake_discord: FakeDiscord, clock: Clock
) -> None:
    fake = fake_discord
    _bot, services = ja_guild
    netflix = await feed_id(services, "netflix")
    story, other = [await add_story(services.sessions, netflix, t) for t in ("Chaos", "Mesh")]
    read_only = await add_channel(
        fake, "announcements", [Overwrite.member(fake.tester.id, deny=P.SEND_MESSAGES)]
    )
    # Refused in Korean, the missing permission named as Discord's Korean client names it.
    refused = await fake.interact_command(
        "share",
        {"story": str(story), "comment": "추천", "channel": str(read_only.id)},
        locale="ko",
    )
    assert_ephemeral(refused)
    assert await reply_content(fake, refused) == (
        f"<#{read_only.id}>에서 공유할 수 없어요. 그 채널에서 **메시지 보내기** 권한이 필요해요."
    )
    # Shared: the answer in Korean, the post (line and card) in the server's Japanese.
    shared = await fake.interact_command(
        "share", {"story": str(story), "comment": "장애 훈련 글"}, locale="ko"
    )
    answer = await reply_content(fake, shared)
    (row,) = await stored_shares(services)
    link = f"https://discord.com/channels/{fake.guild.id}/{fake.channel.id}/{row.message_id}"
    assert answer == f"<#{fake.channel.id}>에 **Chaos** 글을 공유했어요: {link}"
    (body,) = posted_in(fake, fake.channel.id)
    assert body["content"] == "tester さんがシェア: 장애 훈련 글"
    assert body["allowed_mentions"] == {"parse": []}
    (bookmark,) = buttons(body)
    assert bookmark["label"] == "ブックマーク"
    assert "年" in body["embeds"][0]["footer"]["text"]  # the card's date, CLDR Japanese
    # The cooldown and the once-a-day answer (service errors) in the sharer's language.
    clock.advance(seconds=10)
    wait = await fake.interact_command("share", {"story": str(other), "comment": "또"}, locale="ko")
    assert await reply_content(fake, wait) == "방금 글을 공유했어요. 20초 뒤에 다시 시도해 주세요."
    clock.advance(seconds=30)
    twice = await fake.interact_command(
        "share", {"story": str(story), "comment": "다시"}, locale="ja"
    )
    assert await reply_content(fake, twice) == (
        f"この記事は今日すでに <#{fake.channel.id}> にシェアされています: {link}"
    )
    # An English reader in the same server: English answers, the post still Japanese.
    english = await fake.interact_command("share", {"story": str(other), "comment": "Mesh!"})
    assert "Shared **Mesh**" in await reply_content(fake, english)
    assert posted_in(fake, fake.channel.id)[-1]["content"] == "tester さんがシェア: Mesh!"


async def test_the_menu_picker_and_form_follow_the_reader(
    ja_guild: Bot, fake_discord: FakeDiscord, clock: Clock
) -> None:
    fake = fake_discord
    _bot, services = ja_guild
    batch, ids = await brief_with(fake, services, clock, ["First", "Second"])
    found = fake.world.find_channel(batch.channel_id)
    assert found is not None
    thread = found[1]
    record = await fake.interact_message_command("Share story", batch, channel=thread, locale="ko")
    assert "어떤 글을 공유할까요?" in await final_text(fake, record)
    (select_menu,) = buttons(record.data)
    assert select_menu["placeholder"] == "공유할 글을 고르세요"
    assert record.original is not None
    picked = await fake.interact_component(
        select_menu["custom_id"],
        record.original,
        component_type=3,
        values=[str(ids[0])],
        locale="ko",
    )
    form = picked.modal
    assert form is not None and form["title"] == "글 공유하기"
    (label,) = form["components"]
    assert label["label"] == "코멘트" and label["description"] == "First"
    assert label["component"]["placeholder"] == "왜 읽어 볼 만한가요?"
    submitted = await fake.interact_modal_submit(picked, {"comment": "첫 번째"})
    assert "**First** 글을 공유했어요" in await reply_content(fake, submitted)
    (body,) = posted_in(fake, thread.id)[-1:]
    assert body["content"] == "tester さんがシェア: 첫 번째"
    # The card exactly as the (Japanese) brief showed it.
    assert body["embeds"] == [card_of(batch, ids[0])]
    # The cooldown is told before any form opens, in the reader's language too.
    again = await fake.interact_message_command("Share story", batch, channel=thread, locale="ko")
    assert again.modal is None
    assert '"방금 글을 공유했어요. 30초 뒤에 다시 시도해 주세요."' in await final_text(fake, again)
    # Nothing to share in a message without stories: said in the reader's language.
    header = fake.messages(fake.channel.id)[0]
    refused = await fake.interact_message_command("Share story", header, locale="ja")
    assert "シェアできる記事がありません" in await final_text(fake, refused)
