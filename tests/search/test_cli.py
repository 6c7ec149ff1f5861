"""`techbrief search`: JSON lines, a readable list, and one-line errors with exit 1."""

from __future__ import annotations

import argparse
import json

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.commands.search import register
from bot.runtime.settings import DatabaseSettings, SearchSettings, Settings
from tests.search.helpers import NOW, add_feed, add_story


def parse_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="techbrief")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["search", *argv])


@pytest.fixture
async def settings(db_url: str, sessions: async_sessionmaker[AsyncSession]) -> Settings:
    async with sessions() as s:
        feed = await add_feed(s, "netflix", "Netflix TechBlog")
        await add_story(s, feed, "Kubernetes cost at scale", "We cut *cost* in half.")
        await add_story(s, feed, "쿠버네티스 비용 최적화", "비용을 줄였다")
        await s.commit()
    return Settings(
        database=DatabaseSettings(url=db_url), search=SearchSettings(max_query_chars=40)
    )


async def test_json_lines(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse_args("kubernetes", "cost", "--json", "--limit", "3")
    assert await args.handler(args, settings) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    hit = json.loads(lines[0])
    assert set(hit) >= {"id", "title", "url", "source", "published", "snippet", "score"}
    assert hit["title"] == "Kubernetes cost at scale" and hit["source"] == "netflix"
    assert hit["published"] == NOW.isoformat()
    assert "**cost**" in hit["snippet"]


async def test_plain_list(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse_args("비용")
    assert await args.handler(args, settings) == 0
    out = capsys.readouterr().out
    assert "1-1 of 1 stories" in out and "1. 쿠버네티스 비용 최적화" in out
    assert "Netflix TechBlog (netflix) · 2026-11-22" in out and "**비용**을" in out


async def test_exclusion_after_double_dash(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse_args("--json", "--", "kubernetes", "-cost")
    assert await args.handler(args, settings) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [(['"kubernetes'], "Unbalanced quote"), (["x" * 41], "too long"), (["title:x"], "Unknown")],
)
async def test_bad_query_is_one_line_and_exit_1(
    settings: Settings, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    args = parse_args(*argv)
    assert await args.handler(args, settings) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err


async def test_the_operator_sees_every_servers_custom_feeds(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # /search in a server shows only its own custom feeds; the CLI is the operator's tool.
    async with sessions() as s:
        private = await add_feed(s, "private", "Private", origin="custom", guild_id=42)
        await add_story(s, private, "Kubernetes in a private feed")
        await s.commit()
    args = parse_args("kubernetes", "--json")
    assert await args.handler(args, settings) == 0
    sources = {json.loads(line)["source"] for line in capsys.readouterr().out.splitlines()}
    assert sources == {"netflix", "private"}


def test_limit_is_validated() -> None:
    with pytest.raises(SystemExit):
        parse_args("x", "--limit", "0")


def test_plain_list_says_when_the_total_is_open_ended() -> None:
    import io
    from datetime import UTC, datetime

    from bot.commands.search import write_text
    from bot.core.search.service import RANK_WINDOW, SearchHit, SearchPage

    hit = SearchHit(
        story_id=1,
        title="T",
        url=None,
        source_key="k",
        source_name="K",
        published_at=datetime(2026, 1, 2, tzinfo=UTC),
        snippet="a \\*b\\* **c**",
        score=1.0,
    )
    out = io.StringIO()
    write_text(SearchPage(hits=[hit], total=None), out, color=False)
    assert f"1-1 of {RANK_WINDOW}+ stories" in out.getvalue()
    assert "a *b* **c**" in out.getvalue()
