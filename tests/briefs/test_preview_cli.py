"""`techbrief preview` shows what Discord would show (issue "The brief reads like the digests").

The CLI renders through the same functions the planner writes into the outbox, with the same
summaries (made on the spot when the bot has not made them yet), so `preview --json` of a
channel's pending brief is, message for message, what the publisher then posts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.briefs.helpers import add_feed, add_story, setup_channel
from tests.briefs.preview_db import preview_database

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
    async with preview_database(tmp_path) as db:
        await setup_channel(db.service, channel=CHANNEL, ping_role_id=ROLE)
        feed = await add_feed(db.sessions, "localblog")
        for n in range(3):
            await add_story(
                db.sessions,
                feed,
                f"Batching the planner, part {n} **bold** @everyone",
                summary=PROSE,
            )

        shown = await db.preview(CHANNEL)
        assert "Takeaway" in shown.stdout  # the digest, not the feed's own text
        # Read as Discord shows it: escapes taken out, the mention still defused.
        assert "part 0 **bold** @\u200beveryone" in shown.stdout
        messages = await db.preview_json(CHANNEL)
        assert messages == await db.planned(CHANNEL)
        cards = [e for m in messages[1:] for e in m["embeds"]]
        assert len(cards) == 3
        assert all("**Takeaway:**" in card["description"] for card in cards), cards
        assert messages[0]["content"] == f"<@&{ROLE}>"
        assert messages[0]["allowed_mentions"] == {"parse": [], "roles": [str(ROLE)]}
        assert all(m.get("allowed_mentions", {"parse": []}) == {"parse": []} for m in messages[1:])
