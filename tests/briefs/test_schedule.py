"""Daily brief times across DST changes: never skipped, never doubled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.briefs import local_day, next_brief_at

BERLIN = "Europe/Berlin"


def fire_days(hhmm: tuple[int, int], tz: str, start: datetime, days: int) -> list[datetime]:
    """Simulate the scheduler: each fire computes the next from the one that just fired."""
    fires = []
    current = next_brief_at(hhmm, tz, after=start)
    while current < start + timedelta(days=days):
        fires.append(current)
        current = next_brief_at(hhmm, tz, after=current, last_local_day=local_day(current, tz))
    return fires


def test_plain_day() -> None:
    got = next_brief_at((9, 0), BERLIN, after=datetime(2026, 11, 22, 7, 0, tzinfo=UTC))
    assert got == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("hhmm", [(2, 30), (9, 0), (0, 0), (23, 59)])
def test_spring_forward_week_one_brief_per_day(hhmm: tuple[int, int]) -> None:
    start = datetime(2026, 3, 26, tzinfo=UTC)  # Berlin springs forward on 29 March
    fires = fire_days(hhmm, BERLIN, start, 7)
    days = [local_day(f, BERLIN) for f in fires]
    assert len(days) == len(set(days)) == 7
    assert datetime(2026, 3, 29).date() in days  # the change day is not skipped


@pytest.mark.parametrize("hhmm", [(2, 30), (1, 0), (9, 0)])
def test_fall_back_week_one_brief_per_day(hhmm: tuple[int, int]) -> None:
    start = datetime(2026, 10, 22, tzinfo=UTC)  # Berlin falls back on 25 October
    fires = fire_days(hhmm, BERLIN, start, 7)
    days = [local_day(f, BERLIN) for f in fires]
    assert len(days) == len(set(days))  # never twice on the ambiguous day
    assert datetime(2026, 10, 25).date() in days


def test_local_wall_clock_is_kept_across_the_change() -> None:
    before = next_brief_at((9, 0), BERLIN, after=datetime(2026, 10, 24, 0, 0, tzinfo=UTC))
    after = next_brief_at((9, 0), BERLIN, after=before, last_local_day=local_day(before, BERLIN))
    tz = ZoneInfo(BERLIN)
    assert before.astimezone(tz).hour == after.astimezone(tz).hour == 9
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=25)


def test_new_york_and_seoul() -> None:
    ny = next_brief_at((9, 0), "America/New_York", after=datetime(2026, 3, 8, 0, tzinfo=UTC))
    assert ny == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)  # EDT from 8 March
    seoul = next_brief_at((9, 0), "Asia/Seoul", after=datetime(2026, 11, 22, 0, 1, tzinfo=UTC))
    assert seoul == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def _fires(tz: str, start: datetime, days: int, **cadence: object) -> list[datetime]:
    fires = []
    current = next_brief_at((9, 0), tz, after=start, **cadence)  # type: ignore[arg-type]
    while current < start + timedelta(days=days):
        fires.append(current)
        current = next_brief_at(
            (9, 0),
            tz,
            after=current,
            last_local_day=local_day(current, tz),
            **cadence,  # type: ignore[arg-type]
        )
    return fires


def test_weekly_keeps_its_day_and_local_time_across_dst() -> None:
    # Berlin leaves summer time on Sunday 25 October 2026.
    start = datetime(2026, 10, 5, 0, 0, tzinfo=UTC)
    fires = _fires(BERLIN, start, 5 * 7, every="weekly", weekday=0)
    local = [f.astimezone(ZoneInfo(BERLIN)) for f in fires]
    assert [d.date().isoformat() for d in local] == [
        "2026-10-05",
        "2026-10-12",
        "2026-10-19",
        "2026-10-26",
        "2026-11-02",
    ]
    assert {(d.hour, d.minute, d.weekday()) for d in local} == {(9, 0, 0)}
    utc = [f.astimezone(UTC).hour for f in fires]
    assert utc[2] == 7 and utc[3] == 8  # UTC moves, the wall clock does not


def test_weekdays_skip_the_weekend_and_weekly_takes_any_day() -> None:
    start = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # a Monday
    weekdays = _fires("Asia/Seoul", start, 14, every="weekdays")
    # 09:00 Monday in Seoul is 00:00 UTC, the very start, so the first is Tuesday.
    days = [f.astimezone(ZoneInfo("Asia/Seoul")).weekday() for f in weekdays]
    assert days == [1, 2, 3, 4, 0, 1, 2, 3, 4]
    sundays = _fires("Asia/Seoul", start, 21, every="weekly", weekday=6)
    assert [f.astimezone(ZoneInfo("Asia/Seoul")).day for f in sundays] == [6, 13, 20]
    daily = _fires("Asia/Seoul", start, 7)
    assert len(daily) == 6  # Tuesday to Sunday: Monday 09:00 is the start itself
