"""Which servers follow which feeds (``feed_links``), and so who may see what.

Every server sees the shared feeds (the catalog and what the operator imported from OPML);
a server also sees the feeds it follows, however many other servers follow them too; a DM
sees the shared feeds only. One definition here serves search, bookmarks, briefs and
``/feed``: the ORM condition, the same rule as SQL text for the hand-written search scans,
and the unlinking that keeps subscriptions and polling in step with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Feed, FeedLink, Subscription, SubscriptionFeed

# Feeds every server may use: the catalog and what the operator imported (OPML).
SHARED = ("catalog", "opml")


def followed_by(guild_id: int) -> ColumnElement[bool]:
    """``Feed`` rows ``guild_id`` follows."""
    return Feed.id.in_(select(FeedLink.feed_id).where(FeedLink.guild_id == guild_id))


def visible_feed(guild_id: int | None) -> ColumnElement[bool]:
    """``Feed`` rows a server (None: a DM) may see."""
    shared = Feed.origin.in_(SHARED)
    if guild_id is None:
        return shared
    return or_(shared, followed_by(guild_id))


def visible_feed_sql(guild_id: int | None, alias: str = "f") -> tuple[str, dict[str, Any]]:
    """:func:`visible_feed` as SQL text on ``feeds AS <alias>``, with its parameters."""
    params: dict[str, Any] = {f"shared_{i}": origin for i, origin in enumerate(SHARED)}
    rule = f"{alias}.origin IN ({', '.join(f':shared_{i}' for i in range(len(SHARED)))})"
    if guild_id is not None:
        params["guild_id"] = guild_id
        follows = "SELECT fl.feed_id FROM feed_links AS fl WHERE fl.guild_id = :guild_id"
        rule = f"({rule} OR {alias}.id IN ({follows}))"
    return rule, params


async def drop_links(
    session: AsyncSession, guild_id: int, feed_ids: Sequence[int] | None = None
) -> list[int]:
    """Unlink ``guild_id`` from these feeds (None: from all of them), inside the caller's
    transaction; returns the feed ids unlinked.

    The server's channels stop taking stories from them (their source lists lose the feed),
    and a custom feed no server follows any more stops being polled. It is deactivated, not
    deleted: its stories and keys stay, so a later re-add does not announce old items again.
    """
    links = delete(FeedLink).where(FeedLink.guild_id == guild_id)
    if feed_ids is not None:
        links = links.where(FeedLink.feed_id.in_(list(feed_ids)))
    gone = [int(fid) for fid in await session.scalars(links.returning(FeedLink.feed_id))]
    if not gone:
        return []
    own_subs = select(Subscription.id).where(Subscription.guild_id == guild_id)
    # A shared feed stays visible to the server, so its channels may keep choosing it.
    private = select(Feed.id).where(Feed.id.in_(gone), Feed.origin.not_in(SHARED))
    await session.execute(
        delete(SubscriptionFeed).where(
            SubscriptionFeed.feed_id.in_(private), SubscriptionFeed.subscription_id.in_(own_subs)
        )
    )
    followed = exists().where(FeedLink.feed_id == Feed.id)
    await session.execute(
        update(Feed)
        .where(Feed.id.in_(gone), Feed.origin == "custom", ~followed)
        .values(active=False, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return gone
