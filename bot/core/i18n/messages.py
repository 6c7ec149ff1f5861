"""One reader's language: gettext lookups with named fields, and CLDR dates through Babel."""

from __future__ import annotations

import gettext
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_skeleton

SUPPORTED = ("ko", "ja")


def N_(message: str) -> str:
    """Marks a string for extraction where no reader is known yet; translate it when shown."""
    return message


def locale_of(value: object) -> str:
    """ "ko", "ja" or "en" for a Discord locale code or discord.Locale ("ko", "ja", "en-US")."""
    code = str(getattr(value, "value", value) or "").strip().lower().replace("_", "-")
    base = code.split("-", 1)[0]
    return base if base in SUPPORTED else "en"


class Messages:
    """Text for one locale. Missing translations fall back to the English source text."""

    def __init__(self, locale: str, translations: gettext.NullTranslations) -> None:
        self.locale = locale
        self._translations = translations

    @classmethod
    def english(cls) -> Messages:
        return cls("en", gettext.NullTranslations())

    def gettext(self, message: str, **fields: object) -> str:
        text = self._translations.gettext(message)
        return _fill(text, message, fields)

    def pgettext(self, context: str, message: str, **fields: object) -> str:
        """A translation kept apart from the same English text elsewhere (a command's name
        "add" is not the word "add" in a sentence)."""
        text = self._translations.pgettext(context, message)
        return _fill(text, message, fields)

    def ngettext(self, singular: str, plural: str, n: int, **fields: object) -> str:
        text = self._translations.ngettext(singular, plural, n)
        return _fill(text, singular if n == 1 else plural, {"n": n, **fields})

    def date(self, moment: datetime, timezone: str, *, weekday: bool = True) -> str:
        """A local date the way the reader's language writes it: CLDR's skeleton yMMMEd
        ("2026년 12월 4일 (금)", "2026年12月4日(金)"); English keeps the bot's established
        "Fri 04 Dec 2026" so existing briefs and tests read the same."""
        local = moment.astimezone(ZoneInfo(timezone))
        if self.locale == "en":
            return format_date(local, "EEE dd MMM y" if weekday else "dd MMM y", locale="en")
        return format_skeleton("yMMMEd" if weekday else "yMMMd", local, locale=self.locale)

    def datetime_text(self, moment: datetime, timezone: str) -> str:
        """A local weekday, date and time ("Fri 04 Dec 09:00", "12월 4일 (금) 09:00")."""
        local = moment.astimezone(ZoneInfo(timezone))
        if self.locale == "en":
            return format_datetime(local, "EEE dd MMM HH:mm", locale="en")
        # CLDR has no date-and-time skeleton here: its month-day-weekday one, then the time.
        day = format_skeleton("MMMEd", local, locale=self.locale)
        return f"{day} {format_datetime(local, 'HH:mm', locale=self.locale)}"


def _fill(text: str, source: str, fields: dict[str, object]) -> str:
    if not fields:
        return text
    try:
        return text.format(**fields)
    except (KeyError, IndexError, ValueError):
        # A translation with a broken field must not break the reply: use the source text.
        return source.format(**fields)
