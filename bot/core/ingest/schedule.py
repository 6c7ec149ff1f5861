"""When to poll a feed next (invariant 9). Pure: no I/O, the clock and the RNG are arguments.

- success: clamp(7 days / posts in the last week, 15 min, 24 h), but never sooner than the
  feed's TTL, Cache-Control max-age or Retry-After (each capped at the maximum interval, so a
  year-long max-age cannot silence a feed);
- failure: exponential backoff from the minimum interval, capped at the maximum, forever;
- backpressure (429 / 503 + Retry-After): not a failure, just "come back later";
- 410 Gone: the only thing that stops polling.

Jitter spreads feeds that were added together (the catalog at first start) so a thousand of
them do not fall due in the same tick again and again.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

WEEK = timedelta(days=7)


class Uniform(Protocol):
    """The part of ``random.Random`` the schedule needs (tests pass a fixed one)."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True, slots=True)
class ScheduleLimits:
    min_interval: timedelta = timedelta(minutes=15)
    max_interval: timedelta = timedelta(hours=24)
    jitter: float = 0.1  # +-10 % of the interval, never below the floor or above the cap

    def __post_init__(self) -> None:
        if self.min_interval <= timedelta(0) or self.max_interval < self.min_interval:
            raise ValueError("need 0 < min_interval <= max_interval")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")


def posts_last_week(dates: Iterable[datetime], now: datetime) -> int:
    """Posts dated within the last seven days (future dates count as now)."""
    since = now - WEEK
    return sum(1 for d in dates if d > since)


def posting_interval(posts: int, limits: ScheduleLimits) -> timedelta:
    """clamp(week / posts, min, max); a feed silent for a week is checked daily."""
    if posts <= 0:
        return limits.max_interval
    return _clamp(WEEK / posts, limits.min_interval, limits.max_interval)


def _clamp(value: timedelta, low: timedelta, high: timedelta) -> timedelta:
    return max(low, min(high, value))


def _seconds(value: float | None) -> timedelta:
    return timedelta(seconds=value) if value is not None and value > 0 else timedelta(0)


def _jittered(
    interval: timedelta, floor: timedelta, limits: ScheduleLimits, rng: Uniform
) -> timedelta:
    factor = 1.0 + rng.uniform(-limits.jitter, limits.jitter) if limits.jitter else 1.0
    return _clamp(interval * factor, floor, max(floor, limits.max_interval))


def after_success(
    now: datetime,
    *,
    posts: int,
    ttl_minutes: int | None = None,
    max_age: float | None = None,
    retry_after: float | None = None,
    limits: ScheduleLimits = ScheduleLimits(),
    rng: Uniform | None = None,
) -> datetime:
    """Next check after a good fetch (new body, 304 or same hash)."""
    floor = max(
        limits.min_interval,
        _clamp(timedelta(minutes=ttl_minutes or 0), timedelta(0), limits.max_interval),
        _clamp(_seconds(max_age), timedelta(0), limits.max_interval),
        _clamp(_seconds(retry_after), timedelta(0), limits.max_interval),
    )
    interval = max(posting_interval(posts, limits), floor)
    return now + _jittered(interval, floor, limits, rng or random.Random())


def backoff_interval(error_count: int, limits: ScheduleLimits) -> timedelta:
    """min_interval * 2^(n-1) for the n-th consecutive failure, capped at max_interval."""
    exponent = max(0, min(error_count - 1, 30))  # 2^30 * 15 min is far past any cap
    return min(limits.max_interval, limits.min_interval * (2**exponent))


def after_failure(
    now: datetime,
    *,
    error_count: int,
    retry_after: float | None = None,
    limits: ScheduleLimits = ScheduleLimits(),
    rng: Uniform | None = None,
) -> datetime:
    """Next check after the ``error_count``-th consecutive failure (never "stop polling")."""
    floor = max(
        limits.min_interval, _clamp(_seconds(retry_after), timedelta(0), limits.max_interval)
    )
    interval = max(backoff_interval(error_count, limits), floor)
    return now + _jittered(interval, floor, limits, rng or random.Random())


def after_backpressure(
    now: datetime,
    *,
    retry_after: float | None,
    limits: ScheduleLimits = ScheduleLimits(),
    rng: Uniform | None = None,
) -> datetime:
    """429 / 503 with Retry-After: wait as asked (at least the minimum interval)."""
    floor = max(
        limits.min_interval, _clamp(_seconds(retry_after), timedelta(0), limits.max_interval)
    )
    return now + _jittered(floor, floor, limits, rng or random.Random())


def is_gone(status: int | None) -> bool:
    """410 Gone is the publisher saying the feed will never come back."""
    return status == 410
