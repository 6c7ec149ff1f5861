"""Every user-facing string has a Korean and a Japanese translation, and each fits Discord.

The template is built the way `make i18n` builds it (the marked strings of the code plus the
command tree), so a new string added anywhere fails here, by name, until both catalogs
translate it. Also run against the .po files directly: what ships is what is tested.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.core.i18n import COMMAND_NAME, DOMAIN, LOCALES, Localizer, locales_dir, valid_name
from bot.runtime.i18n_extract import build_template, command_strings

ROOT = Path(__file__).resolve().parents[2]
FIELD = re.compile(r"\{[^{}]*\}")


@pytest.fixture(scope="module")
def template() -> Catalog:
    return build_template(ROOT)


def _catalog(locale: str) -> Catalog:
    with (locales_dir() / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _strings(message: object) -> list[str]:
    value = message if isinstance(message, tuple | list) else (message,)
    return [str(v) for v in value]


def untranslated(template: Catalog, catalog: Catalog) -> list[str]:
    """Template entries the catalog has no non-empty, non-fuzzy translation for."""
    missing: list[str] = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        if found is not None and all(_strings(found.string)) and not found.fuzzy:
            continue
        where = ", ".join(f"{f}:{n}" for f, n in message.locations)
        context = f"[{message.context}] " if message.context else ""
        missing.append(f"{context}{message.id!r} ({where or '; '.join(message.auto_comments)})")
    return missing


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_is_translated(template: Catalog, locale: str) -> None:
    missing = untranslated(template, _catalog(locale))
    assert not missing, (
        f"{len(missing)} string(s) without a {locale} translation (run `make i18n`, then "
        f"translate them in bot/locales/{locale}/LC_MESSAGES/{DOMAIN}.po):\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_their_fields(locale: str) -> None:
    """A translation that drops or renames a {field} would show the raw braces."""
    wrong = []
    for message in _catalog(locale):
        if not message.id or not message.string:
            continue
        source = set().union(*(_fields(s) for s in _strings(message.id)))
        for text in _strings(message.string):
            if text and _fields(text) - source:
                wrong.append(f"{message.id!r} -> {text!r}")
            if text and not isinstance(message.id, tuple) and _fields(text) != source:
                wrong.append(f"{message.id!r} -> {text!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("locale", LOCALES)
def test_command_strings_fit_discord(locale: str) -> None:
    """Descriptions and choice names 1-100 characters, the context menu name 1-32; command
    and option names by Discord's name rule (letters, digits, - and _, lowercase, 1-32)."""
    messages = Localizer().messages(locale)
    too_long = []
    for item in command_strings():
        if item.context is not None:
            name = messages.pgettext(item.context, item.text)
            if name == item.text or not valid_name(name):
                too_long.append(f"{item.where}: {name!r} is no valid {locale} name")
            continue
        limit = 32 if "context menu" in item.where else 100
        text = messages.gettext(item.text)
        if not 1 <= len(text) <= limit:
            too_long.append(f"{item.where}: {text!r} has {len(text)} characters (1-{limit})")
    assert not too_long, "\n".join(too_long)


def test_a_missing_or_fuzzy_translation_is_named(template: Catalog) -> None:
    """The check can fail: an entry removed or marked fuzzy is named, and only it."""
    catalog = _catalog("ko")
    first, second = [m.id for m in template if m.id][:2]
    catalog.delete(first)
    found = catalog.get(second)
    assert found is not None
    found.flags.add("fuzzy")
    missing = untranslated(template, catalog)
    assert len(missing) == 2
    assert missing[0].startswith(repr(first)) and missing[1].startswith(repr(second))


def test_a_missing_name_translation_is_named_apart_from_the_same_word(template: Catalog) -> None:
    """Names are entries of their own (msgctxt): the command name "add" is missing even
    when a sentence "add" were translated, and the message names its context."""
    catalog = _catalog("ja")
    assert template.get("add", context=COMMAND_NAME) is not None
    catalog.delete("add", context=COMMAND_NAME)
    catalog.add("add", "追加する")  # the same English word as UI text, no context
    missing = untranslated(template, catalog)
    assert len(missing) == 1
    assert missing[0].startswith("[command name] 'add' (/feed add: name")


def test_name_rule() -> None:
    assert valid_name("브리핑") and valid_name("ブックマーク一覧") and valid_name("ai-news_2")
    for bad in ("Brief", "브리핑 설정", "", "x" * 33, "ソース・一覧", "a:b"):
        assert not valid_name(bad), bad


def test_catalogs_load_from_the_po_when_no_current_mo_exists(tmp_path: Path) -> None:
    """An install that never compiled (or a .po edited since) still speaks Korean."""
    import os
    import shutil

    target = tmp_path / "ko" / "LC_MESSAGES"
    target.mkdir(parents=True)
    po = target / f"{DOMAIN}.po"
    shutil.copyfile(locales_dir() / "ko" / "LC_MESSAGES" / f"{DOMAIN}.po", po)
    assert Localizer(tmp_path).messages("ko").gettext("Weekly") == "매주"
    # A stale .mo (older than the .po) with other text is ignored in favour of the .po.
    catalog = read_po(po.open("rb"), locale="ko")
    found = catalog.get("Weekly")
    assert found is not None
    found.string = "STALE"
    from babel.messages.mofile import write_mo

    mo = target / f"{DOMAIN}.mo"
    with mo.open("wb") as fh:
        write_mo(fh, catalog)
    os.utime(mo, (po.stat().st_mtime - 60, po.stat().st_mtime - 60))
    assert Localizer(tmp_path).messages("ko").gettext("Weekly") == "매주"
    os.utime(mo, (po.stat().st_mtime + 60, po.stat().st_mtime + 60))
    assert Localizer(tmp_path).messages("ko").gettext("Weekly") == "STALE"
    assert Localizer(tmp_path).messages("en-US").gettext("Weekly") == "Weekly"
