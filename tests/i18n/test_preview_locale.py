"""`techbrief preview --channel` of a Japanese guild's channel shows the Japanese brief the
planner then writes into the outbox, message for message."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.briefs.helpers import GUILD, add_feed, add_story, setup_channel
from tests.briefs.preview_db import preview_database
from tests.briefs.test_preview_cli import PROSE

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

CHANNEL = 7002


async def test_preview_of_a_japanese_guild_is_what_the_publisher_posts(tmp_path: Path) -> None:
    async with preview_database(tmp_path) as db:
        await setup_channel(db.service, channel=CHANNEL)
        await db.service.guild_seen(GUILD, "ギルド", None, locale="ja")
        feed = await add_feed(db.sessions, "localblog")
        await add_story(db.sessions, feed, "Batching the planner", summary=PROSE)
        messages = await db.preview_json(CHANNEL)
        assert "新着記事 1件 · ソース 1件" in messages[0]["embeds"][0]["title"]
        assert "**ポイント:**" in messages[1]["embeds"][0]["description"]
        assert messages == await db.planned(CHANNEL)
