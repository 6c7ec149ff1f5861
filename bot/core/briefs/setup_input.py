"""What an admin types into `/brief setup`, checked: a time of day, a time zone, a cadence.

Pure functions (no storage), so autocomplete and the planner share them.
"""

from __future__ import annotations

import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core.briefs.safetext import safe_line
from bot.core.briefs.schedule import EVERY, WEEKDAYS
from bot.core.errors import UserInputError


def parse_time(text: str) -> tuple[int, int]:
    parts = text.strip().replace(".", ":").split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise UserInputError(
            "`{text}` is not a time: use HH:MM in 24-hour form, e.g. 09:00.", text=text[:20]
        )
    hour, minute = int(parts[0]), int(parts[1])
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise UserInputError("`{text}` is not a time of day: use 00:00 to 23:59.", text=text[:20])
    return hour, minute


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = ", ".join(suggest_timezones(name, 3)) or "Europe/Berlin, Asia/Seoul, UTC"
        raise UserInputError(
            "`{name}` is not a time zone I know. Pick one from the list, e.g. {hint}.",
            name=name[:60],
            hint=hint,
        ) from None
    return name


@functools.cache
def check_cadence(every: str, day: str | None) -> int | None:
    """The weekday (0 = Monday) of a weekly brief, None otherwise; bad combinations refused."""
    if every not in EVERY:
        raise UserInputError("`every` must be `daily`, `weekdays` or `weekly`.")
    if every != "weekly":
        if day is not None:
            raise UserInputError("`day` is for weekly briefs: add `every:weekly`, or leave it out.")
        return None
    name = (day or "monday").strip().lower()
    if name not in WEEKDAYS:
        raise UserInputError(
            "`{day}` is not a day: use monday … sunday.", day=safe_line(day or "", 20)
        )
    return WEEKDAYS.index(name)


def _zone_names() -> tuple[str, ...]:
    """The IANA names, read from disk once (autocomplete asks on every keystroke)."""
    return tuple(sorted(available_timezones()))


def suggest_timezones(partial: str, limit: int = 25) -> list[str]:
    """IANA names containing what was typed (case-insensitive), best matches first."""
    needle = partial.strip().lower().replace(" ", "_")
    names = _zone_names()
    if not needle:
        common = [
            "UTC",
            "Europe/London",
            "Europe/Berlin",
            "America/New_York",
            "America/Los_Angeles",
            "Asia/Seoul",
            "Asia/Tokyo",
            "Asia/Kolkata",
        ]
        return common[:limit]
    starts = [n for n in names if n.lower().startswith(needle)]
    inside = [n for n in names if needle in n.lower() and n not in starts]
    return (starts + inside)[:limit]
