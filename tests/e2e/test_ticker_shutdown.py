"""The scheduler's part of a clean SIGTERM: no new ticks, a running tick finishes or is cancelled.

(In-process: a job that blocks on demand cannot be arranged inside a separate bot process.)
"""

from __future__ import annotations

import asyncio

from bot.runtime.scheduler import Ticker


async def _started(ticker: Ticker, name: str, job_started: asyncio.Event) -> None:
    ticker.start()
    try:
        await asyncio.wait_for(job_started.wait(), 5)
    except TimeoutError:
        raise AssertionError(f"job {name} never ran") from None


async def test_a_running_tick_that_finishes_within_the_grace_is_awaited() -> None:
    ticker = Ticker()
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def job() -> None:
        started.set()
        await release.wait()
        finished.append("done")

    ticker.every("quick", 3600, job, first_in=0)
    await _started(ticker, "quick", started)
    assert ticker.alive()

    stopping = asyncio.create_task(ticker.stop(grace=5))
    await asyncio.sleep(0)  # let stop() start waiting
    assert not stopping.done()  # it waits for the tick...
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert finished == ["done"]  # ...which completed rather than being cut off
    assert not ticker.alive()


async def test_a_tick_still_running_after_the_grace_is_cancelled() -> None:
    ticker = Ticker()
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def job() -> None:
        started.set()
        try:
            await asyncio.Event().wait()  # never finishes on its own
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    ticker.every("stuck", 3600, job, first_in=0)
    await _started(ticker, "stuck", started)

    await asyncio.wait_for(ticker.stop(grace=0.05), 5)
    assert cancelled == [True]
    assert not ticker.alive()


async def test_stop_without_jobs_returns_at_once() -> None:
    ticker = Ticker()
    ticker.start()
    assert ticker.alive()  # /healthz's scheduler check holds with no jobs registered
    await asyncio.wait_for(ticker.stop(grace=5), 1)
    assert not ticker.alive()
