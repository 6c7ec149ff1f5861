"""A short, Discord-safe excerpt of a story around the words that matched.

Computed in Python from the original text (the index only holds the segmented search text,
whose bigrams mean nothing to a reader). The text is escaped for Discord markdown first and
only then wrapped in ``**bold**``, so a story can neither break the formatting nor ping anyone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.core.search.segment import is_cjk, normalize

SNIPPET_CHARS = 200
SCAN_CHARS = 20_000  # look for matches this far into a long article, no further
_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()<:-])")
_SPACE = re.compile(r"\s+")
_WORDISH = re.compile(r"[^\W_]+")


def escape_markdown(text: str) -> str:
    """Backslash every Discord markdown character; break @everyone/@here with a zero-width space."""
    return _MARKDOWN.sub(r"\\\1", text).replace("@", "@\u200b")


def _folded_with_offsets(text: str) -> tuple[str, list[int]]:
    """``normalize(text)`` plus, for each folded character, the index it came from."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        folded = normalize(ch)
        chars.append(folded)
        offsets.extend([i] * len(folded))
    return "".join(chars), offsets


def _pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    alternatives = []
    for word in words:
        parts = _WORDISH.findall(normalize(word))
        if not parts:
            continue
        pieces = []
        for part in parts:
            piece = re.escape(part)
            # Whole words for spaced scripts; CJK words sit inside longer runs by nature.
            if not is_cjk(part[0]):
                piece = r"(?<![^\W_])" + piece
            if not is_cjk(part[-1]):
                piece += r"(?![^\W_])"
            pieces.append(piece)
        alternatives.append(r"[\W_]+".join(pieces))
    if not alternatives:
        return None
    # Longest first, so a phrase wins over one of its own words.
    alternatives.sort(key=len, reverse=True)
    return re.compile("|".join(alternatives))


def _matches(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    pattern = _pattern(words)
    if pattern is None:
        return []
    folded, offsets = _folded_with_offsets(text)
    spans = []
    for m in pattern.finditer(folded):
        if m.end() > m.start():
            spans.append((offsets[m.start()], offsets[m.end() - 1] + 1))
    return spans


def _window(text: str, first: int, size: int) -> tuple[int, int]:
    if len(text) <= size:
        return 0, len(text)
    start = max(0, first - size // 4)
    if start > 0:
        space = text.find(" ", start, first)
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", start + size // 2, end)
        end = space if space > 0 else end
    return start, end


def make_snippet(texts: Sequence[str], words: Sequence[str], *, size: int = SNIPPET_CHARS) -> str:
    """About ``size`` characters from the first of ``texts`` that mentions one of ``words``
    (else from the first non-empty one), matches in bold, markdown-escaped."""
    candidates = [_SPACE.sub(" ", t[:SCAN_CHARS]).strip() for t in texts]
    candidates = [c for c in candidates if c]
    if not candidates:
        return ""
    text, spans = candidates[0], []
    for candidate in candidates:
        found = _matches(candidate, words)
        if found:
            text, spans = candidate, found
            break
    start, end = _window(text, spans[0][0] if spans else 0, size)
    out = ["…"] if start > 0 else []
    pos = start
    for s, e in spans:
        if s < pos or e > end:
            continue
        out.append(escape_markdown(text[pos:s]))
        out.append("**" + escape_markdown(text[s:e]) + "**")
        pos = e
    out.append(escape_markdown(text[pos:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)
