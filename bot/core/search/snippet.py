"""A short, Discord-safe excerpt of a story around the words that matched.

Computed in Python from the original text (the index only holds the segmented search text,
whose bigrams mean nothing to a reader). Escaping is :func:`bot.core.briefs.safetext.inert`, the one
place hostile text is made safe (control and bidi characters dropped, markdown escaped,
mentions defused): the whole excerpt goes through it in one call, with the matches marked by
private-use sentinels that become ``**`` afterwards, so a story can neither break the
formatting nor ping anyone, and escaping sees the text as one line (not every piece as a line
start). The length limit applies to the finished, escaped text: a caller never has to cut it,
so a ``**bold**`` pair or an escape sequence is never split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.core.briefs.safetext import ELLIPSIS, inert
from bot.core.search.segment import is_cjk, normalize

SNIPPET_CHARS = 200
SCAN_CHARS = 20_000  # look for matches this far into a long article, no further
# Stand-ins for the ** around a match while the text is escaped: private-use characters,
# which inert() leaves alone and which are removed from story text beforehand.
_OPEN, _CLOSE = "\ue000", "\ue001"
_SENTINELS = re.compile(f"[{_OPEN}{_CLOSE}]")
_SPACE = re.compile(r"\s+")
_WORDISH = re.compile(r"[^\W_]+")


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


def _render(text: str, spans: Sequence[tuple[int, int]], start: int, end: int) -> str:
    """``text[start:end]`` escaped, with the spans wholly inside it in bold."""
    marked = [ELLIPSIS] if start > 0 else []
    pos = start
    for s, e in spans:
        if s < pos or e > end:
            continue
        marked += [text[pos:s], _OPEN, text[s:e], _CLOSE]
        pos = e
    marked.append(text[pos:end].rstrip() if end < len(text) else text[pos:end])
    if end < len(text):
        marked.append(ELLIPSIS)
    out = inert("".join(marked))
    # A match that was nothing but control characters leaves an empty pair: drop it.
    out = out.replace(_OPEN + _CLOSE, "")
    return out.replace(_OPEN, "**").replace(_CLOSE, "**")


def _fitted(text: str, spans: Sequence[tuple[int, int]], start: int, end: int, size: int) -> str:
    """The longest rendering from ``start`` that is at most ``size`` characters once escaped
    (escaping can double hostile text), ending on a word boundary where one is near."""
    out = _render(text, spans, start, end)
    if len(out) <= size:
        return out
    lo, hi = start, end - 1  # the rendering grows with its end: the last end that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(_render(text, spans, start, mid)) <= size:
            lo = mid
        else:
            hi = mid - 1
    space = text.rfind(" ", start, lo + 1)
    if space > start + (lo - start) // 2:
        lo = space
    out = _render(text, spans, start, lo)
    return out if len(out) <= size else ""


def make_snippet(texts: Sequence[str], words: Sequence[str], *, size: int = SNIPPET_CHARS) -> str:
    """At most ``size`` characters (escaped, bold markers and ellipses included) from the
    first of ``texts`` that mentions one of ``words`` (else from the first non-empty one),
    matches in bold, safe as Discord markdown."""
    candidates = [_SPACE.sub(" ", _SENTINELS.sub("", t[:SCAN_CHARS])).strip() for t in texts]
    candidates = [c for c in candidates if c]
    if not candidates or size <= 0:
        return ""
    text, spans = candidates[0], []
    for candidate in candidates:
        found = _matches(candidate, words)
        if found:
            text, spans = candidate, found
            break
    start, end = _window(text, spans[0][0] if spans else 0, size)
    return _fitted(text, spans, start, end, size)
