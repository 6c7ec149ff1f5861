"""SQL for feeds: catalog sync, custom/OPML feeds, leasing due feeds, recording fetch outcomes.

Leasing is one UPDATE statement on both backends::

    UPDATE feeds SET lease_owner = :me, lease_until = :until
    WHERE id IN (SELECT id FROM feeds WHERE <due> ORDER BY next_check_at LIMIT :n
                 FOR UPDATE SKIP LOCKED)          -- PostgreSQL only
      AND <lease free or expired>                 -- re-checked on the row being updated
    RETURNING ...

PostgreSQL: SKIP LOCKED lets concurrent workers take disjoint batches without waiting.
SQLite: the statement takes the write lock before it reads, so two workers are serialised and
the second one's lease re-check sees the first one's lease. Either way a feed is never handed
to two workers at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    Update,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.ingest.types import FeedArchive, FeedRow, FeedState, NewFeed
from bot.core.models import CatalogFeed
from bot.storage.feed_links import drop_links, followed_by
from bot.storage.models import Feed, FeedLink, Story, StoryKey

log = logging.getLogger(__name__)

ORIGINS = ("catalog", "custom", "opml")
# Story key kinds a feed can lose for good (Feed.unusable_key_kinds; hash keys always work).
KEY_KINDS = ("guid", "link")


def decode_key_kinds(value: str | None) -> frozenset[str]:
    """``Feed.unusable_key_kinds`` as a set (unknown names are ignored)."""
    return frozenset(k for k in (value or "").split(",") if k in KEY_KINDS)


def encode_key_kinds(kinds: frozenset[str]) -> str:
    return ",".join(k for k in KEY_KINDS if k in kinds)


def _row(f: Feed) -> FeedRow:
    return FeedRow(
        id=f.id,
        key=f.key,
        url=f.url,
        title=f.title,
        site_url=f.site_url,
        language=f.language,
        origin=f.origin,
        added_by_guild_id=f.added_by_guild_id,
        active=f.active,
        etag=f.etag,
        last_modified=f.last_modified,
        body_hash=f.body_hash,
        next_check_at=f.next_check_at,
        last_checked_at=f.last_checked_at,
        last_success_at=f.last_success_at,
        last_status=f.last_status,
        error_count=f.error_count,
        last_error=f.last_error,
        gone=f.gone,
        unusable_key_kinds=decode_key_kinds(f.unusable_key_kinds),
        final_url=f.final_url,
    )


@dataclass(frozen=True, slots=True)
class CatalogSync:
    added: int
    updated: int
    deactivated: int


class DuplicateFeedError(Exception):
    """The URL or key is already taken (carries the existing row when it is known)."""

    def __init__(self, existing: FeedRow | None) -> None:
        self.existing = existing
        super().__init__("feed already exists")


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else value


class FeedsRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    # -- catalog and user feeds ---------------------------------------------------------------

    async def sync_catalog(self, catalog: Sequence[CatalogFeed], now: datetime) -> CatalogSync:
        """Upsert the catalog as origin "catalog"; catalog feeds no longer listed stop.

        A catalog entry whose URL a guild had already added as a custom feed takes that row
        over (its stories and keys stay; it just becomes trusted and visible to everyone).
        A custom or OPML feed that merely holds the entry's key (its name slugged to the same
        word) keeps its URL and stories and moves to a spare key instead: the catalog's keys
        are fixed by the catalog file, and another server's feed must never turn into it.
        """
        added = updated = 0
        catalog_keys = {c.key for c in catalog}
        async with self.sessions.begin() as s:
            keyed = await s.scalars(select(Feed).where(Feed.key.in_([c.key for c in catalog])))
            by_key = {f.key: f for f in keyed}
            urled = await s.scalars(select(Feed).where(Feed.url.in_([c.feed_url for c in catalog])))
            by_url = {f.url: f for f in urled}
            for entry in catalog:
                holder = by_key.get(entry.key)
                if (
                    holder is not None
                    and holder.origin != "catalog"
                    and holder.url != entry.feed_url
                ):
                    spare = await _spare_key(s, entry.key, catalog_keys)
                    log.warning(
                        "feed %r moves to key %r: the catalog now uses its key for %s",
                        holder.key,
                        spare,
                        entry.feed_url,
                    )
                    holder.key = spare
                    await s.flush()
                    holder = None
                feed = holder or by_url.get(entry.feed_url)
                values: dict[str, Any] = {
                    "key": entry.key,
                    "url": entry.feed_url,
                    "title": entry.name[:300],
                    "site_url": entry.site_url,
                    "language": entry.language[:16],
                    "color": entry.color,
                    "origin": "catalog",
                    "active": True,
                }
                if feed is None:
                    s.add(
                        Feed(
                            **values,
                            created_at=now,
                            next_check_at=now,
                            error_count=0,
                            gone=False,
                            added_by_guild_id=None,
                        )
                    )
                    added += 1
                    continue
                if feed.url != entry.feed_url:
                    # A new URL is a new feed to the server: old validators would be wrong.
                    values.update(
                        etag=None, last_modified=None, body_hash=None, gone=False, next_check_at=now
                    )
                changed = {k: v for k, v in values.items() if getattr(feed, k) != v}
                if changed:
                    for k, v in changed.items():
                        setattr(feed, k, v)
                    updated += 1
                await s.flush()  # key/url swaps between rows must not collide at commit
            keys = [c.key for c in catalog]
            dropped = await s.execute(
                update(Feed)
                .where(Feed.origin == "catalog", Feed.active.is_(True), Feed.key.not_in(keys))
                .values(active=False)
            )
        return CatalogSync(added, updated, int(dropped.rowcount or 0))  # type: ignore[attr-defined]

    async def add(self, feed: NewFeed, now: datetime, *, state: FeedState | None = None) -> FeedRow:
        """Insert a feed (custom/OPML); DuplicateFeedError when its URL or key is taken."""
        values: dict[str, Any] = {
            "key": feed.key,
            "url": feed.url,
            "title": (feed.title or feed.key)[:300],
            "site_url": feed.site_url if feed.site_url and len(feed.site_url) <= 2048 else None,
            "language": _clip(feed.language, 16),
            "color": feed.color,
            "origin": feed.origin,
            "added_by_guild_id": feed.added_by_guild_id,
            "active": True,
            "created_at": now,
            "next_check_at": now,
            "error_count": 0,
            "gone": False,
        }
        if state is not None:
            values.update(_state_values(state))
            values["lease_owner"] = None
        try:
            async with self.sessions.begin() as s:
                row = Feed(**values)
                s.add(row)
                await s.flush()
                if feed.added_by_guild_id is not None:
                    s.add(FeedLink(feed_id=row.id, guild_id=feed.added_by_guild_id, created_at=now))
                return _row(row)
        except IntegrityError:
            existing = await self.by_url(feed.url) or await self.by_key(feed.key)
            raise DuplicateFeedError(existing) from None

    async def by_key(self, key: str) -> FeedRow | None:
        async with self.sessions() as s:
            feed = (await s.scalars(select(Feed).where(Feed.key == key))).first()
            return _row(feed) if feed else None

    async def by_url(self, url: str) -> FeedRow | None:
        async with self.sessions() as s:
            feed = (await s.scalars(select(Feed).where(Feed.url == url))).first()
            return _row(feed) if feed else None

    async def by_urls(self, urls: Sequence[str]) -> FeedRow | None:
        """The feed one of ``urls`` names, as its URL or as where it was last seen to lead
        (``final_url``); a feed whose own URL matches wins over a redirect match."""
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return None
        async with self.sessions() as s:
            rows = list(
                await s.scalars(
                    select(Feed)
                    .where(or_(Feed.url.in_(wanted), Feed.final_url.in_(wanted)))
                    .order_by(Feed.id)
                )
            )
        pos = {url: i for i, url in enumerate(wanted)}

        def rank(f: Feed) -> tuple[int, int]:
            if f.url in pos:
                return 0, pos[f.url]
            return 1, pos.get(f.final_url or "", len(pos))

        best = min(rows, key=rank, default=None)
        return _row(best) if best else None

    async def by_id(self, feed_id: int) -> FeedRow | None:
        async with self.sessions() as s:
            feed = await s.get(Feed, feed_id)
            return _row(feed) if feed else None

    async def keys_like(self, prefix: str) -> set[str]:
        async with self.sessions() as s:
            rows = await s.scalars(select(Feed.key).where(Feed.key.startswith(prefix)))
            return set(rows)

    async def list_feeds(
        self,
        *,
        guild_id: int | None = None,
        origins: Sequence[str] = ORIGINS,
        active_only: bool = True,
    ) -> list[FeedRow]:
        """Feeds of these origins (and, when given, that this guild follows), ordered by key."""
        conditions: list[ColumnElement[bool]] = [Feed.origin.in_(list(origins))]
        if guild_id is not None:
            conditions.append(followed_by(guild_id))
        if active_only:
            conditions.append(Feed.active.is_(True))
        async with self.sessions() as s:
            rows = await s.scalars(select(Feed).where(*conditions).order_by(Feed.key))
            return [_row(f) for f in rows]

    async def count_for_guild(self, guild_id: int) -> int:
        """How many feeds this guild follows (what its cap counts)."""
        async with self.sessions() as s:
            n = await s.scalar(
                select(func.count()).select_from(FeedLink).where(FeedLink.guild_id == guild_id)
            )
            return int(n or 0)

    async def follows(self, feed_id: int, guild_id: int) -> bool:
        async with self.sessions() as s:
            found = await s.get(FeedLink, (feed_id, guild_id))
            return found is not None

    async def followers(self, feed_id: int) -> int:
        """How many servers follow the feed."""
        async with self.sessions() as s:
            n = await s.scalar(
                select(func.count()).select_from(FeedLink).where(FeedLink.feed_id == feed_id)
            )
            return int(n or 0)

    async def archive(self, feed_id: int) -> FeedArchive:
        """How many stories the feed carries (its own and those it links to) and the newest."""
        carried = select(StoryKey.story_id).where(
            StoryKey.feed_id == feed_id, StoryKey.story_id.is_not(None)
        )
        async with self.sessions() as s:
            n = await s.scalar(select(func.count()).select_from(carried.subquery()))
            latest = (
                await s.execute(
                    select(Story.title, Story.url, Story.canonical_url)
                    .where(Story.id.in_(carried))
                    .order_by(Story.published_at.desc(), Story.id.desc())
                    .limit(1)
                )
            ).first()
        if latest is None:
            return FeedArchive(int(n or 0), None, None)
        return FeedArchive(int(n or 0), latest[0], latest[1] or latest[2])

    async def link(self, feed_id: int, guild_id: int, now: datetime) -> bool:
        """This guild follows the feed from now on; False when it already did."""
        try:
            async with self.sessions.begin() as s:
                s.add(FeedLink(feed_id=feed_id, guild_id=guild_id, created_at=now))
        except IntegrityError:
            return False
        return True

    async def unlink(self, feed_id: int, guild_id: int) -> bool:
        """This guild stops following the feed (see :func:`drop_links`); False when it did
        not follow it."""
        async with self.sessions.begin() as s:
            return bool(await drop_links(s, guild_id, [feed_id]))

    async def reactivate(self, feed_id: int, now: datetime) -> None:
        async with self.sessions.begin() as s:
            await s.execute(
                update(Feed)
                .where(Feed.id == feed_id)
                .values(active=True, gone=False, next_check_at=now, error_count=0)
            )

    async def rename(self, feed_id: int, title: str) -> None:
        """Change the name a feed is shown by; its key (used in filters) stays."""
        async with self.sessions.begin() as s:
            await s.execute(update(Feed).where(Feed.id == feed_id).values(title=title))

    # -- leasing ------------------------------------------------------------------------------

    async def lease_due(
        self,
        owner: str,
        now: datetime,
        *,
        lease_for: timedelta,
        limit: int | None = 500,
        force: bool = False,
        feed_ids: Sequence[int] | None = None,
    ) -> list[FeedRow]:
        """Atomically lease up to ``limit`` due feeds (``force``: every active, non-gone feed;
        ``feed_ids``: just these, due or not)."""
        free = or_(Feed.lease_until.is_(None), Feed.lease_until < now)
        wanted: list[ColumnElement[bool]] = [Feed.active.is_(True), Feed.gone.is_(False), free]
        if feed_ids is not None:
            wanted.append(Feed.id.in_(list(feed_ids)))
        elif not force:
            wanted.append(Feed.next_check_at <= now)
        pick = select(Feed.id).where(*wanted).order_by(Feed.next_check_at, Feed.id)
        if limit is not None:
            pick = pick.limit(limit)
        pick = pick.with_for_update(skip_locked=True)  # rendered on PostgreSQL only
        stmt = (
            update(Feed)
            .where(Feed.id.in_(pick.scalar_subquery()), free)
            .values(lease_owner=owner, lease_until=now + lease_for)
            .returning(Feed)
            .execution_options(synchronize_session=False)
        )
        async with self.sessions.begin() as s:
            rows = list(await s.scalars(stmt))
        rows.sort(key=lambda f: (f.next_check_at, f.id))
        return [_row(f) for f in rows]

    async def release(self, owner: str, feed_ids: Sequence[int]) -> None:
        """Give back leases of feeds that were not processed (shutdown mid-cycle)."""
        if not feed_ids:
            return
        async with self.sessions.begin() as s:
            await s.execute(
                update(Feed)
                .where(Feed.id.in_(list(feed_ids)), Feed.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    async def record(self, states: Sequence[FeedState]) -> None:
        """Write fetch outcomes and release their leases, all in one transaction.

        States that set the same columns the same way share one executemany UPDATE: a poll
        cycle records hundreds of feeds at a time, and building and running a statement per
        feed cost more than everything else the warm cycle does."""
        if not states:
            return
        groups: dict[tuple[tuple[str, ...], bool, frozenset[str]], list[dict[str, Any]]] = {}
        for state in states:
            values = _state_values(state)
            kinds = frozenset(state.unusable_key_kinds) if "unusable_key_kinds" in values else None
            values.pop("unusable_key_kinds", None)
            shape = (tuple(sorted(values)), state.count_error, kinds or frozenset())
            params = {_BIND + name: value for name, value in values.items()}
            params[_BIND + "id"] = state.feed_id
            groups.setdefault(shape, []).append(params)
        async with self.sessions.begin() as s:
            for (names, count_error, kinds), rows in groups.items():
                await s.execute(_record_statement(names, count_error, kinds), rows)

    async def recent_post_counts(self, feed_ids: Sequence[int], since: datetime) -> dict[int, int]:
        """Stories per feed published after ``since`` (for the schedule after a 304)."""
        if not feed_ids:
            return {}
        async with self.sessions() as s:
            rows = await s.execute(
                select(StoryKey.feed_id, func.count())
                .join(Story, Story.id == StoryKey.story_id)
                .where(StoryKey.feed_id.in_(list(feed_ids)), Story.published_at > since)
                .group_by(StoryKey.feed_id)
            )
            return {int(fid): int(n) for fid, n in rows.all()}


_FEEDS = cast(Table, Feed.__table__)
# Bound parameter names of ``record``: SQLAlchemy reserves the column names themselves.
_BIND = "new_"


async def _spare_key(s: AsyncSession, base: str, reserved: set[str]) -> str:
    """``base-N`` free in the database and among ``reserved``, within the 32-character limit."""
    taken = set(await s.scalars(select(Feed.key).where(Feed.key.startswith(base[:27]))))
    for n in range(2, 10_000):
        suffix = f"-{n}"
        key = base[: 32 - len(suffix)].rstrip("-") + suffix
        if key not in taken and key not in reserved:
            return key
    raise RuntimeError(f"no spare key left for {base!r}")


def _record_statement(names: tuple[str, ...], count_error: bool, kinds: frozenset[str]) -> Update:
    """UPDATE feeds SET <names from parameters> [, error_count + 1] [, kinds added]
    WHERE id = :new_id, releasing the lease: one statement for many feeds."""
    assignments: dict[str, Any] = {
        name: bindparam(_BIND + name, type_=_FEEDS.c[name].type) for name in names
    }
    if count_error:
        assignments["error_count"] = _FEEDS.c.error_count + 1
    if kinds:
        assignments["unusable_key_kinds"] = _union_key_kinds(kinds)
    assignments.update(lease_owner=None, lease_until=None)
    return (
        update(_FEEDS)
        .where(_FEEDS.c.id == bindparam(_BIND + "id", type_=_FEEDS.c.id.type))
        .values(assignments)
    )


def _state_values(state: FeedState) -> dict[str, Any]:
    values: dict[str, Any] = {
        "last_checked_at": state.checked_at,
        "next_check_at": state.next_check_at,
        "last_status": state.status,
    }
    if state.ok:
        values.update(last_success_at=state.checked_at, error_count=0, last_error=None)
    elif state.error is not None:
        values["last_error"] = state.error[:2000]
    if state.validators:
        values.update(
            etag=_clip(state.etag, 512),
            last_modified=_clip(state.last_modified, 128),
            body_hash=state.body_hash,
        )
    if state.gone:
        values["gone"] = True
    if state.title:
        values["title"] = state.title[:300]
    if state.final_url and len(state.final_url) <= 2048:
        values["final_url"] = state.final_url
    kinds = state.unusable_key_kinds & frozenset(KEY_KINDS)
    if kinds:
        values["unusable_key_kinds"] = encode_key_kinds(kinds)
    return values


def _has_kind(kind: str) -> ColumnElement[bool]:
    padded = literal(",") + Feed.unusable_key_kinds + literal(",")
    return padded.like(f"%,{kind},%")


def _union_key_kinds(add: frozenset[str]) -> ColumnElement[str]:
    """The stored set plus ``add``, computed by the UPDATE itself: a kind is never dropped,
    whatever was written since the feed was read."""
    missing = [k for k in KEY_KINDS if k not in add]
    if not missing:
        return literal(encode_key_kinds(add))
    # One branch per subset of the kinds not added that may already be stored, largest first.
    whens = [
        (and_(*(_has_kind(k) for k in kept)), literal(encode_key_kinds(add | set(kept))))
        for size in range(len(missing), 0, -1)
        for kept in combinations(missing, size)
    ]
    return case(*whens, else_=literal(encode_key_kinds(add)))


__all__ = [
    "KEY_KINDS",
    "CatalogSync",
    "DuplicateFeedError",
    "FeedRow",
    "FeedState",
    "FeedsRepository",
    "NewFeed",
    "decode_key_kinds",
    "encode_key_kinds",
]
