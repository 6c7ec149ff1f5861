"""Making hostile plain text safe and sized for Discord (pure; the renderer's building blocks).

Discord's limits (DESIGN invariant 10) live here as constants; text is cut on word
boundaries with an ellipsis, never mid-character, and escaping happens *before* cutting is
checked so an escape sequence is never split.
"""

from __future__ import annotations

import re
import unicodedata

CONTENT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL = 6000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR_NAME = 256
FIELDS = 25
CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100
BUTTON_LABEL = 80
CUSTOM_ID = 100

ELLIPSIS = "…"
ZWSP = "\u200b"

# Characters with markdown meaning in Discord (plus '#' '-' and '>' at line starts, handled too).
_MD_CHARS = re.compile(r"([\\*_~`|\[\]()<>#:])")
_LINE_START = re.compile(r"^(\s*)([-+>]|\d+\.)", re.MULTILINE)
_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?|#)(\d+)>")
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]")


def clean_control(text: str) -> str:
    """Drop control and bidi-override characters that can disguise text."""
    return _CONTROL.sub("", text)


def neutralize_mentions(text: str) -> str:
    """@everyone, @here, <@id>, <@&id>, <#id> become inert (a zero-width space breaks them)."""

    def fix(match: re.Match[str]) -> str:
        if match.group(1):
            return f"@{ZWSP}{match.group(1)}"
        return f"<{match.group(2)}{ZWSP}{match.group(3)}>"

    return _MENTION.sub(fix, text)


def escape_markdown(text: str) -> str:
    """Escape every Discord markdown construct so feed text shows literally.

    Mentions are defused first, while their syntax is still recognisable; masked links and
    autolinks are then neutralised by the escapes.
    """
    text = neutralize_mentions(text)
    text = _MD_CHARS.sub(r"\\\1", text)
    return _LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)


def inert(text: str) -> str:
    """The one call for any feed-provided text going into markdown: clean, escape, defuse."""
    return escape_markdown(clean_control(text))


def truncate(text: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """Cut `text` to at most `limit` characters on a word boundary, ending with an ellipsis.

    Never splits an escape sequence (a trailing backslash is dropped with its character) or
    a grapheme's combining marks.
    """
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    room = limit - len(ellipsis)
    if room <= 0:
        return ellipsis[:limit]
    cut = text[:room]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= room * 0.6:
        cut = cut[:space]
    # Don't leave a dangling escape or a combining mark without its base.
    while cut and (cut.endswith("\\") or unicodedata.combining(cut[-1])):
        cut = cut[:-1]
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut.rstrip() + ellipsis


def safe_line(text: str, limit: int) -> str:
    """Hostile single-line text, escaped and cut to `limit` (escape first, then measure)."""
    flat = " ".join(clean_control(text).split())
    return truncate(escape_markdown(flat), limit)
