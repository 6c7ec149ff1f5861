"""Loading the gettext catalogs: compiled .mo when it is current, else the .po itself.

``make install`` (and the Docker build) compile the catalogs, but an editable checkout whose
.po changed since (a merge, a new translation) would otherwise serve stale text, and an
install that skipped the compile step none at all: so a missing or older .mo falls back to
parsing the .po with Babel. Either way the answer is the same catalog.
"""

from __future__ import annotations

import gettext
import io
import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.core.i18n.messages import Messages, locale_of

log = logging.getLogger(__name__)

DOMAIN = "techbrief"
LOCALES = ("ko", "ja")  # besides English, which is the source text


def locales_dir() -> Path:
    return Path(__file__).resolve().parent.parent.parent / "locales"


def _from_po(path: Path) -> gettext.GNUTranslations:
    """A .po file compiled in memory, exactly as `pybabel compile` would (fuzzy left out)."""
    with path.open("rb") as fh:
        catalog = read_po(fh)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def load(locale: str, directory: Path | None = None) -> gettext.NullTranslations:
    """One locale's translations; NullTranslations (the English source) when it has none."""
    base = (directory or locales_dir()) / locale / "LC_MESSAGES"
    po, mo = base / f"{DOMAIN}.po", base / f"{DOMAIN}.mo"
    try:
        if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
            with mo.open("rb") as fh:
                return gettext.GNUTranslations(fh)
        if po.exists():
            return _from_po(po)
    except Exception:
        # A broken catalog must not take the bot down: it speaks English until fixed.
        log.exception("could not read the %s catalog", locale, extra={"path": str(base)})
    return gettext.NullTranslations()


class Localizer:
    """Every catalog loaded once (by the composition root), handed out per reader."""

    def __init__(self, directory: Path | None = None) -> None:
        self._english = Messages("en", gettext.NullTranslations())
        self._by_locale = {code: Messages(code, load(code, directory)) for code in LOCALES}

    def messages(self, locale: object) -> Messages:
        """Messages for a Discord locale ("ko", "ja", "en-US", a discord.Locale, None...)."""
        return self._by_locale.get(locale_of(locale), self._english)

    @property
    def english(self) -> Messages:
        return self._english
