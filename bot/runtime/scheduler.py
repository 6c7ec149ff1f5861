"""The scheduler only ticks: the database says what is due (DESIGN section 3)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


class Ticker:
    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._intervals: dict[str, float] = {}
        self._last_tick: dict[str, float] = {}
        self._started_at = 0.0

    def every(self, name: str, seconds: float, job: Job, *, first_in: float = 1.0) -> None:
        """Run `job` every `seconds`; a slow run is never overlapped by the next one."""

        async def tick() -> None:
            self._last_tick[name] = time.monotonic()
            try:
                await job()
            except Exception:
                log.exception("scheduled job failed", extra={"job": name})

        self._intervals[name] = seconds
        self._scheduler.add_job(
            tick, "interval", seconds=seconds, id=name, name=name, max_instances=1,
            coalesce=True, misfire_grace_time=None,
            next_run_time=datetime.now(UTC) + timedelta(seconds=first_in),
        )

    def start(self) -> None:
        self._started_at = time.monotonic()
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def alive(self) -> bool:
        """Running, and no job has gone unticked for three of its intervals (plus a grace)."""
        if not self._scheduler.running:
            return False
        now = time.monotonic()
        for name, interval in self._intervals.items():
            last = self._last_tick.get(name, self._started_at)
            if now - last > 3 * interval + 30:
                return False
        return True
