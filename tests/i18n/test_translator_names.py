"""CatalogTranslator and names: a catalog's name is sent only when Discord would take it."""

from __future__ import annotations

import logging
from pathlib import Path

import discord
import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from discord import app_commands
from discord.app_commands import TranslationContext
from discord.app_commands import TranslationContextLocation as Where

from bot.core.i18n import COMMAND_NAME, OPTION_NAME, Localizer
from bot.runtime.i18n import CatalogTranslator


def _translator(tmp_path: Path) -> CatalogTranslator:
    catalog = Catalog(locale="ko", domain="techbrief")
    catalog.add("search", "검색", context=COMMAND_NAME)
    catalog.add("bookmark", "북마크 하기", context=COMMAND_NAME)  # a space: not a name
    catalog.add("query", "Query", context=OPTION_NAME)  # upper case
    catalog.add("search", "찾기")  # the same English word as text, no context
    target = tmp_path / "ko" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "techbrief.po").open("wb") as fh:
        write_po(fh, catalog)
    return CatalogTranslator(Localizer(tmp_path))


async def _name(translator: CatalogTranslator, text: str, where: Where) -> str | None:
    context = TranslationContext(where, None)  # type: ignore[call-overload]
    return await translator.translate(app_commands.locale_str(text), discord.Locale.korean, context)


async def test_names_come_from_their_context_and_must_be_valid(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    translator = _translator(tmp_path)
    assert await _name(translator, "search", Where.command_name) == "검색"
    assert await _name(translator, "search", Where.group_name) == "검색"
    # Invalid names fall back to Discord's English default, with a warning.
    with caplog.at_level(logging.WARNING):
        assert await _name(translator, "bookmark", Where.group_name) is None
        assert await _name(translator, "query", Where.parameter_name) is None
    assert len([r for r in caplog.records if "name rule" in r.getMessage()]) == 2
    # No entry: None (the English name), never the untranslated source.
    assert await _name(translator, "share", Where.command_name) is None
