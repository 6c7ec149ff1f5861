"""Making untrusted text inert: no markup, no mentions, no links but the story's own.

Used on everything a language model returns (it can be steered by the article it reads) and,
for markup only, as a safety net on feed text that should already be plain.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from bot.core.text import HEADING_MARK

ZWSP = "\u200b"

_SCRIPT_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|<!--.*?-->", re.DOTALL)
_ENTITY_RE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_MD_IMAGE_RE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK_RE = re.compile(r"\[([^\]]+)\]\(\s*<?[^)\s>]*>?(?:\s+\"[^\"]*\")?\s*\)")
_MD_REF_LINK_RE = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_MD_EMPHASIS_RE = re.compile(r"(\*\*|__|~~|\|\||\*|`+)")
_MD_LINE_PREFIX_RE = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•]\s+|\d{1,2}[.)]\s+)")
_URL_RE = re.compile(r"<?\b(?:https?://|www\.)[^\s<>\"'\])}]+>?", re.IGNORECASE)
# Invite links work without a scheme in Discord clients.
_INVITE_RE = re.compile(r"\b(?:discord(?:app)?\.(?:gg|com/invite|io|me|li))/\S+", re.IGNORECASE)
# Bidi overrides and invisible controls can disguise text; our own ZWSP is added afterwards.
_INVISIBLE_RE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u202a-\u202e"
                           r"\u2060-\u2064\u2066-\u2069\ufeff]")  # fmt: skip
_CHANNEL_RE = re.compile(r"<([#:/]|a:|t:)")
# Raw user/role/channel/command mention tokens never belong in a summary: removed outright.
_MENTION_TOKEN_RE = re.compile(r"<(?:@[!&]?\d+|#\d+|/[\w -]+:\d+|a?:\w+:\d+|t:\d+(?::\w)?)>")
_SPACES_RE = re.compile(r"[ \t\u00a0\u3000]+")


def strip_markup(text: str) -> str:
    """Remove HTML tags and decode entities (twice: feeds double-escape)."""
    for _ in range(2):
        if "<" not in text and "&" not in text:
            break
        text = _TAG_RE.sub(" ", _SCRIPT_RE.sub(" ", text))
        text = html.unescape(text) if _ENTITY_RE.search(text) else text
    return _TAG_RE.sub(" ", text)


# Blocks whose text is never prose: code listings, captions, navigation (tables of contents).
_NON_PROSE_RE = re.compile(
    r"<(pre|figcaption|nav|table|svg|math)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
# Block-level boundaries become line breaks, so a caption or byline never fuses with a paragraph.
_BLOCK_TAG_RE = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|blockquote|section|article|header|footer|figure|tr|dt|dd"
    r"|aside|hr)\b[^>]*>",
    re.IGNORECASE,
)


_HEADING_OPEN_RE = re.compile(r"<h[2-4]\b[^>]*>", re.IGNORECASE)


def strip_markup_blocks(text: str) -> str:
    """Like :func:`strip_markup`, but code, captions and navigation are dropped and every
    block element ends a line (the extractive summariser splits sentences per line)."""
    if "<" not in text and "&lt;" in text:
        text = html.unescape(text)  # a double-escaped feed: the tags are one decode away
    text = _NON_PROSE_RE.sub("\n", _SCRIPT_RE.sub(" ", text))
    text = _HEADING_OPEN_RE.sub("\n" + HEADING_MARK, text)  # keeps the article's sections
    return strip_markup(_BLOCK_TAG_RE.sub("\n", text))


def has_markup(text: str) -> bool:
    return bool(_TAG_RE.search(text) or _ENTITY_RE.search(text))


def _same_url(candidate: str, own: str | None) -> bool:
    if not own:
        return False
    a, b = urlsplit(candidate), urlsplit(own)
    return (
        a.scheme.lower() in ("http", "https")
        and a.netloc.lower() == b.netloc.lower()
        and a.path.rstrip("/") == b.path.rstrip("/")
        and a.query == b.query
    )


def remove_foreign_urls(text: str, own_url: str | None) -> str:
    """Drop every URL except the story's own; an invite or other site never survives."""

    def keep_own(m: re.Match[str]) -> str:
        url = m.group().strip("<>").rstrip(".,;:!?")
        trailing = m.group().strip("<>")[len(url) :]
        return (url + trailing) if _same_url(url, own_url) else trailing

    text = _URL_RE.sub(keep_own, text)
    return _INVITE_RE.sub("", text)


def neutralize_mentions(text: str) -> str:
    """Make @everyone, @here, <@id>, <@&id>, <#id> and similar print as text, not ping."""
    text = text.replace("@", "@" + ZWSP)
    return _CHANNEL_RE.sub(lambda m: "<" + ZWSP + m.group(1), text)


def strip_markdown(text: str) -> str:
    text = _MD_IMAGE_RE.sub(r"\1", text)
    text = _MD_LINK_RE.sub(r"\1", text)
    text = _MD_REF_LINK_RE.sub(r"\1", text)
    text = _MD_LINE_PREFIX_RE.sub("", text)
    return _MD_EMPHASIS_RE.sub("", text)


def clean_untrusted(text: str, own_url: str | None) -> str:
    """Plain, single-line, mention-free text with no URL but ``own_url``."""
    text = _INVISIBLE_RE.sub("", strip_markup(text))
    text = " ".join(strip_markdown(line) for line in text.splitlines())
    text = remove_foreign_urls(text, own_url)
    text = _MENTION_TOKEN_RE.sub("", text)
    text = _SPACES_RE.sub(" ", text).strip()
    # Punctuation orphaned by a removed link: "see ( )", "at ."
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return neutralize_mentions(_SPACES_RE.sub(" ", text).strip())
