"""Briefs are written in the guild's language, read from the database (the sender may have
no gateway to ask), on SQLite and PostgreSQL; English guilds read exactly as before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.briefs import StoryView, render
from bot.core.briefs.planning import BriefService
from bot.core.i18n import Localizer
from bot.core.summarize import Section, Summary, digest_formatter
from bot.storage.deliveries_repo import DeliveriesRepository
from bot.storage.subscriptions_repo import SubscriptionsRepository
from tests.briefs.helpers import GUILD, Clock, add_feed, add_story, setup_channel


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 4, 0, 30, tzinfo=UTC))  # Friday 09:30 in Seoul


def service_for(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> BriefService:
    # What a sender process builds: repositories and a clock, no Discord anywhere.
    return BriefService(
        SubscriptionsRepository(sessions),
        DeliveriesRepository(sessions),
        clock=clock,
        per_source_cap=1,
    )


async def planned_header(service: BriefService, channel: int) -> tuple[dict, str]:
    result = await service.plan_now(channel)
    assert result.planned
    rows = await service.outbox.deliveries_for(channel)
    payload = next(r.payload for r in rows if r.kind == "brief")
    return payload["header"]["embeds"][0], payload["thread_name"]


@pytest.mark.parametrize(
    ("locale", "title", "more", "thread"),
    [
        (
            "ko",
            "Tech Brief · 2026년 12월 4일 (금) · 새 글 3개 · 출처 2곳",
            "…외 1개 더: `/검색 검색어:source:toss`",
            "Tech Brief 2026년 12월 4일 (금)",
        ),
        (
            "ja",
            "Tech Brief · 2026年12月4日(金) · 新着記事 3件 · ソース 2件",
            "…ほか1件: `/検索 検索語:source:toss`",
            "Tech Brief 2026年12月4日(金)",
        ),
        (
            "en-US",
            "Tech Brief · Fri 04 Dec 2026 · 3 new stories from 2 sources",
            "…and 1 more: `/search query:source:toss`",
            "Tech Brief Fri 04 Dec 2026",
        ),
        (None, "Tech Brief · Fri 04 Dec 2026 · 3 new stories from 2 sources", "…and 1 more", ""),
    ],
)
async def test_brief_header_in_the_guilds_language(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    locale: str | None,
    title: str,
    more: str,
    thread: str,
) -> None:
    service = service_for(sessions, clock)
    toss = await add_feed(sessions, "toss")
    kakao = await add_feed(sessions, "kakao")
    await setup_channel(service, 2000, timezone="Asia/Seoul")
    # Recorded by the gateway at GUILD_CREATE; None: a guild not seen since the upgrade.
    await service.subs.upsert_guild(GUILD, "Guild", None, clock(), locale)
    await add_story(sessions, toss, "토스의 결제 시스템")
    await add_story(sessions, toss, "두 번째 글")
    await add_story(sessions, kakao, "Kakao story")
    embed, thread_name = await planned_header(service, 2000)
    assert embed["title"] == title
    assert more in embed["description"]
    if thread:
        assert thread_name == thread
    # The hint names /search the way the server's language names it, like the rest of the
    # brief (a channel post follows the guild's locale; `source:` is the query's syntax).
    if locale == "ko":
        assert embed["footer"]["text"] == "버튼으로 글을 북마크할 수 있어요 · 지난 글 검색: /검색"


async def test_seen_without_a_locale_keeps_the_recorded_one(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    service = service_for(sessions, clock)
    await add_feed(sessions, "toss")
    await setup_channel(service, 2000)
    await service.guild_seen(GUILD, "Guild", None, locale="ja")
    await service.guild_seen(GUILD, "Guild renamed", None)  # e.g. a caller that cannot tell
    sub = await service.require(2000)
    assert sub.guild_locale == "ja"


def test_story_cards_label_the_takeaway_and_button_in_the_guilds_language() -> None:
    summary = Summary(
        lead="The cache team moved price lookups behind a regional cache this quarter.",
        sections=(
            Section(None, ("Invalidation events now reach every region within two seconds.",)),
        ),
        takeaway="Measure how often data changes before you pay for every lookup.",
    )
    story = StoryView(
        id=7,
        source_key="toss",
        source_name="Toss Tech",
        source_color=None,
        title="Regional cache",
        url="https://toss.example/a",
        author=None,
        published_at=datetime(2026, 12, 3, tzinfo=UTC),
        summary="Feed text.",
        digest=summary.to_dict(),
    )
    localizer = Localizer()
    for locale, label, button, date in [
        ("ja", "**ポイント:**", "ブックマーク", "2026年12月3日(木)"),
        ("ko", "**핵심:**", "북마크", "2026년 12월 3일 (목)"),
        ("en", "**Takeaway:**", "Bookmark", "Thu 03 Dec 2026"),
    ]:
        t = localizer.messages(locale)
        spec = render.story_message(story, "Asia/Tokyo", digest_formatter=digest_formatter, t=t)
        embed = spec.embeds[0]
        assert label in embed["description"], (locale, embed["description"])
        assert embed["footer"]["text"] == date
        assert spec.components[0]["components"][0]["label"] == button
