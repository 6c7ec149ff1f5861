"""Slash command and option names in the reader's language, within Discord's name rule.

Names are catalog entries with their own context (msgctxt), so the name "add" and the word
"add" in a sentence are translated apart. A reader's client shows and accepts the localised
name, so every text that names a command in Korean or Japanese names it this way too.
"""

from __future__ import annotations

import unicodedata

from bot.core.i18n.messages import Messages

COMMAND_NAME = "command name"  # msgctxt of command, group and subcommand names
OPTION_NAME = "option name"  # msgctxt of option (parameter) names
NAME_MAX = 32


def _allowed(char: str) -> bool:
    if char in "-_":
        return True
    if unicodedata.category(char)[0] in "LN":
        return True
    # Devanagari and Thai vowel signs are marks, which Discord allows for those scripts.
    return unicodedata.name(char, "").startswith(("DEVANAGARI", "THAI"))


def valid_name(text: str) -> bool:
    """Discord's ``^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``, lowercase where the
    script has case (Hangul and kana have none)."""
    return 1 <= len(text) <= NAME_MAX and all(map(_allowed, text)) and text == text.lower()


def command_path(t: Messages, qualified_name: str) -> str:
    """ "/brief setup" as the reader's client shows it ("/브리핑 설정")."""
    return "/" + " ".join(t.pgettext(COMMAND_NAME, part) for part in qualified_name.split())
