"""SQL for story summaries, the LLM results cache and the daily budgets.

Every write here must be safe when two workers (tasks or processes) do it at the same time,
on SQLite and on PostgreSQL alike, so nothing is "select, then insert": writes are single
``INSERT ... ON CONFLICT`` statements, which both backends resolve atomically. A write is also
the *first* statement of its transaction where it can be: on SQLite in WAL mode a transaction
that has read and then tries to write fails at once (``SQLITE_BUSY_SNAPSHOT``) if another
connection committed in between, whereas one that starts with a write simply waits its turn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.summarize import Summary
from bot.storage.models import DailyBudget as DailyBudgetRow
from bot.storage.models import LlmCache, Story, StorySummary

log = logging.getLogger(__name__)

# Budget names (the ``daily_budgets.name`` column).
LLM_TOKENS = "llm_tokens"
TEASER_PAGES = "teaser_pages"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _insert(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT, the one that knows ON CONFLICT (the generic one does not).

    Typed ``Any`` because the two dialect classes share the ON CONFLICT methods by name only.
    """
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


def utc_day(moment: datetime) -> str:
    """The ``daily_budgets.day`` key: the UTC calendar day as YYYY-MM-DD."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given for a UTC day")
    day: date = moment.astimezone(UTC).date()
    return day.isoformat()


# -- LLM results cache -----------------------------------------------------------------------


class DbSummaryCache:
    """``SummaryCache`` on the ``llm_cache`` table: results survive restarts and are shared.

    ``put`` is an upsert rather than insert-or-ignore: concurrent puts of one key never error
    (both backends serialise them on the primary key), and a row that no longer validates (an
    older format, a hand edit) is replaced by the fresh result instead of shadowing it forever.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    async def get(self, content_hash: str, model: str) -> Summary | None:
        async with self._sessions() as s:
            data = (
                await s.execute(
                    select(LlmCache.data).where(
                        LlmCache.content_hash == content_hash, LlmCache.model == model
                    )
                )
            ).scalar_one_or_none()
        if data is None:
            return None
        try:
            if not isinstance(data, dict):
                raise ValueError("cached summary is not an object")
            return Summary.from_dict(data)
        except ValueError as exc:  # unreadable row: a miss, and the next put overwrites it
            log.warning("ignoring unreadable llm_cache row %s/%s: %s", content_hash, model, exc)
            return None

    async def put(self, content_hash: str, model: str, summary: Summary) -> None:
        async with self._sessions.begin() as s:
            ins = _insert(s, LlmCache).values(
                content_hash=content_hash,
                model=model,
                data=summary.to_dict(),
                created_at=self._clock(),
            )
            await s.execute(
                ins.on_conflict_do_update(
                    index_elements=["content_hash", "model"],
                    set_={"data": ins.excluded.data, "created_at": ins.excluded.created_at},
                )
            )


# -- daily budgets ---------------------------------------------------------------------------


class DbDailyBudget:
    """``DailyBudget`` on the ``daily_budgets`` table, one row per (UTC day, name).

    The day is part of the key, so "resetting at midnight" is just a new row; nothing has to
    run at midnight. ``spend`` is one atomic upsert (``used = used + n``, inserting the day's
    row when missing), so concurrent spenders in any number of processes never lose an
    increment and never collide on the insert. ``allow`` only reads: two processes may both be
    allowed the last call of the day, an overshoot of one call each that a cost cap tolerates
    (see the ``DailyBudget`` protocol).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        name: str,
        daily_limit: int,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if daily_limit < 0:
            raise ValueError("daily_limit must be >= 0")
        if not name or len(name) > 64:
            raise ValueError("budget name must be 1-64 characters")
        self.name = name
        self.daily_limit = daily_limit
        self._sessions = sessions
        self._clock = clock

    async def used_today(self) -> int:
        day = utc_day(self._clock())
        async with self._sessions() as s:
            used = (
                await s.execute(
                    select(DailyBudgetRow.used).where(
                        DailyBudgetRow.day == day, DailyBudgetRow.name == self.name
                    )
                )
            ).scalar_one_or_none()
        return int(used or 0)

    async def allow(self, estimated: int) -> bool:
        return await self.used_today() + max(0, estimated) <= self.daily_limit

    async def spend(self, amount: int) -> None:
        if amount <= 0:
            return  # no row for nothing: a day with no spending reads as 0 anyway
        day = utc_day(self._clock())
        async with self._sessions.begin() as s:
            ins = _insert(s, DailyBudgetRow).values(day=day, name=self.name, used=amount)
            await s.execute(
                ins.on_conflict_do_update(
                    index_elements=["day", "name"],
                    set_={"used": DailyBudgetRow.used + ins.excluded.used},
                )
            )


# -- story summaries -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PendingStory:
    """A story whose current content has no stored summary yet."""

    id: int
    content_hash: str
    title: str
    text: str  # the longest clean text the feed carried
    url: str | None
    language: str | None
    kind: str = "article"


async def stories_needing_summary(
    session: AsyncSession,
    *,
    limit: int,
    skip_ids: Collection[int] = (),
    seen_after: datetime | None = None,
) -> list[PendingStory]:
    """Stories with no ``story_summaries`` row for their *current* content hash, newest first.

    Newest by id: ids are the delivery watermark, so the stories about to be posted come first
    and an archive backlog only gets what is left over. ``skip_ids`` are stories the caller
    is backing off from (they failed recently), so they cannot fill every batch.
    """
    summarized = exists().where(
        StorySummary.story_id == Story.id, StorySummary.content_hash == Story.content_hash
    )
    stmt = select(
        Story.id,
        Story.content_hash,
        Story.title,
        Story.content_text,
        Story.summary,
        Story.url,
        Story.language,
        Story.kind,
    ).where(~summarized)
    if skip_ids:
        stmt = stmt.where(Story.id.not_in(list(skip_ids)))
    if seen_after is not None:
        stmt = stmt.where(Story.first_seen_at >= seen_after)
    rows = await session.execute(stmt.order_by(Story.id.desc()).limit(limit))
    return [
        PendingStory(
            id=sid,
            content_hash=chash,
            title=title,
            # normalize keeps content_text at least as long as summary; this is a safety net.
            text=content or summary or "",
            url=url,
            language=language,
            kind=kind,
        )
        for sid, chash, title, content, summary, url, language, kind in rows.all()
    ]


async def store_summary(
    session: AsyncSession,
    *,
    story_id: int,
    content_hash: str,
    method: str,
    data: dict[str, Any],
    now: datetime,
) -> bool:
    """Store a story's summary for ``content_hash``; True when it is now the current one.

    Idempotent on the primary key (a second store of the same (story, hash) is a no-op). In
    the same transaction, rows for any other hash of the story are deleted: the renderer only
    joins the current hash, so they are dead weight -- and if the story's text changed while
    this summary was being made, the row just written is stale and goes too (False). A story
    deleted meanwhile raises ``IntegrityError`` (the foreign key); the caller treats it as
    gone. The insert comes first: see the module docstring about SQLite write locks.
    """
    ins = _insert(session, StorySummary).values(
        story_id=story_id, content_hash=content_hash, method=method, data=data, created_at=now
    )
    await session.execute(ins.on_conflict_do_nothing(index_elements=["story_id", "content_hash"]))
    current = select(Story.content_hash).where(Story.id == story_id).scalar_subquery()
    removed = await session.execute(
        delete(StorySummary)
        .where(StorySummary.story_id == story_id, StorySummary.content_hash != current)
        .returning(StorySummary.content_hash)
    )
    return content_hash not in set(removed.scalars())


async def current_summary(session: AsyncSession, story_id: int) -> dict[str, Any] | None:
    """The stored summary (``Summary.to_dict()``) for the story's current content, if any."""
    data = (
        await session.execute(
            select(StorySummary.data)
            .join(Story, Story.id == StorySummary.story_id)
            .where(
                StorySummary.story_id == story_id,
                StorySummary.content_hash == Story.content_hash,
            )
        )
    ).scalar_one_or_none()
    return data if isinstance(data, dict) else None
