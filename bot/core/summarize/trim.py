"""Shortening text without breaking it: whole sentences first, then words, then an ellipsis."""

from __future__ import annotations

from bot.core.summarize.sentences import split_sentences

ELLIPSIS = "…"
_SOFT_BREAKS = " \t\n、，,;；:：/"


def cut_words(text: str, max_chars: int, ellipsis: str = ELLIPSIS) -> str:
    """Cut ``text`` to at most ``max_chars`` on a word boundary, ending with ``ellipsis``.

    Unspaced CJK text has no word boundaries; there the cut falls after the last comma-like
    mark when one is near, else at a character.
    """
    text = text.strip()
    if len(text) <= max_chars:
        return text
    room = max_chars - len(ellipsis)
    if room <= 0:
        return ellipsis[:max_chars]
    head = text[:room]
    nxt = text[room : room + 1]
    if nxt and not nxt.isspace():
        # Back up to a break, unless that would throw away most of the room.
        cut = max(head.rfind(c) for c in _SOFT_BREAKS)
        if cut >= room // 2:
            head = head[: cut + 1]
    head = head.rstrip(" \t\n,;:，、；：-–—(")
    return head + ellipsis if head else ellipsis


def fit_sentences(text: str, max_chars: int, max_sentences: int | None = None) -> str:
    """Whole leading sentences of ``text`` within the limits; a word cut only if none fits."""
    sentences = split_sentences(text)
    if not sentences:
        return ""
    if max_sentences is not None:
        sentences = sentences[:max_sentences]
    out = sentences[0]
    if len(out) > max_chars:
        return cut_words(out, max_chars)
    for sentence in sentences[1:]:
        # Japanese and Chinese run sentences together; everything else takes a space.
        sep = "" if out[-1] in "。！？．｡" else " "
        candidate = f"{out}{sep}{sentence}"
        if len(candidate) > max_chars:
            break
        out = candidate
    return out
