"""`techbrief preview` shows what Discord would show (issue "The brief reads like the digests").

The CLI renders through the same functions the planner writes into the outbox, with the same
summaries (made on the spot when the bot has not made them yet), so `preview --json` of a
channel's pending brief is, message for message, what the publisher then posts.
"""

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
from tests.briefs.helpers import add_feed, add_story, setup_channel
from tests.e2e.process import child_env, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

CHANNEL = 7001
ROLE = 7002  # the channel's brief pings this role: the preview shows the same ping line
PROSE = (
    "Our platform team rebuilt the delivery pipeline that sends every brief. "
    "The old design wrote one row per channel and committed each one on its own. "
    "We measured the cost and found that commits, not rendering, took most of the time. "
    "The new planner groups channels that share the same stories and renders them once. "
    "It then writes all of their rows in a single transaction with a few statements. "
    "Planning two thousand channels now takes well under a second on one small machine. "
    "In the end, batching the writes mattered far more than any clever caching did."
)


async def test_preview_json_is_what_the_publisher_posts(tmp_path: Path) -> None:
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
        await setup_channel(service, channel=CHANNEL, ping_role_id=ROLE)
        feed = await add_feed(sessions, "localblog")
        for n in range(3):
            await add_story(
                sessions, feed, f"Batching the planner, part {n} **bold** @everyone", summary=PROSE
            )

        shown = await run_cli("preview", "--channel", str(CHANNEL), env=env, cwd=tmp_path)
        assert shown.code == 0, shown.output
        assert "Takeaway" in shown.stdout  # the digest, not the feed's own text
        # Read as Discord shows it: escapes taken out, the mention still defused.
        assert "part 0 **bold** @\u200beveryone" in shown.stdout
        printed = await run_cli(
            "preview", "--channel", str(CHANNEL), "--json", env=env, cwd=tmp_path
        )
        assert printed.code == 0, printed.output
        messages = [json.loads(line) for line in printed.stdout.splitlines()]

        result = await service.plan_now(CHANNEL)
        assert result.planned
        (delivery,) = await service.outbox.deliveries_for(CHANNEL)
        assert messages == [delivery.payload["header"], *delivery.payload["batches"]]
        cards = [e for m in messages[1:] for e in m["embeds"]]
        assert len(cards) == 3
        assert all("**Takeaway:**" in card["description"] for card in cards), cards
        assert messages[0]["content"] == f"<@&{ROLE}>"
        assert messages[0]["allowed_mentions"] == {"parse": [], "roles": [str(ROLE)]}
        assert all(m.get("allowed_mentions", {"parse": []}) == {"parse": []} for m in messages[1:])
    finally:
        await engine.dispose()
