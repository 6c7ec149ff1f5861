"""When a channel's next brief is due: APScheduler's cron maths in the channel's time zone.

APScheduler's CronTrigger already moves a wall-clock time that does not exist (spring forward)
to the first instant after the gap, but on the fall-back day it fires for *both* occurrences
of an ambiguous time; a brief must come once per local day, so those are skipped here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger


def next_brief_at(
    hhmm: tuple[int, int], timezone: str, *, after: datetime, last_local_day: date | None = None
) -> datetime:
    """The first brief time strictly after `after` that falls on a new local day."""
    tz = ZoneInfo(timezone)
    trigger = CronTrigger(hour=hhmm[0], minute=hhmm[1], timezone=tz)
    start = after + timedelta(microseconds=1)
    if last_local_day is not None:
        # Jump past the day that already had its brief instead of stepping through its
        # (possibly repeated) wall-clock times.
        next_midnight = datetime.combine(last_local_day + timedelta(days=1), time(0), tz)
        start = max(start, next_midnight)
    candidate = trigger.get_next_fire_time(None, start)
    assert candidate is not None  # a daily cron always has a next time
    return candidate


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()
