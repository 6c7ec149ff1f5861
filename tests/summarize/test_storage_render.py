"""A stored summary, read back the way briefs read it, rendered into a story embed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.briefs import StoryView, render
from bot.core.briefs.safetext import ZWSP
from bot.core.summarize import Section, Summary, digest_formatter
from bot.core.summarize.format import BULLET
from bot.storage import summaries_repo as repo
from bot.storage.models import Subscription
from bot.storage.subscriptions_repo import SubscriptionsRepository
from tests.summarize.dbworld import T0, World

HOSTILE = Summary(
    lead="Hey @everyone, the cache team shipped a fix. Ping <@123456789012345678> for details.",
    sections=(
        Section(
            "What changed",
            (
                "Price lookups go through a regional cache with a five-minute TTL.",
                "Invalidation events reach every region within two seconds.",
                "Stale prices are caught by the nightly reconciliation job.",
            ),
        ),
        Section(
            "Results",
            (
                "Checkout p99 latency fell from 910 ms to 430 ms in both regions.",
                "Calls to the pricing API dropped by 83% after the rollout finished.",
            ),
        ),
    ),
    takeaway="Measure how often data changes before you pay for every lookup, @here.",
    method="llm",
)


async def _stored_view(sessions: async_sessionmaker[AsyncSession], data: dict[str, Any]) -> Any:
    world = World(sessions)
    sid = await world.story("Regional cache", "Feed text of the story.", url="https://e.x/a")
    async with sessions.begin() as s:
        await repo.store_summary(
            s,
            story_id=sid,
            content_hash=await world.current_hash(sid),
            method="llm",
            data=data,
            now=T0,
        )
    # A channel that follows every catalog feed, read through the brief repository.
    sub = Subscription(id=1, watermark=0, all_sources=True)
    [view] = await SubscriptionsRepository(sessions).pending_stories(sub)
    return view


async def test_story_embed_shows_the_stored_digest_within_the_limit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    view = await _stored_view(sessions, HOSTILE.to_dict())
    assert view.digest == HOSTILE.to_dict()

    full = render.story_embed(view, "UTC", digest_formatter=digest_formatter)
    text = full["description"]
    assert text.startswith("Hey @" + ZWSP + "everyone")
    assert f"@{ZWSP}123456789012345678" in text  # the user mention is broken
    assert f"@{ZWSP}here" in text
    assert "@everyone" not in text and "<@123456789012345678>" not in text and "@here" not in text
    assert text.count(BULLET) == 5
    assert "**What changed**" in text and "**Takeaway:**" in text

    limit = 300
    short = render.story_embed(
        view, "UTC", digest_formatter=digest_formatter, description_limit=limit
    )
    text = short["description"]
    assert len(text) <= limit
    assert text.startswith("Hey @" + ZWSP + "everyone")  # the lead survives trimming
    assert BULLET in text  # and at least one key point
    assert "@everyone" not in text


async def test_unusable_digest_falls_back_to_the_feed_text(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    view = await _stored_view(sessions, {"lead": 42, "sections": "nope"})
    embed = render.story_embed(view, "UTC", digest_formatter=digest_formatter)
    assert embed["description"] == "Feed text of the story."


def test_digest_formatter_rejects_bad_data() -> None:
    assert digest_formatter({}, 100) is None
    assert digest_formatter({"lead": "", "sections": []}, 100) is None
    assert digest_formatter({"lead": "x", "method": "magic"}, 100) is None
    assert digest_formatter([], 100) is None  # type: ignore[arg-type]
    assert digest_formatter({"lead": "Short *lead*."}, 100) == "Short \\*lead\\*."
    assert digest_formatter(HOSTILE.to_dict(), 0) is None


def test_embed_without_digest_uses_the_feed_summary() -> None:
    view = StoryView(
        id=1,
        source_key="x",
        source_name="X",
        source_color=None,
        title="t",
        url=None,
        author=None,
        published_at=T0,
        summary="plain",
    )
    embed = render.story_embed(view, "UTC", digest_formatter=digest_formatter)
    assert embed["description"] == "plain"
