"""SQL for guilds, channels, their subscriptions and filters, and the stories waiting for them.

A channel's watermark is an id: the stories it has not had yet are those stored after it
(invariant 4), visible to it through the feeds it follows. The outbox, which moves the
watermark when a brief is planned, lives in ``deliveries_repo``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.core.briefs import StoryView
from bot.storage.feed_links import SHARED, drop_links, visible_feed
from bot.storage.locks import story_writes_barrier
from bot.storage.models import (
    Delivery,
    Feed,
    Guild,
    Story,
    StoryKey,
    StorySummary,
    Subscription,
    SubscriptionFeed,
    SubscriptionFilter,
)
from bot.storage.pending_batch import pending_for_many
from bot.storage.story_views import view_of as _view


class SubscriptionsRepository:
    """Guilds, channels and what each channel subscribes to, and the stories waiting for it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    # -- guilds and channels -------------------------------------------------------------
    async def upsert_guild(
        self,
        guild_id: int,
        name: str,
        system_channel_id: int | None,
        now: datetime,
        locale: str | None = None,
    ) -> None:
        """Remember a guild; ``locale`` None keeps the language recorded before."""
        async with self.sessions.begin() as s:
            guild = await s.get(Guild, guild_id)
            if guild is None:
                s.add(
                    Guild(
                        id=guild_id,
                        name=name[:100],
                        system_channel_id=system_channel_id,
                        locale=locale[:16] if locale else None,
                        joined_at=now,
                    )
                )
            else:
                guild.name = name[:100]
                guild.system_channel_id = system_channel_id
                guild.left_at = None
                if locale:
                    guild.locale = locale[:16]

    async def guild_left(self, guild_id: int, now: datetime) -> int:
        """The bot left (or was removed): its channels stop; returns subscriptions removed."""
        async with self.sessions.begin() as s:
            await drop_links(s, guild_id)
            result = await s.execute(delete(Subscription).where(Subscription.guild_id == guild_id))
            await s.execute(update(Guild).where(Guild.id == guild_id).values(left_at=now))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def channel_deleted(self, channel_id: int) -> bool:
        async with self.sessions.begin() as s:
            result = await s.execute(
                delete(Subscription).where(Subscription.channel_id == channel_id)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def system_channel(self, guild_id: int) -> int | None:
        async with self.sessions() as s:
            guild = await s.get(Guild, guild_id)
            return guild.system_channel_id if guild else None

    # -- subscriptions -------------------------------------------------------------------
    async def get(self, channel_id: int) -> Subscription | None:
        async with self.sessions() as s:
            return (
                await s.execute(select(Subscription).where(Subscription.channel_id == channel_id))
            ).scalar_one_or_none()

    async def for_guild(self, guild_id: int) -> list[Subscription]:
        async with self.sessions() as s:
            rows = await s.execute(
                select(Subscription)
                .where(Subscription.guild_id == guild_id)
                .order_by(Subscription.channel_id)
            )
            return list(rows.scalars())

    async def upsert(
        self,
        *,
        guild_id: int,
        channel_id: int,
        mode: str,
        timezone: str,
        brief_time: str,
        next_brief_at: datetime | None,
        feed_ids: Sequence[int] | None,
        created_by: int | None,
        now: datetime,
        every: str = "daily",
        weekday: int | None = None,
        ping_role_id: int | None = None,
        channel_kind: str = "text",
    ) -> tuple[Subscription, bool]:
        """Create or reconfigure a channel. A new channel starts at the current watermark.

        A ping role given is set; None keeps the one the channel has (`set_ping` clears it).
        """
        async with self.sessions.begin() as s:
            sub = (
                await s.execute(select(Subscription).where(Subscription.channel_id == channel_id))
            ).scalar_one_or_none()
            created = sub is None
            if sub is None:
                top = (await s.execute(select(func.max(Story.id)))).scalar()
                sub = Subscription(
                    guild_id=guild_id,
                    channel_id=channel_id,
                    watermark=int(top or 0),
                    created_by=created_by,
                    created_at=now,
                )
                s.add(sub)
            sub.mode = mode
            sub.timezone = timezone
            sub.brief_time = brief_time
            sub.every = every
            sub.weekday = weekday
            sub.channel_kind = channel_kind
            if ping_role_id is not None:
                sub.ping_role_id = ping_role_id
            sub.next_brief_at = next_brief_at
            if sub.paused_reason is not None:
                await self._requeue_paused(s, channel_id, now)
            sub.paused_reason = None
            sub.paused_at = None
            sub.updated_at = now
            if feed_ids is not None:
                sub.all_sources = False
                sub.feeds = [SubscriptionFeed(feed_id=f) for f in dict.fromkeys(feed_ids)]
            elif created:
                sub.all_sources = True
            await s.flush()
            return sub, created

    async def set_ping(self, channel_id: int, role_id: int | None, now: datetime) -> bool:
        """Set or clear (None) the role a channel's briefs mention; False if no such channel."""
        async with self.sessions.begin() as s:
            result = await s.execute(
                update(Subscription)
                .where(Subscription.channel_id == channel_id)
                .values(ping_role_id=role_id, updated_at=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def role_deleted(self, role_id: int, now: datetime) -> int:
        """A deleted role pings nobody: clear it wherever it was set; returns channels."""
        async with self.sessions.begin() as s:
            result = await s.execute(
                update(Subscription)
                .where(Subscription.ping_role_id == role_id)
                .values(ping_role_id=None, updated_at=now)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def remove(self, channel_id: int) -> bool:
        return await self.channel_deleted(channel_id)

    async def set_sources(
        self, channel_id: int, *, all_sources: bool, feed_ids: Sequence[int], now: datetime
    ) -> None:
        async with self.sessions.begin() as s:
            sub = (
                await s.execute(select(Subscription).where(Subscription.channel_id == channel_id))
            ).scalar_one()
            sub.all_sources = all_sources
            sub.feeds = [SubscriptionFeed(feed_id=f) for f in dict.fromkeys(feed_ids)]
            sub.updated_at = now

    async def set_filter(self, channel_id: int, kind: str, keyword: str | None) -> None:
        """Add a keyword (kind include/exclude), or clear all filters when keyword is None."""
        async with self.sessions.begin() as s:
            sub_id = (
                await s.execute(
                    select(Subscription.id).where(Subscription.channel_id == channel_id)
                )
            ).scalar_one()
            if keyword is None:
                await s.execute(
                    delete(SubscriptionFilter).where(SubscriptionFilter.subscription_id == sub_id)
                )
                return
            present = await s.get(SubscriptionFilter, (sub_id, kind, keyword))
            if present is None:
                s.add(SubscriptionFilter(subscription_id=sub_id, kind=kind, keyword=keyword))

    async def pause(self, channel_id: int, reason: str, now: datetime) -> bool:
        """Pause once; returns True only for the call that actually paused it."""
        async with self.sessions.begin() as s:
            result = await s.execute(
                update(Subscription)
                .where(Subscription.channel_id == channel_id, Subscription.paused_reason.is_(None))
                .values(paused_reason=reason[:500], paused_at=now, updated_at=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    @staticmethod
    async def _requeue_paused(s: AsyncSession, channel_id: int, now: datetime) -> None:
        """Deliveries parked by a 403/404 go out once the channel works again."""
        await s.execute(
            update(Delivery)
            .where(Delivery.channel_id == channel_id, Delivery.status == "paused")
            .values(
                status="pending",
                attempts=0,
                next_attempt_at=now,
                lease_owner=None,
                lease_until=None,
            )
        )

    async def resume(self, channel_id: int, now: datetime) -> None:
        async with self.sessions.begin() as s:
            await self._requeue_paused(s, channel_id, now)
            await s.execute(
                update(Subscription)
                .where(Subscription.channel_id == channel_id)
                .values(paused_reason=None, paused_at=None, updated_at=now)
            )

    async def due(self, now: datetime, limit: int = 500) -> list[Subscription]:
        """Daily channels whose time has come, and realtime channels with something new."""
        newer = exists().where(Story.id > Subscription.watermark)
        async with self.sessions() as s:
            rows = await s.execute(
                select(Subscription)
                .where(
                    Subscription.paused_reason.is_(None),
                    or_(
                        and_(Subscription.mode == "brief", Subscription.next_brief_at <= now),
                        and_(Subscription.mode == "realtime", newer),
                    ),
                )
                .order_by(Subscription.next_brief_at, Subscription.id)
                .limit(limit)
            )
            return list(rows.scalars())

    async def max_story_id(self) -> int:
        """The newest story id such that every lower id is committed (see bot.storage.locks)."""
        async with self.sessions.begin() as s:
            await story_writes_barrier(s)
            return int((await s.execute(select(func.max(Story.id)))).scalar() or 0)

    def _visible(self, sub: Subscription) -> Any:
        """Stories this channel may get: any linked feed it chose, or the catalog for 'all'."""
        chosen = exists().where(
            StoryKey.story_id == Story.id,
            StoryKey.feed_id == SubscriptionFeed.feed_id,
            SubscriptionFeed.subscription_id == sub.id,
        )
        if not sub.all_sources:
            return chosen
        # An alias: the outer query joins Feed (the story's first feed), and an EXISTS over the
        # same entity would silently correlate to it and only ever look at that one feed.
        linked = aliased(Feed)
        catalog = exists().where(
            StoryKey.story_id == Story.id,
            StoryKey.feed_id == linked.id,
            linked.origin.in_(SHARED),
        )
        return or_(catalog, chosen)

    async def pending_stories(
        self, sub: Subscription, *, upto: int | None = None, limit: int = 1000
    ) -> list[StoryView]:
        """Stories stored after the watermark (insertion order), up to `upto`, oldest first."""
        conditions = [Story.id > sub.watermark, Story.backfill.is_(False), self._visible(sub)]
        if upto is not None:
            conditions.append(Story.id <= upto)
        async with self.sessions() as s:
            rows = (
                await s.execute(
                    select(Story, Feed, StorySummary.data)
                    .join(Feed, Feed.id == Story.feed_id)
                    .outerjoin(
                        StorySummary,
                        and_(
                            StorySummary.story_id == Story.id,
                            StorySummary.content_hash == Story.content_hash,
                        ),
                    )
                    .where(*conditions)
                    .order_by(Story.id)
                    .limit(limit)
                )
            ).all()
            chosen = {f.feed_id for f in sub.feeds}

            def mine(feed: Feed) -> bool:
                return feed.id in chosen or (sub.all_sources and feed.origin in SHARED)

            # A story is one story across feeds; the feed that stored it first may be another
            # server's private feed. Label it with a feed this channel actually follows.
            relabel = [story.id for story, feed, _ in rows if not mine(feed)]
            better: dict[int, Feed] = {}
            if relabel:
                linked = await s.execute(
                    select(StoryKey.story_id, Feed)
                    .join(Feed, Feed.id == StoryKey.feed_id)
                    .where(StoryKey.story_id.in_(relabel))
                    .order_by(Feed.id)
                )
                for story_id, feed in linked.all():
                    if story_id is not None and mine(feed) and story_id not in better:
                        better[story_id] = feed
            views = []
            for story, feed, digest in rows:
                label = better.get(story.id, feed)
                views.append(_view(story, label.key, label.title, label.color, digest))
            return views

    async def pending_for_many(
        self, subs: Sequence[Subscription], *, upto: int, limit: int = 1000
    ) -> dict[int, list[StoryView]]:
        """``pending_stories`` of many channels from one read; a channel missing from the
        answer needs its own (see bot.storage.pending_batch)."""
        async with self.sessions() as s:
            return await pending_for_many(s, subs, upto=upto, limit=limit)

    async def count_pending(self, sub: Subscription) -> int:
        async with self.sessions() as s:
            return int(
                (
                    await s.execute(
                        select(func.count())
                        .select_from(Story)
                        .where(
                            Story.id > sub.watermark, Story.backfill.is_(False), self._visible(sub)
                        )
                    )
                ).scalar()
                or 0
            )

    async def reschedule(self, sub_id: int, next_brief_at: datetime, now: datetime) -> None:
        async with self.sessions.begin() as s:
            await s.execute(
                update(Subscription)
                .where(Subscription.id == sub_id)
                .values(next_brief_at=next_brief_at, updated_at=now)
            )


@dataclass(frozen=True, slots=True)
class FeedRow:
    id: int
    key: str
    title: str
    origin: str
    url: str
    last_error: str | None
    error_count: int
    next_check_at: datetime
    gone: bool


async def feeds_visible_to(
    sessions: async_sessionmaker[AsyncSession], guild_id: int | None
) -> list[FeedRow]:
    """Shared feeds plus the feeds this guild follows, ordered by key."""
    async with sessions() as s:
        query = select(Feed).where(Feed.active.is_(True), visible_feed(guild_id))
        rows = await s.execute(query.order_by(Feed.key))
        return [
            FeedRow(
                id=f.id,
                key=f.key,
                title=f.title,
                origin=f.origin,
                url=f.url,
                last_error=f.last_error,
                error_count=f.error_count,
                next_check_at=f.next_check_at,
                gone=f.gone,
            )
            for f in rows.scalars()
        ]


async def recent_stories(
    sessions: async_sessionmaker[AsyncSession],
    *,
    since: datetime,
    source_keys: Sequence[str] = (),
    limit: int = 2000,
) -> list[StoryView]:
    """Stories first stored since `since` (any stored feed, or only `source_keys`)."""
    query = (
        select(Story, Feed.key, Feed.title, Feed.color, StorySummary.data)
        .join(Feed, Feed.id == Story.feed_id)
        .outerjoin(
            StorySummary,
            and_(
                StorySummary.story_id == Story.id, StorySummary.content_hash == Story.content_hash
            ),
        )
        .where(Story.first_seen_at >= since)
        .order_by(Story.id)
        .limit(limit)
    )
    if source_keys:
        query = query.where(Feed.key.in_(list(source_keys)))
    async with sessions() as s:
        rows = await s.execute(query)
        return [
            _view(story, key, title, color, digest)
            for story, key, title, color, digest in rows.all()
        ]
