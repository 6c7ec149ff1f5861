"""Messages: the reader's language for a Discord locale, CLDR dates, safe field filling."""

from __future__ import annotations

import gettext
from datetime import UTC, datetime

import pytest

from bot.core.i18n import Localizer, Messages, locale_of

FRIDAY = datetime(2026, 12, 4, 0, 30, tzinfo=UTC)  # 09:30 Friday in Seoul and Tokyo


@pytest.mark.parametrize(
    ("value", "expected"),
    [("ko", "ko"), ("ja", "ja"), ("en-US", "en"), ("ko-KR", "ko"), ("zh-TW", "en"), (None, "en")],
)
def test_discord_locales_map_to_ko_ja_or_english(value: str | None, expected: str) -> None:
    assert locale_of(value) == expected


@pytest.mark.parametrize(
    ("locale", "date", "moment"),
    [
        ("en", "Fri 04 Dec 2026", "Fri 04 Dec 09:30"),
        ("ko", "2026년 12월 4일 (금)", "12월 4일 (금) 09:30"),
        ("ja", "2026年12月4日(金)", "12月4日(金) 09:30"),
    ],
)
def test_dates_are_written_the_cldr_way(locale: str, date: str, moment: str) -> None:
    messages = Messages(locale, gettext.NullTranslations())
    assert messages.date(FRIDAY, "Asia/Seoul") == date
    assert messages.datetime_text(FRIDAY, "Asia/Seoul") == moment


def test_plurals_and_fields() -> None:
    localizer = Localizer()
    en, ko = localizer.english, localizer.messages("ko")
    assert en.ngettext("{n} new story", "{n} new stories", 1) == "1 new story"
    assert en.ngettext("{n} new story", "{n} new stories", 14) == "14 new stories"
    assert ko.ngettext("{n} new story", "{n} new stories", 14) == "새 글 14개"
    # Field values are never looked up or formatted again: braces in user text stay as typed.
    assert ko.gettext("Search: {query}", query="{x} {{y}}") == "검색: {x} {{y}}"


def test_a_translation_with_a_broken_field_falls_back_to_english() -> None:
    class Broken(gettext.NullTranslations):
        def gettext(self, message: str) -> str:
            return "검색: {qury}"

    assert Messages("ko", Broken()).gettext("Search: {query}", query="k8s") == "Search: k8s"
