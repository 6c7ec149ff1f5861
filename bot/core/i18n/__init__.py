"""Korean and Japanese for everything a person reads: gettext catalogs, one way to mark text.

How to mark a user-facing string (the only way; ``make i18n`` extracts what is marked)::

    t.gettext("Stopped the brief in {channel}.", channel=mention)   # where a Messages is at hand
    t.ngettext("{n} story", "{n} stories", n)                       # plurals ({n} is filled in)
    HINT = N_("Pick a channel.")        # defined before the reader's language is known;
    t.gettext(HINT)                     # ...translated where it is shown
    raise UserInputError("No feed called {key}.", key=key)   # errors: template + fields

Placeholders are ``str.format`` fields with names (never f-strings: an f-string cannot be
looked up in a catalog). Slash command and option names, descriptions and choices need no
marking: ``make i18n`` walks the command tree itself (names under their own msgctxt). Then
translate the new entries in ``bot/locales/{ko,ja}/LC_MESSAGES/techbrief.po``; tests/i18n
names every string without one.
"""

from bot.core.i18n.catalog import DOMAIN, LOCALES, Localizer, locales_dir
from bot.core.i18n.messages import N_, Messages, locale_of
from bot.core.i18n.names import COMMAND_NAME, OPTION_NAME, command_path, valid_name

__all__ = [
    "COMMAND_NAME",
    "DOMAIN",
    "LOCALES",
    "N_",
    "OPTION_NAME",
    "Localizer",
    "Messages",
    "command_path",
    "locale_of",
    "locales_dir",
    "valid_name",
]
