"""The scheduler only ticks: the database says what is due (DESIGN section 3)."""

from __future__ import annotations

import asyncio
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
        self._running: set[asyncio.Task[object]] = set()  # ticks in progress, for stop()

    def every(self, name: str, seconds: float, job: Job, *, first_in: float = 1.0) -> None:
        """Run `job` every `seconds`; a slow run is never overlapped by the next one."""

        async def tick() -> None:
            self._last_tick[name] = time.monotonic()
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await job()
            except Exception:
                log.exception("scheduled job failed", extra={"job": name})
            finally:
                self._running.discard(task)

        self._intervals[name] = seconds
        self._scheduler.add_job(
            tick,
            "interval",
            seconds=seconds,
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC) + timedelta(seconds=first_in),
        )

    def start(self) -> None:
        self._started_at = time.monotonic()
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stop at once: APScheduler's asyncio executor cancels the ticks in progress."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def stop(self, grace: float) -> None:
        """Start no new ticks, give running ones `grace` seconds, then cancel them.

        Jobs must be safe to cancel (work is leased in the database and retried), but one
        that is about to finish should, so the database is not closed under its feet.
        """
        if self._scheduler.running:
            self._scheduler.pause()  # no new ticks; shutdown() would cut running ones off
        pending: set[asyncio.Task[object]] = set()
        if self._running:
            _done, pending = await asyncio.wait(set(self._running), timeout=grace)
        self.shutdown()
        if pending:
            log.warning("scheduled jobs cancelled at shutdown", extra={"jobs": len(pending)})
            for task in pending:
                task.cancel()  # the executor cancelled them too; harmless, and explicit
            await asyncio.wait(pending)

    def seconds_since(self, name: str) -> float | None:
        """How long ago job ``name`` last started (None: not yet)."""
        last = self._last_tick.get(name)
        return None if last is None else round(time.monotonic() - last, 1)

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
