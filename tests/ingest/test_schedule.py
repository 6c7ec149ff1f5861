"""Poll scheduling maths (pure): clamp, TTL / max-age / Retry-After floors, backoff, 410."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.ingest.schedule import (
    ScheduleLimits,
    after_backpressure,
    after_failure,
    after_success,
    backoff_interval,
    is_gone,
    posting_interval,
    posts_last_week,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NO_JITTER = ScheduleLimits(jitter=0.0)
MIN, MAX = timedelta(minutes=15), timedelta(hours=24)


class Fixed:
    """An RNG that always answers the given end of the range."""

    def __init__(self, end: str) -> None:
        self.end = end

    def uniform(self, a: float, b: float) -> float:
        return a if self.end == "low" else b


def test_posts_last_week_counts_only_the_last_seven_days():
    dates = [NOW - timedelta(days=d) for d in (0.5, 1, 6.9, 7.5, 30)]
    assert posts_last_week(dates, NOW) == 3


@pytest.mark.parametrize(
    ("posts", "expected"),
    [
        (0, MAX),  # silent for a week: daily
        (1, MAX),  # week / 1 = 7 days, clamped to 24 h
        (7, MAX),
        (14, timedelta(hours=12)),
        (168, timedelta(hours=1)),
        (10_000, MIN),  # clamped to 15 minutes
    ],
)
def test_posting_interval_is_week_over_posts_clamped(posts, expected):
    assert posting_interval(posts, NO_JITTER) == expected


def test_success_without_hints_uses_the_posting_rate():
    assert after_success(NOW, posts=168, limits=NO_JITTER) == NOW + timedelta(hours=1)


def test_ttl_max_age_and_retry_after_are_floors():
    busy = 10_000  # would poll every 15 minutes
    assert after_success(NOW, posts=busy, ttl_minutes=60, limits=NO_JITTER) == NOW + timedelta(
        hours=1
    )
    assert after_success(NOW, posts=busy, max_age=7200, limits=NO_JITTER) == NOW + timedelta(
        hours=2
    )
    assert after_success(NOW, posts=busy, retry_after=10800, limits=NO_JITTER) == NOW + timedelta(
        hours=3
    )
    # A floor below the rate changes nothing; a huge max-age cannot silence a feed for a year.
    assert after_success(NOW, posts=14, max_age=60, limits=NO_JITTER) == NOW + timedelta(hours=12)
    assert after_success(NOW, posts=busy, max_age=3e7, limits=NO_JITTER) == NOW + MAX


def test_jitter_spreads_but_respects_floor_and_cap():
    limits = ScheduleLimits(jitter=0.1)
    low = after_success(NOW, posts=14, limits=limits, rng=Fixed("low"))
    high = after_success(NOW, posts=14, limits=limits, rng=Fixed("high"))
    assert low == NOW + timedelta(hours=12) * 0.9 and high == NOW + timedelta(hours=12) * 1.1
    # Never below the floor (TTL) nor above the 24 h cap.
    assert after_success(NOW, posts=10_000, ttl_minutes=60, limits=limits, rng=Fixed("low")) == (
        NOW + timedelta(hours=1)
    )
    assert after_success(NOW, posts=0, limits=limits, rng=Fixed("high")) == NOW + MAX
    rng = random.Random(7)
    spread = {after_success(NOW, posts=14, limits=limits, rng=rng) for _ in range(20)}
    assert len(spread) > 10


def test_failures_back_off_exponentially_to_the_cap_and_keep_going():
    steps = [backoff_interval(n, NO_JITTER) for n in range(1, 10)]
    assert steps[:4] == [MIN, MIN * 2, MIN * 4, MIN * 8]
    assert steps[-1] == MAX and max(steps) == MAX
    assert backoff_interval(10_000, NO_JITTER) == MAX  # no overflow, still polling daily
    assert after_failure(NOW, error_count=3, limits=NO_JITTER) == NOW + timedelta(hours=1)
    assert after_failure(NOW, error_count=1, retry_after=7200, limits=NO_JITTER) == (
        NOW + timedelta(hours=2)
    )


def test_backpressure_waits_as_asked_but_at_least_the_minimum():
    assert after_backpressure(NOW, retry_after=3600, limits=NO_JITTER) == NOW + timedelta(hours=1)
    assert after_backpressure(NOW, retry_after=5, limits=NO_JITTER) == NOW + MIN
    assert after_backpressure(NOW, retry_after=None, limits=NO_JITTER) == NOW + MIN


def test_only_410_is_gone():
    assert is_gone(410)
    assert not any(is_gone(s) for s in (None, 200, 304, 404, 429, 500, 503))


def test_limits_are_validated():
    with pytest.raises(ValueError):
        ScheduleLimits(min_interval=timedelta(hours=2), max_interval=timedelta(hours=1))
    with pytest.raises(ValueError):
        ScheduleLimits(jitter=1.5)
