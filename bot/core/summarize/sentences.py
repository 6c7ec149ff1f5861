"""Sentence splitting for English, Korean, Japanese and Chinese blog text.

Hand-written rather than pysbd: pysbd (last release 2021) needs the language up front (ours is
often unknown, and posts mix scripts), has no Korean rules, and is slow on long posts. The rules
here are the ones engineering-blog text needs:

* a Latin ``.``/``!``/``?``/ellipsis ends a sentence only when whitespace follows (so decimals,
  versions, file names, hosts and e-mail addresses never split), optionally after closing
  quotes/brackets;
* a ``.`` after a known abbreviation ("e.g.", "Dr.", "vs.") never ends one; after an ambiguous
  one ("Inc.", "etc.", "U.S.", an initial) only when a typical sentence opener follows;
* a lowercase next word means the sentence goes on (English sentences start uppercase),
  except for mixed-case product names such as "iOS" or "eBPF";
* ``。！？．`` end a sentence with or without a following space (CJK), Korean "다." / "요."
  fall under the Latin rule (Hangul is not lowercase);
* URLs and e-mail addresses are protected spans: nothing inside them is a boundary;
* every line is its own unit: clean text keeps headings and list items on separate lines.

Every returned sentence is a verbatim substring of the input (stripped), which the extractive
summarizer relies on.
"""

from __future__ import annotations

import re

_CLOSERS = "\"'”’»)\\]}」』）】〕〉》"
_LATIN_END_RE = re.compile(r"(?:\.{3,}|…|[.!?]+)[" + _CLOSERS + r"]*(?=\s)")
_LATIN_EOL_RE = re.compile(r"(?:\.{3,}|…|[.!?]+)[" + _CLOSERS + r"]*$")
_CJK_END_RE = re.compile(r"[。！？｡．]+[" + _CLOSERS + r"]*")
# A half-width "!" or "?" glued to the next CJK character: "すごい!次は…".
_BANG_CJK_RE = re.compile(r"[!?]+(?=[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3])")

_URL_RE = re.compile(r"(?:(?:https?|ftp)://|www\.)[^\s<>\"「」『』]+", re.IGNORECASE)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_TRAILING = ".,;:!?)]}'\"”’»。、！？"

# "." after these never ends a sentence, whatever their case.
_ABBREVIATIONS: frozenset[str] = frozenset(
    {
        "e.g", "i.e", "vs", "cf", "viz", "approx", "fig", "figs", "eq", "eqs", "vol", "vols",
        "pp", "al", "ca", "incl", "resp", "ver", "ref", "refs",
    }
)  # fmt: skip
# Titles, months and the like: abbreviations only when capitalised ("Ms. Lee" but "38 ms.").
_CAPITALISED_ABBREVIATIONS: frozenset[str] = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "st", "mt", "gen", "rep", "sen", "gov", "capt", "lt",
        "col", "sgt", "rev", "hon", "pres", "ch", "sec", "dept", "est", "ed", "eds", "jan",
        "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon",
        "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    }
)  # fmt: skip
# "." after these ends a sentence only before a typical sentence opener.
_AMBIGUOUS: frozenset[str] = frozenset(
    {"inc", "ltd", "corp", "co", "llc", "plc", "bros", "etc", "a.m", "p.m", "u.s", "u.k",
     "u.n", "e.u", "u.s.a", "ph.d", "jr", "sr"}
)  # fmt: skip
_STARTERS: frozenset[str] = frozenset(
    {
        "the", "this", "that", "these", "those", "it", "its", "we", "our", "they", "their",
        "he", "she", "his", "her", "i", "you", "your", "in", "on", "at", "for", "but", "and",
        "or", "so", "if", "when", "while", "after", "before", "however", "also", "a", "an",
        "as", "there", "here", "what", "why", "how", "with", "by", "to", "from", "since",
        "today", "now", "then", "meanwhile", "still", "yet", "one", "each", "some", "many",
        "most", "all", "both", "next", "finally", "first", "second", "last", "instead",
        "because", "although", "despite", "during", "unlike", "like", "no", "not", "every",
    }
)  # fmt: skip
_ACRONYM_RE = re.compile(r"^(?:[a-z]\.)+[a-z]$")
_LIST_NUMBER_RE = re.compile(r"^(?:\d{1,3}|[ivxlc]{1,5}|[a-z])$", re.IGNORECASE)
_MARKER_ONLY_RE = re.compile(r"^[(\[]?(?:\d{1,3}|[a-zA-Z])[.)\]]$")
_MIXED_CASE_RE = re.compile(r"^[a-z]+[A-Z0-9]")
_OPENERS = "\"'“‘«([{「『（"


def split_sentences(text: str) -> list[str]:
    """Split plain text into sentences; each one is a stripped substring of ``text``."""
    out: list[str] = []
    for line in text.splitlines():
        if line.strip():
            out.extend(_split_line(line))
    return out


def _protected_spans(line: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _URL_RE.finditer(line):
        end = m.end()
        # Trailing punctuation belongs to the sentence, not to the address.
        while end > m.start() and line[end - 1] in _URL_TRAILING:
            end -= 1
        spans.append((m.start(), end))
    spans.extend((m.start(), m.end()) for m in _EMAIL_RE.finditer(line))
    return spans


def _split_line(line: str) -> list[str]:
    spans = _protected_spans(line)

    def protected(pos: int) -> bool:
        return any(start <= pos < end for start, end in spans)

    cuts: set[int] = set()
    for m in _LATIN_END_RE.finditer(line):
        if not protected(m.start()) and _latin_boundary(line, m.start(), m.end()):
            cuts.add(m.end())
    for m in _CJK_END_RE.finditer(line):
        if not protected(m.start()) and _cjk_boundary(line, m.start(), m.end()):
            cuts.add(m.end())
    for m in _BANG_CJK_RE.finditer(line):
        if not protected(m.start()):
            cuts.add(m.end())

    pieces: list[str] = []
    prev = 0
    for cut in sorted(cuts):
        piece = line[prev:cut].strip()
        if _MARKER_ONLY_RE.match(piece):
            continue  # "2." alone is an inline list marker: it stays with what follows.
        if piece:
            pieces.append(piece)
        prev = cut
    tail = line[prev:].strip()
    if tail:
        pieces.append(tail)
    return pieces


def _latin_boundary(line: str, start: int, end: int) -> bool:
    rest = line[end:].lstrip()
    if not rest:
        return True
    next_word = rest.split(None, 1)[0].lstrip(_OPENERS)
    first = next_word[:1] or rest[:1]
    if first.islower() and first.isascii() and not _MIXED_CASE_RE.match(next_word):
        # English sentences start uppercase; "e.g. foo", "Inc. announced", "... and" go on.
        return False
    terminator = line[start]
    if terminator != "." or line.startswith("...", start):
        return True  # "!", "?" and ellipses before a non-lowercase word end the sentence.

    before = line[:start]
    word = before.rsplit(None, 1)[-1] if before.strip() else ""
    word = word.lstrip(_OPENERS)
    key = word.lower()
    if not word:
        return True
    if key in _ABBREVIATIONS or (key in _CAPITALISED_ABBREVIATIONS and word[0].isupper()):
        return False
    if key in ("no", "nos") and word[0].isupper() and first.isdigit():
        return False  # "No. 5"
    if _LIST_NUMBER_RE.match(word) and not before[: len(before) - len(word)].strip(" \t-*•"):
        return False  # "1. Install…" / "a. First…" at the start of a line is a list marker.
    opener = next_word.rstrip(".,;:!?").lower()
    if key in _AMBIGUOUS or _ACRONYM_RE.match(key) or (len(word) == 1 and word.isupper()):
        # "Acme Inc. The deal…" ends; "the U.S. Army", "J. R. R. Tolkien" go on.
        return opener in _STARTERS or not first.isascii()
    return True


def _cjk_boundary(line: str, start: int, end: int) -> bool:
    term = line[start]
    after = line[end : end + 1]
    if term == "．" and start > 0 and line[start - 1].isdigit() and after.isdigit():
        return False  # full-width decimal point: "３．１４"
    # 「…です。」と言った — the quote is part of a longer sentence.
    return not (end > start + 1 and line[end - 1] in _CLOSERS and after and after in "とっ、")


def ends_with_terminator(text: str) -> bool:
    """True when ``text`` ends like a sentence (used to tell headings from prose)."""
    stripped = text.rstrip()
    return bool(_LATIN_EOL_RE.search(stripped) or _CJK_END_RE.search(stripped[-3:] or " "))
