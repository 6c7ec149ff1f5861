"""SQL for shared stories (the only place that queries ``shares``).

The caller owns the transaction. A share is inserted before it is checked (and before its
message is posted): on SQLite the insert takes the database's one write lock, so the checks
that follow cannot interleave with another share's; on PostgreSQL ``lock_sharer`` serialises
shares of one user and into one channel, which READ COMMITTED alone would not.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.briefs import StoryView
from bot.core.share.types import RecentShare
from bot.storage.feed_links import visible_feed
from bot.storage.models import Feed, Share, Story, StoryKey, StorySummary, Subscription
from bot.storage.story_views import view_of

# Advisory lock namespaces (first key of the two-key form); other modules use other ones.
_USER_LOCK_NAMESPACE = 0x7375  # "su": shares of one user
_CHANNEL_LOCK_NAMESPACE = 0x7363  # "sc": shares into one channel


async def lock_sharer(session: AsyncSession, user_id: int, channel_id: int) -> None:
    """PostgreSQL: serialise this user's shares and shares into this channel until commit.

    Always user first, then channel, so two transactions never wait on each other in a
    circle. SQLite needs nothing (see the module docstring).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for namespace, value in (
        (_USER_LOCK_NAMESPACE, user_id),
        (_CHANNEL_LOCK_NAMESPACE, channel_id),
    ):
        await session.execute(
            select(
                func.pg_advisory_xact_lock(literal(namespace), func.hashtext(literal(str(value))))
            )
        )


async def story_view(session: AsyncSession, story_id: int, *, guild_id: int) -> StoryView | None:
    """The story as a brief card shows it, or None when it does not exist or ``guild_id``
    may not see it (the same rule as search and bookmarks). It is labelled with a feed the
    server sees: the one that stored it first when visible, else the oldest visible one."""
    row = (
        await session.execute(
            select(Story, StorySummary.data)
            .outerjoin(
                StorySummary,
                and_(
                    StorySummary.story_id == Story.id,
                    StorySummary.content_hash == Story.content_hash,
                ),
            )
            .where(Story.id == story_id)
        )
    ).first()
    if row is None:
        return None
    story, digest = row
    label = (
        await session.execute(
            select(Feed)
            .join(StoryKey, StoryKey.feed_id == Feed.id)
            .where(StoryKey.story_id == story_id, visible_feed(guild_id))
            .order_by((Feed.id == story.feed_id).desc(), Feed.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if label is None:
        return None
    return view_of(story, label.key, label.title, label.color, digest)


async def channel_timezone(session: AsyncSession, channel_id: int) -> str | None:
    """The time zone the channel's brief uses, so a shared card dates like its brief."""
    found = await session.execute(
        select(Subscription.timezone).where(Subscription.channel_id == channel_id)
    )
    return found.scalar_one_or_none()


async def insert_share(
    session: AsyncSession,
    *,
    user_id: int,
    story_id: int,
    guild_id: int,
    channel_id: int,
    now: datetime,
) -> int:
    """A share not yet posted (``message_id`` NULL); its id."""
    share = Share(
        user_id=user_id,
        story_id=story_id,
        guild_id=guild_id,
        channel_id=channel_id,
        message_id=None,
        shared_at=now,
    )
    session.add(share)
    await session.flush()
    return int(share.id)


async def recent_in_channel(
    session: AsyncSession,
    *,
    story_id: int,
    channel_id: int,
    since: datetime,
    pending_since: datetime,
    excluding: int,
) -> RecentShare | None:
    """The newest other share of the story into the channel since ``since``: posted ones,
    and unposted ones younger than ``pending_since`` (older ones were never posted: their
    process died between reserving and posting, so they must not block anyone)."""
    found = await session.execute(
        select(Share)
        .where(
            Share.story_id == story_id,
            Share.channel_id == channel_id,
            Share.shared_at >= since,
            Share.id != excluding,
            or_(Share.message_id.is_not(None), Share.shared_at >= pending_since),
        )
        .order_by(Share.message_id.is_(None), Share.shared_at.desc())
        .limit(1)
    )
    share = found.scalar_one_or_none()
    if share is None:
        return None
    return RecentShare(
        share_id=share.id,
        guild_id=share.guild_id,
        channel_id=share.channel_id,
        message_id=share.message_id,
        shared_at=share.shared_at,
    )


async def last_shared_at(session: AsyncSession, user_id: int, *, excluding: int) -> datetime | None:
    """When the user last shared (posted or being posted), not counting ``excluding``."""
    found = await session.execute(
        select(func.max(Share.shared_at)).where(Share.user_id == user_id, Share.id != excluding)
    )
    return found.scalar_one_or_none()


async def set_message(session: AsyncSession, share_id: int, message_id: int) -> bool:
    result = await session.execute(
        update(Share)
        .where(Share.id == share_id)
        .values(message_id=message_id)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def delete_share(session: AsyncSession, share_id: int) -> None:
    """Forget a share whose message could not be posted (it never happened)."""
    await session.execute(delete(Share).where(Share.id == share_id))


async def share_exists(session: AsyncSession, share_id: int) -> bool:
    found = await session.execute(select(literal(1)).where(exists().where(Share.id == share_id)))
    return found.scalar_one_or_none() is not None
