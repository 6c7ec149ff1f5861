"""SQL for channels, their subscriptions and filters, and the delivery outbox.

Exactly-once rests on two statements running in one transaction: the watermark moves from the
value the plan was built on (an optimistic check: a second process that planned the same
brief loses) and the outbox row, unique on (channel, dedupe key), is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.core.briefs import StoryView
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

# Feeds every server may use: the catalog and what the operator imported (OPML). Feeds a
# server added with /feed add stay that server's own.
SHARED = ("catalog", "opml")


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    dedupe_key: str
    kind: str
    payload: dict[str, Any]
    story_from: int | None = None
    story_to: int | None = None


def dialect_insert(session: AsyncSession, model: type[Any]) -> Any:
    """INSERT with the backend's ON CONFLICT support (both speak it, with their own class)."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(model)
    return sqlite_insert(model)


class BriefRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    # -- guilds and channels -------------------------------------------------------------
    async def upsert_guild(
        self, guild_id: int, name: str, system_channel_id: int | None, now: datetime
    ) -> None:
        async with self.sessions.begin() as s:
            guild = await s.get(Guild, guild_id)
            if guild is None:
                s.add(
                    Guild(
                        id=guild_id,
                        name=name[:100],
                        system_channel_id=system_channel_id,
                        joined_at=now,
                    )
                )
            else:
                guild.name = name[:100]
                guild.system_channel_id = system_channel_id
                guild.left_at = None

    async def guild_left(self, guild_id: int, now: datetime) -> int:
        """The bot left (or was removed): its channels stop; returns subscriptions removed."""
        async with self.sessions.begin() as s:
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
    ) -> tuple[Subscription, bool]:
        """Create or reconfigure a channel. A new channel starts at the current watermark."""
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

    async def commit_plan(
        self,
        sub_id: int,
        *,
        expected_watermark: int,
        new_watermark: int,
        next_brief_at: datetime | None,
        deliveries: Sequence[PlannedDelivery],
        channel_id: int,
        now: datetime,
    ) -> int | None:
        """Advance the watermark and write the outbox atomically.

        Returns how many deliveries were new, or None when another planner moved first.
        """
        async with self.sessions.begin() as s:
            values: dict[str, Any] = {"watermark": new_watermark, "updated_at": now}
            if next_brief_at is not None:
                values["next_brief_at"] = next_brief_at
            moved = await s.execute(
                update(Subscription)
                .where(Subscription.id == sub_id, Subscription.watermark == expected_watermark)
                .values(**values)
            )
            if not moved.rowcount:  # type: ignore[attr-defined]
                await s.rollback()
                return None
            rows: list[dict[str, Any]] = [
                {
                    "subscription_id": sub_id,
                    "channel_id": channel_id,
                    "dedupe_key": d.dedupe_key,
                    "kind": d.kind,
                    "story_from": d.story_from,
                    "story_to": d.story_to,
                    "payload": d.payload,
                    "status": "pending",
                    "progress": 0,
                    "message_ids": [],
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                }
                for d in deliveries
            ]
            if not rows:
                return 0
            # A delivery already in the outbox (same channel and key) is the same message:
            # skip it, but still move the watermark and schedule, or the channel sticks.
            inserted = await s.execute(
                dialect_insert(s, Delivery)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["channel_id", "dedupe_key"])
            )
            return int(inserted.rowcount or 0)  # type: ignore[attr-defined]

    async def reschedule(self, sub_id: int, next_brief_at: datetime, now: datetime) -> None:
        async with self.sessions.begin() as s:
            await s.execute(
                update(Subscription)
                .where(Subscription.id == sub_id)
                .values(next_brief_at=next_brief_at, updated_at=now)
            )

    # -- outbox --------------------------------------------------------------------------
    async def lease_deliveries(
        self, now: datetime, owner: str, *, lease_seconds: float = 90, limit: int = 100
    ) -> list[Delivery]:
        """Claim sendable rows; a crashed sender's lease expires and another takes over.

        The claiming UPDATE repeats the "free" conditions, so when two senders picked the
        same ids (SQLite has no SKIP LOCKED) only one of them wins each row.
        """
        until = now + timedelta(seconds=lease_seconds)
        free = (
            Delivery.status == "pending",
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
        )
        claimable = select(Delivery.id).where(*free).order_by(Delivery.id).limit(limit)
        for _attempt in range(10):
            async with self.sessions.begin() as s:
                query = claimable
                if s.get_bind().dialect.name == "postgresql":
                    query = claimable.with_for_update(skip_locked=True)
                ids = list((await s.execute(query)).scalars())
                if not ids:
                    return []
                await s.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(ids), *free)
                    .values(lease_owner=owner, lease_until=until)
                )
                rows = await s.execute(
                    select(Delivery)
                    .where(
                        Delivery.id.in_(ids),
                        Delivery.lease_owner == owner,
                        Delivery.lease_until == until,
                    )
                    .order_by(Delivery.id)
                )
                won = list(rows.scalars())
            if won:
                return won
            # Every row we saw was taken by a concurrent sender: look again, others remain.
        return []

    async def _owned(self, s: AsyncSession, delivery_id: int, owner: str) -> Delivery | None:
        """The row, locked, if `owner` still holds its lease (else another sender took it)."""
        row = await s.get(Delivery, delivery_id, with_for_update=True)
        if row is None or row.lease_owner != owner:
            return None
        return row

    async def record_progress(
        self,
        delivery_id: int,
        *,
        owner: str,
        progress: int,
        message_id: int | None,
        lease_until: datetime,
        thread_id: int | None = None,
    ) -> bool:
        """Save how far a delivery got and renew its lease; False when the lease was lost."""
        async with self.sessions.begin() as s:
            row = await self._owned(s, delivery_id, owner)
            if row is None:
                return False
            row.progress = progress
            row.lease_until = lease_until
            if message_id is not None:
                row.message_ids = [*row.message_ids, str(message_id)]
            if thread_id is not None:
                row.thread_id = thread_id
            return True

    async def finish(
        self,
        delivery_id: int,
        status: str,
        now: datetime,
        error: str | None = None,
        *,
        owner: str,
    ) -> bool:
        async with self.sessions.begin() as s:
            row = await self._owned(s, delivery_id, owner)
            if row is None:
                return False
            row.status = status
            row.sent_at = now if status == "sent" else None
            row.last_error = error
            row.lease_owner = None
            row.lease_until = None
            return True

    async def retry_later(self, delivery_id: int, at: datetime, error: str, *, owner: str) -> bool:
        async with self.sessions.begin() as s:
            row = await self._owned(s, delivery_id, owner)
            if row is None:
                return False
            row.attempts += 1
            row.next_attempt_at = at
            row.last_error = error[:500]
            row.lease_owner = None
            row.lease_until = None
            return True

    async def deliveries_for(self, channel_id: int) -> list[Delivery]:
        async with self.sessions() as s:
            rows = await s.execute(
                select(Delivery).where(Delivery.channel_id == channel_id).order_by(Delivery.id)
            )
            return list(rows.scalars())

    async def outstanding(self) -> int:
        async with self.sessions() as s:
            return int(
                (
                    await s.execute(
                        select(func.count())
                        .select_from(Delivery)
                        .where(Delivery.status == "pending")
                    )
                ).scalar()
                or 0
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
    """Catalog feeds plus the custom feeds this guild added, ordered by key."""
    async with sessions() as s:
        query = select(Feed).where(Feed.active.is_(True))
        if guild_id is None:
            query = query.where(Feed.origin.in_(SHARED))
        else:
            query = query.where(or_(Feed.origin.in_(SHARED), Feed.added_by_guild_id == guild_id))
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


def _view(
    story: Story, key: str, title: str, color: int | None, digest: dict[str, Any] | None
) -> StoryView:
    return StoryView(
        id=story.id,
        source_key=key,
        source_name=title,
        source_color=color,
        title=story.title,
        url=story.url,
        author=story.author,
        published_at=story.published_at,
        summary=story.summary,
        image_url=story.image_url,
        tags=tuple(t.tag for t in story.tags),
        digest=digest,
    )
