"""Writing stories the way the story store does: search text through searchable_text, and a
``story_keys`` row linking the story to its feed (what search visibility follows)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.search import searchable_text
from bot.storage.models import Feed, FeedLink, Story, StoryKey, StoryTag

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


async def add_feed(
    session: AsyncSession,
    key: str,
    title: str | None = None,
    *,
    origin: str = "catalog",
    guild_id: int | None = None,
) -> Feed:
    """A feed; ``origin="custom"`` with ``guild_id`` is that server's own (/feed add)."""
    feed = Feed(
        key=key,
        url=f"https://example.com/{key}.xml",
        title=title or key.title(),
        origin=origin,
        added_by_guild_id=guild_id,
        created_at=NOW,
        next_check_at=NOW,
    )
    session.add(feed)
    await session.flush()
    if guild_id is not None:
        session.add(FeedLink(feed_id=feed.id, guild_id=guild_id, created_at=NOW))
        await session.flush()
    return feed


def search_fields(title: str, summary: str, content: str) -> dict[str, str]:
    return {
        "search_title": searchable_text(title),
        "search_body": searchable_text(f"{summary}\n{content}"),
    }


async def add_story(
    session: AsyncSession,
    feed: Feed,
    title: str,
    summary: str = "",
    content: str = "",
    *,
    published: datetime = NOW,
    author: str | None = None,
    tags: tuple[str, ...] = (),
    story_id: int | None = None,
    also_feeds: tuple[Feed, ...] = (),
) -> Story:
    """A story of ``feed``, also linked to ``also_feeds`` (found through them too)."""
    n = await _next_number(session)
    story = Story(
        id=story_id,
        feed_id=feed.id,
        canonical_url=f"https://example.com/{feed.key}/{n}",
        url=f"https://example.com/{feed.key}/{n}?ref=feed",
        title=title,
        summary=summary,
        content_text=content,
        author=author,
        published_at=published,
        first_seen_at=NOW,
        updated_at=NOW,
        content_hash=f"{n:064d}",
        tags=[StoryTag(tag=t) for t in tags],
        **search_fields(title, summary, content),
    )
    session.add(story)
    await session.flush()
    for linked in (feed, *also_feeds):
        session.add(
            StoryKey(feed_id=linked.id, key=f"key-{n}", story_id=story.id, first_seen_at=NOW)
        )
    await session.flush()
    return story


async def _next_number(session: AsyncSession) -> int:
    counter: int = session.info.get("story_counter", 0) + 1
    session.info["story_counter"] = counter
    return counter
