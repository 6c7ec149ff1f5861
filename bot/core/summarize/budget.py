"""Daily allowances (LLM tokens, teaser page fetches) that reset at midnight UTC."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Protocol


class DailyBudget(Protocol):
    """Ask before spending, then record what was really spent.

    ``allow`` only answers; ``spend`` records. A shared (database-backed) implementation may
    let two processes overshoot by one call each, which is acceptable for a cost cap.
    """

    async def allow(self, estimated: int) -> bool: ...

    async def spend(self, amount: int) -> None: ...


TokenBudget = DailyBudget  # the LLM's budget counts tokens; the teaser's counts page fetches


def _utc_now() -> datetime:
    return datetime.now(UTC)


class InMemoryDailyBudget:
    """A per-process budget keyed by the UTC day; a restart starts the day's count afresh."""

    def __init__(self, daily_limit: int, clock: Callable[[], datetime] = _utc_now) -> None:
        if daily_limit < 0:
            raise ValueError("daily_limit must be >= 0")
        self._limit = daily_limit
        self._clock = clock
        self._day: date | None = None
        self._spent = 0
        self._lock = asyncio.Lock()

    def _roll(self) -> None:
        today = self._clock().astimezone(UTC).date()
        if today != self._day:
            self._day, self._spent = today, 0

    async def allow(self, estimated: int) -> bool:
        async with self._lock:
            self._roll()
            return self._spent + max(0, estimated) <= self._limit

    async def spend(self, amount: int) -> None:
        async with self._lock:
            self._roll()
            self._spent += max(0, amount)

    @property
    def spent_today(self) -> int:
        self._roll()
        return self._spent

    @property
    def remaining_today(self) -> int:
        return max(0, self._limit - self.spent_today)
