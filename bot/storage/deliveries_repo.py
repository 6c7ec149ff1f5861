"""SQL for the delivery outbox: planned messages, leased to one sender, sent exactly once.

Exactly-once rests on two statements running in one transaction (``commit_plan``): the
watermark moves from the value the plan was built on (an optimistic check: a second process
that planned the same brief loses) and the outbox row, unique on (channel, dedupe key), is
written. Senders lease rows (``lease_deliveries``); every later write checks the lease is still
theirs, so a sender that lost it cannot mark another's work.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import case, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import Delivery, Subscription

T = TypeVar("T")
# Rows per statement: 13 columns each stays far below SQLite's and asyncpg's parameter caps.
STATEMENT_ROWS = 500
# Plans moving the same way, from this many on, get an UPDATE of their own (cheaper to
# build and run than their share of a CASE).
SAME_WAY = 8


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    dedupe_key: str
    kind: str
    payload: dict[str, Any]
    story_from: int | None = None
    story_to: int | None = None


@dataclass(frozen=True, slots=True)
class PlanCommit:
    """One channel's plan: move its watermark from expected to new, write these deliveries."""

    sub_id: int
    channel_id: int
    expected_watermark: int
    new_watermark: int
    next_brief_at: datetime | None
    deliveries: Sequence[PlannedDelivery]


def _outbox_row(plan: PlanCommit, d: PlannedDelivery, now: datetime) -> dict[str, Any]:
    return {
        "subscription_id": plan.sub_id,
        "channel_id": plan.channel_id,
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


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect_insert(session: AsyncSession, model: Any) -> Any:
    """INSERT with the backend's ON CONFLICT support (both speak it, with their own class)."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(model)
    return sqlite_insert(model)


def _by_id(values: dict[int, Any], column: Any, otherwise: Any = None) -> Any:
    """CASE subscriptions.id WHEN <id> THEN <value> ...: a per-row value in one statement.

    Typed with the column's type, which asyncpg's dialect renders as a cast (PostgreSQL
    cannot infer a THEN parameter's type on its own).
    """
    whens = {sub_id: literal(v, column.type) for sub_id, v in values.items()}
    return case(whens, value=Subscription.id, else_=otherwise)


async def _move_same_way(s: AsyncSession, plans: Sequence[PlanCommit], now: datetime) -> Any:
    """Compare-and-set plans that share expected watermark, new watermark and next time."""
    first = plans[0]
    values: dict[str, Any] = {"watermark": first.new_watermark, "updated_at": now}
    if first.next_brief_at is not None:
        values["next_brief_at"] = first.next_brief_at
    result = await s.execute(
        update(Subscription)
        .where(
            Subscription.id.in_([p.sub_id for p in plans]),
            Subscription.watermark == first.expected_watermark,
        )
        .values(**values)
        .returning(Subscription.id)
        .execution_options(synchronize_session=False)
    )
    return result.scalars()


async def _move_watermarks(s: AsyncSession, plans: Sequence[PlanCommit], now: datetime) -> Any:
    """Compare-and-set every plan's watermark (and next time) at once; the ids that moved."""
    expected = {p.sub_id: p.expected_watermark for p in plans}
    new = {p.sub_id: p.new_watermark for p in plans}
    values: dict[str, Any] = {"watermark": _by_id(new, Subscription.watermark)}
    nexts = {p.sub_id: p.next_brief_at for p in plans if p.next_brief_at is not None}
    if nexts:
        values["next_brief_at"] = _by_id(
            nexts, Subscription.next_brief_at, otherwise=Subscription.next_brief_at
        )
    values["updated_at"] = now
    result = await s.execute(
        update(Subscription)
        .where(
            Subscription.id.in_(list(expected)),
            Subscription.watermark == _by_id(expected, Subscription.watermark),
        )
        .values(**values)
        .returning(Subscription.id)
        .execution_options(synchronize_session=False)
    )
    return result.scalars()


class DeliveriesRepository:
    """The outbox: planned deliveries, their leases, progress and outcome."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

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
        plan = PlanCommit(
            sub_id, channel_id, expected_watermark, new_watermark, next_brief_at, deliveries
        )
        return (await self.commit_plans([plan], now))[0]

    async def commit_plans(self, plans: Sequence[PlanCommit], now: datetime) -> list[int | None]:
        """Many channels' plans in one transaction, with a few statements, not a few per plan.

        Each plan is still its own compare-and-set on the watermark: a plan another planner
        beat gets None and writes nothing, the others land and get how many of their
        deliveries were new. All or none of the transaction commits, so no watermark moves
        without its outbox rows. The watermark moves take a few UPDATEs however different
        the plans are: channels that chose their own sources rarely share watermarks, and
        one statement per channel was what made planning them slow.
        """
        groups: dict[tuple[int, int, datetime | None], list[PlanCommit]] = defaultdict(list)
        for plan in plans:
            groups[(plan.expected_watermark, plan.new_watermark, plan.next_brief_at)].append(plan)
        # Plans that move the same way (thousands of channels firing at 09:00 in one zone)
        # share a plain UPDATE; the odd ones go together, a CASE per column.
        alike = [g for g in groups.values() if len(g) >= SAME_WAY]
        odd = [p for g in groups.values() if len(g) < SAME_WAY for p in g]
        async with self.sessions.begin() as s:
            moved: set[int] = set()
            for group in alike:
                for same in _chunks(group, STATEMENT_ROWS):
                    moved.update(await _move_same_way(s, same, now))
            for odd_plans in _chunks(odd, STATEMENT_ROWS):
                moved.update(await _move_watermarks(s, odd_plans, now))
            rows = [
                _outbox_row(plan, d, now)
                for plan in plans
                if plan.sub_id in moved
                for d in plan.deliveries
            ]
            inserted: Counter[int] = Counter()
            for chunk in _chunks(rows, STATEMENT_ROWS):
                # A delivery already in the outbox (same channel and key) is the same
                # message: skip it, but still move the watermark and schedule, or the
                # channel sticks.
                # executemany: compiled once, sent in batches (insertmanyvalues) with RETURNING.
                result = await s.execute(
                    dialect_insert(s, Delivery.__table__)
                    .on_conflict_do_nothing(index_elements=["channel_id", "dedupe_key"])
                    .returning(Delivery.__table__.c.subscription_id),
                    list(chunk),
                )
                inserted.update(result.scalars())
        return [inserted[p.sub_id] if p.sub_id in moved else None for p in plans]

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

    async def mark_post_requested(self, delivery_id: int, *, owner: str, now: datetime) -> bool:
        """Record that a forum post is about to be created (before the request goes out), so
        a retry after a crash knows to look for it; False when the lease was lost."""
        async with self.sessions.begin() as s:
            row = await self._owned(s, delivery_id, owner)
            if row is None:
                return False
            row.post_requested_at = now
            return True

    async def threads_in_use(self, channel_id: int) -> set[int]:
        """Threads (forum posts) other deliveries to this channel already recorded."""
        async with self.sessions() as s:
            rows = await s.execute(
                select(Delivery.thread_id).where(
                    Delivery.channel_id == channel_id, Delivery.thread_id.is_not(None)
                )
            )
            return {int(t) for t in rows.scalars() if t is not None}

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
