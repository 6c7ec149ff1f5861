"""`techbrief preview --channel` of a Japanese guild's channel shows the Japanese brief the
planner then writes into the outbox, message for message."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.briefs.planning import BriefService
from bot.core.summarize import digest_formatter
from bot.storage.deliveries_repo import DeliveriesRepository
from bot.storage.engine import create_engine, session_factory
from bot.storage.subscriptions_repo import SubscriptionsRepository
from tests.briefs.helpers import GUILD, add_feed, add_story, setup_channel
from tests.briefs.test_preview_cli import PROSE
from tests.e2e.process import child_env, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

CHANNEL = 7002


async def test_preview_of_a_japanese_guild_is_what_the_publisher_posts(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
    env = child_env({"DATABASE_URL": url, "TECHBRIEF_SUMMARY__TEASER_FETCH": "false"})
    upgrade = await run_cli("db", "upgrade", env=env, cwd=tmp_path)
    assert upgrade.code == 0, upgrade.output
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        service = BriefService(
            SubscriptionsRepository(sessions),
            DeliveriesRepository(sessions),
            clock=lambda: datetime.now(UTC),
            per_source_cap=5,
            digest_formatter=digest_formatter,
        )
        await setup_channel(service, channel=CHANNEL)
        await service.guild_seen(GUILD, "ギルド", None, locale="ja")
        feed = await add_feed(sessions, "localblog")
        await add_story(sessions, feed, "Batching the planner", summary=PROSE)
        printed = await run_cli(
            "preview", "--channel", str(CHANNEL), "--json", env=env, cwd=tmp_path
        )
        assert printed.code == 0, printed.output
        messages = [json.loads(line) for line in printed.stdout.splitlines()]
        assert "新着記事 1件 · ソース 1件" in messages[0]["embeds"][0]["title"]
        assert "**ポイント:**" in messages[1]["embeds"][0]["description"]
        assert (await service.plan_now(CHANNEL)).planned
        (delivery,) = await service.outbox.deliveries_for(CHANNEL)
        assert messages == [delivery.payload["header"], *delivery.payload["batches"]]
    finally:
        await engine.dispose()
