"""The database-backed cache, budgets and summary rows, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.summarize import Section, Summary
from bot.storage import summaries_repo as repo
from bot.storage.models import DailyBudget, LlmCache, Story
from tests.summarize.dbworld import T0, Clock, World

SUMMARY = Summary(
    lead="The team halved checkout latency with a regional cache.",
    sections=(Section("Results", ("p99 fell from 910 ms to 430 ms.",)),),
    takeaway="Measure before caching.",
    method="llm",
)


async def test_cache_round_trip_and_miss(sessions: async_sessionmaker[AsyncSession]) -> None:
    cache = repo.DbSummaryCache(sessions, clock=Clock())
    assert await cache.get("h1", "model-a") is None
    await cache.put("h1", "model-a", SUMMARY)
    assert await cache.get("h1", "model-a") == SUMMARY
    assert await cache.get("h1", "model-b") is None  # keyed by model too


async def test_concurrent_cache_puts_of_one_key_do_not_error(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Two "processes" (separate cache objects, separate connections) racing on one key.
    caches = [repo.DbSummaryCache(sessions), repo.DbSummaryCache(sessions)]
    await asyncio.gather(*(caches[i % 2].put("same", "m", SUMMARY) for i in range(20)))
    async with sessions() as s:
        count = (await s.execute(select(func.count()).select_from(LlmCache))).scalar_one()
    assert count == 1
    assert await caches[0].get("same", "m") == SUMMARY


async def test_unreadable_cache_row_is_a_miss_and_is_overwritten(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    cache = repo.DbSummaryCache(sessions)
    await cache.put("h", "m", SUMMARY)
    async with sessions.begin() as s:
        await s.execute(update(LlmCache).values(data={"lead": 42}))
    assert await cache.get("h", "m") is None
    await cache.put("h", "m", SUMMARY)
    assert await cache.get("h", "m") == SUMMARY


async def test_budget_counts_allows_and_resets_on_a_new_utc_day(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock(T0.replace(hour=23, minute=59))
    budget = repo.DbDailyBudget(sessions, repo.LLM_TOKENS, 1000, clock=clock)
    assert await budget.allow(1000)
    await budget.spend(600)
    await budget.spend(0)  # nothing spent, nothing written
    assert await budget.used_today() == 600
    assert await budget.allow(400)
    assert not await budget.allow(401)
    await budget.spend(400)
    assert not await budget.allow(1)
    # Another budget name is counted apart.
    pages = repo.DbDailyBudget(sessions, repo.TEASER_PAGES, 5, clock=clock)
    assert await pages.allow(5)

    clock.advance(minutes=2)  # past midnight UTC
    assert await budget.used_today() == 0
    assert await budget.allow(1000)
    await budget.spend(10)
    async with sessions() as s:
        rows = (
            await s.execute(
                select(DailyBudget.day, DailyBudget.used)
                .where(DailyBudget.name == repo.LLM_TOKENS)
                .order_by(DailyBudget.day)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("2026-11-22", 1000), ("2026-11-23", 10)]


async def test_budget_day_follows_utc_not_local_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from zoneinfo import ZoneInfo

    # 08:30 on the 23rd in Seoul is still the 22nd in UTC.
    clock = Clock(T0.replace(day=23, hour=8, minute=30, tzinfo=ZoneInfo("Asia/Seoul")))
    budget = repo.DbDailyBudget(sessions, "x", 10, clock=clock)
    await budget.spend(3)
    async with sessions() as s:
        day = (await s.execute(select(DailyBudget.day))).scalar_one()
    assert day == "2026-11-22"


async def test_concurrent_spends_are_all_counted(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # A fresh day: every spender may find the row missing and race to insert it.
    clock = Clock()
    budgets = [repo.DbDailyBudget(sessions, "race", 10_000, clock=clock) for _ in range(2)]
    await asyncio.gather(*(budgets[i % 2].spend(3) for i in range(40)))
    assert await budgets[0].used_today() == 120


def test_budget_rejects_bad_arguments(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(ValueError):
        repo.DbDailyBudget(sessions, "x", -1)
    with pytest.raises(ValueError):
        repo.DbDailyBudget(sessions, "", 1)
    with pytest.raises(ValueError):
        repo.utc_day(T0.replace(tzinfo=None))


async def test_pending_stories_newest_first_with_skips_and_age(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = World(sessions)
    old = await world.story("old", "old text", first_seen=T0 - timedelta(days=30))
    mid = await world.story("mid", "mid text")
    new = await world.story("new", "new text")
    async with sessions() as s:
        pending = await repo.stories_needing_summary(s, limit=10)
        assert [p.id for p in pending] == [new, mid, old]
        assert pending[0].title == "new" and pending[0].text == "new text"
        assert pending[0].content_hash == await world.current_hash(new)
        limited = await repo.stories_needing_summary(s, limit=2, skip_ids={new})
        assert [p.id for p in limited] == [mid, old]
        recent = await repo.stories_needing_summary(s, limit=10, seen_after=T0 - timedelta(days=1))
        assert [p.id for p in recent] == [new, mid]


async def test_store_summary_is_idempotent_and_keeps_only_the_current_hash(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = World(sessions)
    sid = await world.story("t", "text")
    h1 = await world.current_hash(sid)
    data = SUMMARY.to_dict()
    for _ in range(2):
        async with sessions.begin() as s:
            assert await repo.store_summary(
                s, story_id=sid, content_hash=h1, method="llm", data=data, now=T0
            )
    async with sessions() as s:
        assert await repo.current_summary(s, sid) == data
        assert await repo.stories_needing_summary(s, limit=10) == []

    h2 = await world.update(sid, content_text="new text")
    async with sessions() as s:
        assert await repo.current_summary(s, sid) is None  # the old hash no longer counts
    # A summary of the old text arriving late is stale: not kept.
    async with sessions.begin() as s:
        assert not await repo.store_summary(
            s, story_id=sid, content_hash=h1, method="llm", data=data, now=T0
        )
    async with sessions.begin() as s:
        assert await repo.store_summary(
            s, story_id=sid, content_hash=h2, method="extractive", data=data, now=T0
        )
    rows = await world.summaries()
    assert [(h, m) for h, m, _ in rows[sid]] == [(h2, "extractive")]


async def test_store_summary_of_a_deleted_story_raises_integrity_error(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = World(sessions)
    sid = await world.story("t", "text")
    h = await world.current_hash(sid)
    async with sessions.begin() as s:
        await s.delete(await s.get(Story, sid))
    with pytest.raises(IntegrityError):
        async with sessions.begin() as s:
            await repo.store_summary(s, story_id=sid, content_hash=h, method="llm", data={}, now=T0)
