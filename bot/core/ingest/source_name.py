"""Names and keys of feeds a guild adds itself (`/feed add`, OPML import): pure, no I/O.

A non-catalog feed is shown by a short name taken from its title, with the noise feed
generators add stripped ("Netflix TechBlog – Medium" -> "Netflix TechBlog", "Eng | Blog" ->
"Eng", "Latest posts from X" -> "X"). Only a feed without a usable title is named by its host.
Its key (``source:`` filters, autocomplete) is ``slug`` of that name: unicode letters and digits
lowercased, everything else folded to '-', so a Korean or Japanese title keeps its own key.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

KEY_MAX = 32  # like catalog keys (bot.core.ingest.catalog)
NAME_MAX = 80

# Trailing words feed generators append after a separator ("X – Medium", "X | Blog").
_NOISE = (
    r"medium|substack|blog|the blog|official blog|blogs|rss|rss feed|rss 2\.0|atom|atom feed|"
    r"feed|news feed|posts|latest posts|all posts|recent posts|articles|latest articles|"
    r"all articles|stories|latest stories|latest|home|homepage|index"
)
_SEPARATORS = r"[-–—|:·•»/~]"
_SEPARATED_SUFFIX = re.compile(rf"\s*{_SEPARATORS}+\s*(?:{_NOISE})\s*$", re.IGNORECASE)
_SEPARATED_PREFIX = re.compile(rf"^\s*(?:{_NOISE})\s*{_SEPARATORS}+\s*", re.IGNORECASE)
# Trailing feed words without a separator ("Fresh Eng Blog RSS Feed", "X Feed").
_BARE_SUFFIX = re.compile(r"\s+(?:rss\s+feed|atom\s+feed|rss|atom|feed)\s*$", re.IGNORECASE)
# "Latest posts from X", "Articles on X", "Posts by X".
_PREFIX = re.compile(
    r"^\s*(?:(?:the\s+)?(?:latest|recent|newest|all)\s+)?(?:posts|articles|stories|news|entries)"
    r"\s+(?:from|on|at|by|of)\s+",
    re.IGNORECASE,
)
_ONLY_NOISE = re.compile(rf"^\s*(?:{_NOISE}|untitled|no title|null|none)?\s*$", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[\W_]+")


def host_name(url: str) -> str:
    """The feed's host without ``www.`` (the name of a feed without a usable title)."""
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    return host or url


def is_host_name(name: str | None, url: str) -> bool:
    """True when ``name`` is a host-derived placeholder (or missing), not a real title."""
    if not name or not name.strip():
        return True
    name = name.strip().lower()
    host = (urlsplit(url).hostname or "").lower()
    return name in {host, host.removeprefix("www."), url.lower()}


def _clean(title: str) -> str:
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in title)
    text = _SPACE.sub(" ", text).strip()
    for _ in range(4):  # "X - Blog - RSS", "Latest posts from X | Medium"
        before = text
        for pattern in (_SEPARATED_SUFFIX, _SEPARATED_PREFIX, _BARE_SUFFIX, _PREFIX):
            stripped = pattern.sub("", text).strip()
            if stripped and not _ONLY_NOISE.match(stripped):
                text = stripped
        if text == before:
            break
    text = text.strip(" -–—|:·•»/~")
    if _ONLY_NOISE.match(text) or text.lower().startswith(("http://", "https://")):
        return ""
    if len(text) > NAME_MAX:
        cut = text[: NAME_MAX - 1]
        text = (cut.rsplit(" ", 1)[0] if " " in cut[NAME_MAX // 2 :] else cut).rstrip() + "…"
    return text


def display_name(title: str | None, url: str) -> str:
    """A short name for a feed from its title; its host only when no usable title is left."""
    return _clean(title or "") or host_name(url)


def slug(name: str) -> str:
    """A key from a name: unicode letters/digits lowercased, runs of anything else as '-'.

    "" when nothing is left (see ``source_key`` for the host fallback)."""
    text = _NOT_WORD.sub("-", unicodedata.normalize("NFKC", name).lower()).strip("-")
    if len(text) > KEY_MAX:  # cut at a word boundary when that keeps most of it
        cut = text[: KEY_MAX + 1]
        text = cut[: cut.rindex("-")] if "-" in cut[KEY_MAX // 2 :] else text[:KEY_MAX]
    return text.strip("-")


def source_key(name: str, url: str) -> str:
    """The key base for a feed named ``name``: its slug, else its host's, else "feed"."""
    return slug(name) or slug(host_name(url)) or "feed"


__all__ = ["KEY_MAX", "display_name", "host_name", "is_host_name", "slug", "source_key"]
