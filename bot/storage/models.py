"""The database schema as typed SQLAlchemy 2 models (Alembic migrations mirror it exactly).

Design notes (why, not what):
- ``stories.id`` grows with insertion, so it *is* the watermark: a brief holds the stories
  whose id is above the channel's watermark, however their publish dates lie.
- ``story_keys`` is the per-feed "seen" table; rows are never deleted. When a story's content
  is pruned its key stays with ``story_id`` NULL (a tombstone), so a reappearing old item is
  recognised and never re-posted.
- ``deliveries`` is the outbox: unique on (channel_id, dedupe_key) and written before any send.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, relationship

from bot.storage.types import BigIntId, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    site_url: Mapped[str | None] = mapped_column(String(2048))
    language: Mapped[str | None] = mapped_column(String(16))
    color: Mapped[int | None] = mapped_column(Integer)
    # "catalog" feeds are trusted; "custom"/"opml" ones always go through the SSRF guard.
    origin: Mapped[str] = mapped_column(String(16), default="catalog")
    # The server that added it first: history only. Who follows a feed (and so who may see
    # it) is ``feed_links``.
    added_by_guild_id: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # Where the URL led on the last good fetch (redirects followed): a second spelling of the
    # same feed is recognised by it.
    final_url: Mapped[str | None] = mapped_column(String(2048), index=True)

    # fetch state
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    next_check_at: Mapped[datetime] = mapped_column(index=True)
    last_checked_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    gone: Mapped[bool] = mapped_column(Boolean, default=False)  # 410: polling stopped
    # Story key kinds ("guid", "link"; comma-separated, sorted) a document of this feed ever
    # repeated: never used for its keys again, so keys do not flip between fetches
    # (invariant 1). Only ever grows.
    unusable_key_kinds: Mapped[str] = mapped_column(String(16), default="", server_default="")
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]


class FeedLink(Base):
    """A server follows a feed. Many servers share one feed row, fetched once per cycle."""

    __tablename__ = "feed_links"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_feed_links_guild_id", "guild_id"),)


class Story(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    canonical_url: Mapped[str | None] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    content_text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(300))
    image_url: Mapped[str | None] = mapped_column(String(2048))
    language: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime]
    first_seen_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    content_hash: Mapped[str] = mapped_column(String(64))
    # Stored from a feed's very first fetch: archived and searchable, never announced
    # (invariant 3, no backfill flood when a feed is added).
    backfill: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Search text kept by the repository (CJK segmented the same way on both backends).
    search_title: Mapped[str] = mapped_column(Text, default="")
    search_body: Mapped[str] = mapped_column(Text, default="")
    # Podcasts and videos (migration 0009): 'article' | 'podcast' | 'video', the episode's
    # length when the feed gives it, and its play link (enclosure or watch page).
    kind: Mapped[str] = mapped_column(String(16), default="article", server_default="article")
    duration_s: Mapped[int | None] = mapped_column(Integer)
    media_url: Mapped[str | None] = mapped_column(String(2048))

    tags: Mapped[list[StoryTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )

    # AUTOINCREMENT: SQLite would otherwise hand the id of a deleted newest story out again,
    # and a channel whose watermark had passed it would never see the new story.
    __table_args__ = (
        # With the id: search bounds a date range's ids from the index alone.
        Index("ix_stories_published_at_id", "published_at", "id"),
        # With the id: search tells a feed's own stories from the ones it only links to,
        # from the index alone (PostgreSQL; SQLite's indexes carry the rowid anyway).
        Index("ix_stories_feed_id_id", "feed_id", "id"),
        {"sqlite_autoincrement": True},
    )


class StoryTag(Base):
    __tablename__ = "story_tags"

    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)

    __table_args__ = (Index("ix_story_tags_tag", "tag"),)


class StoryKey(Base):
    """Per-feed story identity, never deleted (tombstone when story_id is NULL)."""

    __tablename__ = "story_keys"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    story_id: Mapped[int | None] = mapped_column(
        ForeignKey("stories.id", ondelete="SET NULL"), index=True
    )
    first_seen_at: Mapped[datetime]


class StorySummary(Base):
    """A summary per story and content hash, so it is computed (or paid for) once."""

    __tablename__ = "story_summaries"

    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    method: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class LlmCache(Base):
    """LLM results by content hash and model: a restart never pays twice."""

    __tablename__ = "llm_cache"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class DailyBudget(Base):
    """Counters that reset each UTC day (LLM tokens, teaser page fetches)."""

    __tablename__ = "daily_budgets"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger, default=0)


class Guild(Base):
    __tablename__ = "guilds"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100), default="")
    system_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    # Discord's preferred_locale ("ko", "ja", "en-US"...), recorded at setup and GUILD_CREATE:
    # briefs are planned by senders that may have no gateway to ask (migration 0012).
    locale: Mapped[str | None] = mapped_column(String(16))
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]


class Subscription(Base):
    """One configured channel: how and when it gets stories."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(ForeignKey("guilds.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    mode: Mapped[str] = mapped_column(String(16), default="brief")  # brief | realtime
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    brief_time: Mapped[str] = mapped_column(String(5), default="09:00")
    # daily | weekdays | weekly; weekday (0 = Monday) only for weekly (migration 0007)
    every: Mapped[str] = mapped_column(String(8), default="daily", server_default="daily")
    weekday: Mapped[int | None] = mapped_column(SmallInteger)
    # The role a brief's header mentions (None: nobody); text | forum (migration 0010)
    ping_role_id: Mapped[int | None] = mapped_column(BigInteger)
    channel_kind: Mapped[str] = mapped_column(String(8), default="text", server_default="text")
    all_sources: Mapped[bool] = mapped_column(Boolean, default=True)
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)
    next_brief_at: Mapped[datetime | None] = mapped_column(index=True)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    # The guild's language, read with every subscription (one correlated subquery), so
    # planning renders each brief in it without another round trip.
    guild_locale: Mapped[str | None] = column_property(
        select(Guild.locale).where(Guild.id == guild_id).correlate_except(Guild).scalar_subquery()
    )

    feeds: Mapped[list[SubscriptionFeed]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )
    filters: Mapped[list[SubscriptionFilter]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )


class SubscriptionFeed(Base):
    __tablename__ = "subscription_feeds"

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SubscriptionFilter(Base):
    __tablename__ = "subscription_filters"

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # include | exclude
    keyword: Mapped[str] = mapped_column(String(100), primary_key=True)


class Delivery(Base):
    """The outbox: a row exists before its message is sent; unique per channel and payload."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL"), index=True
    )
    channel_id: Mapped[int] = mapped_column(BigInteger)
    dedupe_key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # brief | story | notice
    story_from: Mapped[int | None] = mapped_column(BigInteger)  # watermark range (from, to]
    story_to: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # messages already sent
    message_ids: Mapped[list[str]] = mapped_column(default=list)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    # A forum post was asked for at this time; with no thread_id yet, a retry looks it up.
    post_requested_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("channel_id", "dedupe_key"),)


class Bookmark(Base):
    __tablename__ = "bookmarks"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    # RESTRICT: a bookmarked story can never be pruned out from under its reader.
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="RESTRICT"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    tags: Mapped[list[BookmarkTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )

    __table_args__ = (
        UniqueConstraint("user_id", "story_id"),
        Index("ix_bookmarks_user_id_created_at", "user_id", "created_at"),
    )


class BookmarkTag(Base):
    __tablename__ = "bookmark_tags"

    bookmark_id: Mapped[int] = mapped_column(
        ForeignKey("bookmarks.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)


class Share(Base):
    """A story a reader shared into a channel with a comment (``/share``, migration 0011).

    Written *before* the message is posted (``message_id`` NULL until it is), so the per-user
    cooldown and the once-a-day-per-channel rule hold for two shares racing each other. The
    comment itself is not kept: it lives in the posted message, and the rules do not need it.
    """

    __tablename__ = "shares"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    # CASCADE: a share is history, not a reason to keep a story past its retention.
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    guild_id: Mapped[int] = mapped_column(BigInteger)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    shared_at: Mapped[datetime]

    __table_args__ = (
        # "Already shared here today?" reads this; it also serves the story's CASCADE.
        Index("ix_shares_story_id_channel_id_shared_at", "story_id", "channel_id", "shared_at"),
        # The per-user cooldown: the user's newest share.
        Index("ix_shares_user_id_shared_at", "user_id", "shared_at"),
    )
