"""When a channel's next brief is due: APScheduler's cron maths in the channel's time zone.

APScheduler's CronTrigger already moves a wall-clock time that does not exist (spring forward)
to the first instant after the gap, but on the fall-back day it fires for *both* occurrences
of an ambiguous time; a brief must come once per local day, so those are skipped here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

EVERY = ("daily", "weekdays", "weekly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def next_brief_at(
    hhmm: tuple[int, int],
    timezone: str,
    *,
    after: datetime,
    last_local_day: date | None = None,
    every: str = "daily",
    weekday: int | None = None,
) -> datetime:
    """The first brief time strictly after `after` that falls on a new local day.

    ``every`` narrows the days: "weekdays" is Monday to Friday, "weekly" the one
    ``weekday`` (0 = Monday). The same cron trigger does the wall-clock maths, so a weekly
    brief keeps its local time across a DST change as a daily one does.
    """
    tz = ZoneInfo(timezone)
    trigger = CronTrigger(
        day_of_week=_day_of_week(every, weekday), hour=hhmm[0], minute=hhmm[1], timezone=tz
    )
    start = after + timedelta(microseconds=1)
    if last_local_day is not None:
        # Jump past the day that already had its brief instead of stepping through its
        # (possibly repeated) wall-clock times.
        next_midnight = datetime.combine(last_local_day + timedelta(days=1), time(0), tz)
        start = max(start, next_midnight)
    candidate = trigger.get_next_fire_time(None, start)
    assert candidate is not None  # a cron with at least one day a week always has a next time
    return candidate


def _day_of_week(every: str, weekday: int | None) -> str | None:
    if every == "weekdays":
        return "mon-fri"
    if every == "weekly":
        return WEEKDAYS[weekday or 0][:3]
    return None


def cadence_text(every: str, weekday: int | None) -> str:
    """How often, in words, for /brief status: "daily", "on weekdays", "every Monday"."""
    if every == "weekdays":
        return "on weekdays"
    if every == "weekly":
        return f"every {WEEKDAYS[weekday or 0].capitalize()}"
    return "daily"


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()
