"""SummaryService against a real database (SQLite and PostgreSQL) and a local LLM server."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.summarize import ExtractiveSummarizer, Summary
from bot.core.summarize.service import (
    LLMCounters,
    SummaryService,
    SummaryServiceConfig,
    build_summary_service,
)
from bot.storage import summaries_repo as repo
from tests.summarize.articles import EN_ARTICLE, EN_TITLE, EN_URL, KO_ARTICLE, KO_TITLE, KO_URL
from tests.summarize.conftest import RecordingServer
from tests.summarize.dbworld import Clock, CountingSummarizer, World

CHAT = "/v1/chat/completions"
GOOD: dict[str, Any] = {
    "lead": "The payments team halved checkout latency with a regional pricing cache.",
    "sections": [
        {"heading": "Problem", "bullets": ["Every line item called the pricing API."]},
        {"heading": "Solution", "bullets": ["A regional cache fronts the pricing API."]},
    ],
    "takeaway": "Measure how often data changes before paying for every lookup.",
}
SHORT_TITLE = "Release notes"
SHORT_TEXT = (
    "We released version 4.2 of the deployment tool with faster rollbacks and better logs. "
    "Rollbacks now finish in under a minute for most services in every region we run."
)


def serve_llm(server: RecordingServer, prompt: int = 900, done: int = 150) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "choices": [{"message": {"role": "assistant", "content": json.dumps(GOOD)}}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": done},
            }
        )

    server.routes[CHAT] = handler


def llm_calls(server: RecordingServer) -> int:
    return server.paths.count(CHAT)


def llm_config(server: RecordingServer, **kw: Any) -> SummaryServiceConfig:
    values: dict[str, Any] = {
        "method": "llm",
        "llm_base_url": server.url("/v1"),
        "llm_model": "test-model",
        "llm_api_key": "sk-test",
        "llm_timeout_s": 5.0,
        "teaser_fetch": False,
    }
    values.update(kw)
    return SummaryServiceConfig(**values)


async def test_new_stories_are_summarized_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = World(sessions)
    en = await world.story(EN_TITLE, EN_ARTICLE, url=EN_URL)
    ko = await world.story(KO_TITLE, KO_ARTICLE, url=KO_URL, language="ko")
    short = await world.story(SHORT_TITLE, SHORT_TEXT)
    summarizer = CountingSummarizer(ExtractiveSummarizer())
    service = SummaryService(sessions, summarizer, clock=Clock())

    assert await service.run_pending() == 3
    rows = await world.summaries()
    assert set(rows) == {en, ko, short}
    for sid in (en, ko, short):
        [(chash, method, data)] = rows[sid]
        assert chash == await world.current_hash(sid)
        assert method == "extractive"
        summary = Summary.from_dict(data)  # stored exactly as Summary.to_dict()
        assert summary.lead and summary.to_dict() == data
    assert Summary.from_dict(rows[en][0][2]).bullets  # a real article gets key points

    assert await service.run_pending() == 0  # nothing new: nothing summarized again
    assert sorted(summarizer.titles) == sorted([EN_TITLE, KO_TITLE, SHORT_TITLE])
    assert service.stats.stored == 3 and service.stats.failed == 0
    assert service.llm_stats_snapshot() is None
    assert service.llm_counter_increments() == LLMCounters()


async def test_a_changed_story_is_summarized_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = World(sessions)
    sid = await world.story(EN_TITLE, EN_ARTICLE, url=EN_URL)
    other = await world.story(SHORT_TITLE, SHORT_TEXT)
    summarizer = CountingSummarizer(ExtractiveSummarizer())
    service = SummaryService(sessions, summarizer)
    assert await service.run_pending() == 2

    new_text = EN_ARTICLE.replace("regional cache", "regional edge cache")
    new_hash = await world.update(sid, content_text=new_text)
    assert await service.run_pending() == 1
    assert await service.run_pending() == 0
    rows = await world.summaries()
    assert [h for h, _, _ in rows[sid]] == [new_hash]  # the stale row is gone
    assert len(rows[other]) == 1
    assert "regional edge cache" in " ".join(Summary.from_dict(rows[sid][0][2]).texts())
    assert summarizer.titles.count(EN_TITLE) == 2


async def test_batches_take_the_newest_stories_first(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = World(sessions)
    ids = [await world.story(f"Story {i}", f"{SHORT_TEXT} Number {i}.") for i in range(5)]
    service = SummaryService(sessions, ExtractiveSummarizer(), batch=2)
    assert await service.run_pending() == 2
    assert set(await world.summaries()) == set(ids[-2:])
    assert await service.run_pending() == 2
    assert await service.run_pending() == 1
    assert await service.run_pending() == 0


async def test_a_failing_story_does_not_block_the_others(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = World(sessions)
    older = [await world.story(f"Story {i}", f"{SHORT_TEXT} Number {i}.") for i in range(3)]
    bad = await world.story("boom", SHORT_TEXT)  # the newest: first in every batch
    summarizer = CountingSummarizer(ExtractiveSummarizer(), fail_titles={"boom"})
    clock = Clock()
    service = SummaryService(sessions, summarizer, batch=2, clock=clock)

    assert await service.run_pending() == 1  # boom failed, its batch-mate was stored
    assert await service.run_pending() == 2  # boom is backed off: the older ones get a turn
    assert await service.run_pending() == 0
    assert set(await world.summaries()) == set(older)
    assert summarizer.titles.count("boom") == 1
    assert service.stats.failed == 1

    summarizer.fail_titles.clear()
    clock.advance(hours=1, seconds=1)  # the back-off is over: boom is retried
    assert await service.run_pending() == 1
    assert bad in await world.summaries()


async def test_llm_results_survive_a_restart(
    sessions: async_sessionmaker[AsyncSession],
    server: RecordingServer,
    session: aiohttp.ClientSession,
) -> None:
    serve_llm(server)
    world = World(sessions)
    sid = await world.story(EN_TITLE, EN_ARTICLE, url=EN_URL)
    first = build_summary_service(llm_config(server), sessions=sessions, http=session)
    assert await first.run_pending() == 1
    assert llm_calls(server) == 1
    [(_, method, data)] = (await world.summaries())[sid]
    assert method == "llm" and data["lead"] == GOOD["lead"]

    # The story's hash changes for a reason the summary does not depend on (a new image), and
    # the bot restarts: a new service, new cache object, same database.
    await world.update(sid, image_url="https://cdn.example.com/new.png")
    second = build_summary_service(llm_config(server), sessions=sessions, http=session)
    assert await second.run_pending() == 1
    assert llm_calls(server) == 1  # answered from llm_cache, not paid for again
    snapshot = second.llm_stats_snapshot()
    assert snapshot is not None and snapshot["cache_hits"] == 1 and snapshot["calls"] == 0
    [(_, method, data)] = (await world.summaries())[sid]
    assert method == "llm" and data["lead"] == GOOD["lead"]


async def test_db_budget_stops_calls_and_resets_the_next_utc_day(
    sessions: async_sessionmaker[AsyncSession],
    server: RecordingServer,
    session: aiohttp.ClientSession,
) -> None:
    serve_llm(server, prompt=4000, done=1000)  # one call spends the whole day's budget
    world = World(sessions)
    for i in range(3):
        await world.story(f"{EN_TITLE} ({i})", EN_ARTICLE, url=f"{EN_URL}/{i}")
    clock = Clock()
    config = llm_config(server, llm_daily_token_budget=5000, concurrency=1)
    service = build_summary_service(config, sessions=sessions, http=session, clock=clock)

    assert await service.run_pending() == 3  # every story still gets a summary...
    assert llm_calls(server) == 1  # ...but only one was paid for
    methods = sorted(m for rows in (await world.summaries()).values() for _, m, _ in rows)
    assert methods == ["extractive", "extractive", "llm"]
    tokens = repo.DbDailyBudget(sessions, repo.LLM_TOKENS, 5000, clock=clock)
    assert await tokens.used_today() == 5000

    increments = service.llm_counter_increments()
    assert increments.tokens == {"prompt": 4000, "completion": 1000}
    assert increments.calls["success"] == 1 and increments.calls["budget"] == 2
    assert set(service.llm_counter_increments().calls.values()) == {0}  # nothing new since

    # A restart the same day does not get a fresh allowance: the count is in the database.
    restarted = build_summary_service(config, sessions=sessions, http=session, clock=clock)
    await world.story("Same day", EN_ARTICLE.replace("cart", "basket"), url=f"{EN_URL}/x")
    assert await restarted.run_pending() == 1
    assert llm_calls(server) == 1

    clock.advance(days=1)  # a new UTC day: a new allowance
    await world.story("Next day", EN_ARTICLE.replace("cart", "trolley"), url=f"{EN_URL}/y")
    assert await restarted.run_pending() == 1
    assert llm_calls(server) == 2
    assert await tokens.used_today() == 5000


async def test_teaser_stories_are_expanded_with_a_db_budget(
    sessions: async_sessionmaker[AsyncSession],
    server: RecordingServer,
) -> None:
    page = "".join(f"<p>{p}</p>" for p in EN_ARTICLE.split("\n\n")[:4])
    html = f"<html><body><main><article><h1>{EN_TITLE}</h1>{page}</article></main></body></html>"
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:
        fetched.append(url)
        if url.endswith("/robots.txt"):
            return b"User-agent: *\nAllow: /\n"
        return html.encode()

    world = World(sessions)
    sid = await world.story(EN_TITLE, "We rebuilt the cart read path [...]", url=server.url("/a"))
    config = SummaryServiceConfig(teaser_fetch=True, teaser_daily_budget=1)
    service = build_summary_service(config, sessions=sessions, page_fetcher=fetch)
    assert await service.run_pending() == 1
    assert fetched == [server.url("/robots.txt"), server.url("/a")]
    [(_, _, data)] = (await world.summaries())[sid]
    assert "cache" in " ".join(Summary.from_dict(data).texts())
    assert service.teaser is not None and service.teaser.stats.expanded == 1
    pages = repo.DbDailyBudget(sessions, repo.TEASER_PAGES, 1)
    assert await pages.used_today() == 1


def test_build_rejects_misconfiguration(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(ValueError, match="method"):
        build_summary_service(SummaryServiceConfig(method="magic"), sessions=sessions)
    with pytest.raises(ValueError, match="llm_base_url"):
        build_summary_service(
            SummaryServiceConfig(method="llm", llm_model="m", teaser_fetch=False),
            sessions=sessions,
        )
    with pytest.raises(ValueError, match="aiohttp"):
        build_summary_service(
            SummaryServiceConfig(
                method="llm", llm_base_url="http://x", llm_model="m", teaser_fetch=False
            ),
            sessions=sessions,
        )
    with pytest.raises(ValueError, match="page fetcher"):
        build_summary_service(SummaryServiceConfig(), sessions=sessions)
    plain = build_summary_service(SummaryServiceConfig(teaser_fetch=False), sessions=sessions)
    assert isinstance(plain.summarizer, ExtractiveSummarizer) and plain.teaser is None
    with pytest.raises(ValueError):
        SummaryService(sessions, ExtractiveSummarizer(), batch=0)


async def test_overlapping_runs_do_not_double_up(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    import asyncio

    world = World(sessions)
    await world.story(SHORT_TITLE, SHORT_TEXT)
    summarizer = CountingSummarizer(ExtractiveSummarizer())
    service = SummaryService(sessions, summarizer)
    results = await asyncio.gather(service.run_pending(), service.run_pending())
    assert sorted(results) == [0, 1]
    assert summarizer.titles == [SHORT_TITLE]


async def test_max_age_leaves_the_archive_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = World(sessions)
    clock = Clock()
    await world.story("old", SHORT_TEXT, first_seen=clock.now - timedelta(days=30))
    new = await world.story("new", SHORT_TEXT)
    service = SummaryService(
        sessions, ExtractiveSummarizer(), max_age=timedelta(days=7), clock=clock
    )
    assert await service.run_pending() == 1
    assert set(await world.summaries()) == {new}


async def test_page_bytes_adapts_fetch_page() -> None:
    from bot.core.models import FetchResult
    from bot.core.summarize.service import page_bytes

    async def fetch_page(url: str) -> FetchResult:
        body = None if url.endswith("/empty") else b"<html>hi</html>"
        return FetchResult(url, url, 200, body, {}, None, None, None)

    fetch = page_bytes(fetch_page)
    assert await fetch("https://e.x/a") == b"<html>hi</html>"
    assert await fetch("https://e.x/empty") == b""
