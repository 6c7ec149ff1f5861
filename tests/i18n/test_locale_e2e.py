"""Korean and Japanese end to end: real discord.py against the fake Discord, real cogs and SQL.

A reader is answered in their client's language (interaction.locale); a channel's brief is
written in its guild's language (preferred_locale, recorded from GUILD_CREATE).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from bot.storage.models import Feed, Guild
from tests.botharness import Clock, answer_text, eventually, running_bot
from tests.briefs.helpers import add_story
from tests.fakediscord import FakeDiscord
from tests.fakediscord import permissions as P
from tests.fakediscord.forums import add_forum

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

MESSAGES = "POST /channels/{channel_id}/messages"


@pytest.fixture
async def ja_guild_bot(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[tuple[TechbriefBot, Services]]:
    # The guild's language as Discord reports it in GUILD_CREATE.
    fake_discord.guild.preferred_locale = "ja"
    async with running_bot(fake_discord, sqlite_url, tmp_path, clock=clock, migrate=True) as pair:
        yield pair


def _embed(record_text: str) -> dict:
    for line in record_text.splitlines():
        data = json.loads(line)
        for holder in (data, data.get("data") or {}):
            if holder.get("embeds"):
                return holder["embeds"][0]
    raise AssertionError(f"no embed in {record_text}")


async def test_help_in_korean_for_a_korean_reader_and_english_for_others(
    ja_guild_bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord
) -> None:
    korean = await fake_discord.interact_command("help", locale="ko")
    assert korean.ephemeral
    embed = _embed(await answer_text(fake_discord, korean))
    assert embed["title"] == "techbrief 도움말"
    # Commands named as the reader's client shows them.
    assert "`/검색` — 저장된 글 검색(나만 볼 수 있어요)" in embed["description"]
    assert "`/브리핑 설정` — " in embed["description"]
    assert "/search" not in embed["description"]
    assert "`앱 > 글 북마크하기` — 메시지 메뉴" in embed["description"]
    assert embed["footer"]["text"] == "관리자 명령어는 서버 관리 권한이 필요해요."
    # The guild is Japanese, but a reply follows the reader: en-US gets English.
    english = await fake_discord.interact_command("help", locale="en-US")
    embed = _embed(await answer_text(fake_discord, english))
    assert embed["title"] == "techbrief help"
    assert "`/search` — Search the story archive (only you see it)" in embed["description"]
    japanese = await fake_discord.interact_command("help", locale="ja")
    embed = _embed(await answer_text(fake_discord, japanese))
    assert embed["title"] == "techbrief ヘルプ"
    assert "`/ダイジェスト 設定` — " in embed["description"]


async def test_errors_and_confirmations_follow_the_reader(
    ja_guild_bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord
) -> None:
    channel = fake_discord.channel
    # A service error (NotFoundError with a template), in Japanese.
    rec = await fake_discord.interact_command(
        "brief now", {}, member_permissions=P.MANAGE_GUILD, locale="ja"
    )
    text = await answer_text(fake_discord, rec)
    assert "そのチャンネルにはダイジェストが設定されていません" in text
    # discord.py's own check (Manage Server), in Korean, with Discord's Korean name for it.
    rec = await fake_discord.interact_command("brief status", {}, member_permissions=0, locale="ko")
    assert "이 명령어를 쓰려면 **서버 관리하기** 권한이 필요해요." in await answer_text(
        fake_discord, rec
    )
    # A confirmation with a schedule, in Korean; an English admin still reads English.
    args = {"channel": str(channel.id), "time": "09:00", "timezone": "Asia/Seoul"}
    rec = await fake_discord.interact_command(
        "brief setup", args, member_permissions=P.MANAGE_GUILD, locale="ko"
    )
    text = await answer_text(fake_discord, rec)
    assert f"<#{channel.id}> 설정 완료: 매일 09:00(Asia/Seoul)." in text
    rec = await fake_discord.interact_command(
        "brief setup",
        {**args, "every": "weekly", "day": "friday"},
        member_permissions=P.MANAGE_GUILD,
    )
    assert f"Updated <#{channel.id}>: every Friday at 09:00 (Asia/Seoul)." in await answer_text(
        fake_discord, rec
    )
    # Admin pages: /brief status shows the weekly schedule, /feed list and status, in Korean.
    rec = await fake_discord.interact_command(
        "brief status", {}, member_permissions=P.MANAGE_GUILD, locale="ko"
    )
    status = _embed(await answer_text(fake_discord, rec))
    assert status["title"] == "techbrief 상태"
    assert "**모드:** 매주 금요일 브리핑" in status["fields"][0]["value"]
    assert "**출처:** 카탈로그의 모든 출처" in status["fields"][0]["value"]
    rec = await fake_discord.interact_command(
        "feed list", {}, member_permissions=P.MANAGE_GUILD, locale="ja"
    )
    feeds = _embed(await answer_text(fake_discord, rec))
    assert feeds["title"] == "このサーバーのフィード（0）"
    rec = await fake_discord.interact_command(
        "feed status", {}, member_permissions=P.MANAGE_GUILD, locale="ja"
    )
    assert _embed(await answer_text(fake_discord, rec))["title"] == "フィードの状態"
    # A search query error and an empty bookmark list, in Korean.
    rec = await fake_discord.interact_command("search", {"query": '"open'}, locale="ko")
    assert "따옴표 짝이 맞지 않아요" in await answer_text(fake_discord, rec)
    rec = await fake_discord.interact_command("bookmarks", {}, locale="ko")
    text = await answer_text(fake_discord, rec)
    assert "아직 북마크가 없어요" in text and '"label": "다음"' in text


async def test_a_japanese_guilds_brief_is_in_japanese(
    ja_guild_bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord, clock: Clock
) -> None:
    _bot, services = ja_guild_bot
    guild = fake_discord.guild

    async def recorded() -> bool:
        async with services.sessions() as s:
            row = await s.get(Guild, guild.id)
            return row is not None and row.locale == "ja"

    # Recorded from GUILD_CREATE: a sender without the gateway reads it from the database.
    assert await eventually(recorded)
    channel = fake_discord.channel
    args = {"channel": str(channel.id), "time": "09:00", "timezone": "Asia/Tokyo"}
    rec = await fake_discord.interact_command(
        "brief setup", args, member_permissions=P.MANAGE_GUILD
    )
    assert "every day at 09:00 (Asia/Tokyo)" in await answer_text(fake_discord, rec)
    async with services.sessions() as s:
        netflix = (await s.execute(select(Feed.id).where(Feed.key == "netflix"))).scalar_one()
    await add_story(services.sessions, netflix, "Chaos engineering, revisited")
    assert (await services.brief_service().plan_now(channel.id)).planned
    await services.publisher.run_once()  # type: ignore[union-attr]
    header = fake_discord.sent(MESSAGES, channel_id=channel.id)[0]
    # The clock: 2026-11-22 07:00 UTC, a Sunday in Tokyo. The date comes from Babel (CLDR).
    assert header.embeds[0]["title"] == (
        "Tech Brief · 2026年11月22日(日) · 新着記事 1件 · ソース 1件"
    )
    assert header.embeds[0]["footer"]["text"] == (
        "ボタンで記事をブックマーク · /検索 で過去の記事を検索"
    )
    threads = [r for r in fake_discord.requests if r.route and r.route.endswith("/threads")]
    assert threads and threads[0].body["name"] == "Tech Brief 2026年11月22日(日)"
    assert not fake_discord.violations

    # The admins switch the server to Korean (GUILD_UPDATE): the next brief is Korean.
    guild.preferred_locale = "ko"
    await fake_discord.dispatch("GUILD_UPDATE", guild.rest_payload(), guild_id=guild.id)

    async def korean() -> bool:
        async with services.sessions() as s:
            row = await s.get(Guild, guild.id)
            return row is not None and row.locale == "ko"

    assert await eventually(korean)
    await add_story(services.sessions, netflix, "Data mesh, two years on")
    assert (await services.brief_service().plan_now(channel.id)).planned
    await services.publisher.run_once()  # type: ignore[union-attr]
    latest = fake_discord.sent(MESSAGES, channel_id=channel.id)[-1]
    assert latest.embeds[0]["title"] == "Tech Brief · 2026년 11월 22일 (일) · 새 글 1개 · 출처 1곳"


async def test_role_pings_and_forum_briefs_in_the_readers_and_the_servers_language(
    ja_guild_bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord
) -> None:
    """/brief setup's ping refusals and lines and /brief unping answer the admin in their
    language; the forum post a brief becomes is titled in the server's."""
    _bot, services = ja_guild_bot
    fake = fake_discord

    async def admin(name: str, options: dict[str, str], locale: str) -> str:
        rec = await fake.interact_command(
            name, options, member_permissions=P.MANAGE_GUILD, locale=locale
        )
        assert rec.ephemeral
        return await answer_text(fake, rec)

    quiet = fake.guild.add_role("quiet", 0)
    readers = fake.guild.add_role("readers", 0)
    readers.mentionable = True
    forum = add_forum(fake.guild, "tech-forum", ("Tech Brief",))
    await fake.dispatch("CHANNEL_CREATE", forum.payload(), guild_id=fake.guild.id)
    args = {"channel": str(forum.id), "time": "09:00", "timezone": "Asia/Tokyo"}
    refused = await admin("brief setup", {**args, "ping": str(quiet.id)}, "ko")
    assert f"<@&{quiet.id}> 역할을 멘션할 수 없어요." in refused
    assert "**@everyone, @here, 모든 역할 멘션하기**" in refused and "아무것도 바뀌지" in refused
    everyone = await admin("brief setup", {**args, "ping": str(fake.guild.id)}, "ja")
    assert "`@everyone` はメンション先のロールにできません" in everyone
    done = await admin("brief setup", {**args, "ping": str(readers.id)}, "ko")
    assert f"브리핑마다 <@&{readers.id}> 역할을 멘션해요(`/브리핑 멘션해제`로 중지)." in done
    assert "브리핑마다 포럼에 새 게시물이 올라가고" in done
    status = _embed(await admin("brief status", {}, "ja"))
    field = status["fields"][0]["value"]
    assert f"**メンション:** <@&{readers.id}>" in field
    assert "**投稿:** ダイジェストごとに新しいフォーラム投稿" in field
    # The post is titled in the server's language (Japanese), whoever set it up.
    async with services.sessions() as s:
        netflix = (await s.execute(select(Feed.id).where(Feed.key == "netflix"))).scalar_one()
    await add_story(services.sessions, netflix, "Chaos engineering, revisited")
    assert (await services.brief_service().plan_now(forum.id)).planned
    await services.publisher.run_once()  # type: ignore[union-attr]
    (post,) = fake.sent("POST /channels/{channel_id}/threads", channel_id=forum.id)
    assert post.body["name"] == "Tech Brief · 2026年11月22日(日)"
    unping = await admin("brief unping", {"channel": str(forum.id)}, "ja")
    assert f"<#{forum.id}> のダイジェストは今後 <@&{readers.id}> にメンションしません。" in unping
    again = await admin("brief unping", {"channel": str(forum.id)}, "ko")
    assert f"<#{forum.id}>의 브리핑은 이미 아무도 멘션하지 않아요." in again
    assert not fake.violations


async def test_subscribe_and_unsubscribe_answer_in_the_readers_language(
    ja_guild_bot: tuple[TechbriefBot, Services], fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    channel = f"<#{fake.channel.id}>"

    async def admin(name: str, locale: str) -> str:
        options = {"source": "netflix", "channel": str(fake.channel.id)}
        rec = await fake.interact_command(
            name, options, member_permissions=P.MANAGE_GUILD, locale=locale
        )
        return await answer_text(fake, rec)

    args = {"channel": str(fake.channel.id), "time": "09:00", "timezone": "Asia/Tokyo"}
    rec = await fake.interact_command("brief setup", args, member_permissions=P.MANAGE_GUILD)
    await answer_text(fake, rec)
    assert f"{channel} には今後 **" in await admin("unsubscribe", "ja")
    assert f"{channel}에는 **" in await admin("unsubscribe", "ko")
    assert "** 글이 올라가지 않아요." in await admin("unsubscribe", "ko")
    assert f"이제 {channel}에 **" in await admin("subscribe", "ko")
    assert f"{channel} にはすでに **" in await admin("subscribe", "ja")
    assert f"{channel} already gets **" in await admin("subscribe", "en-US")
