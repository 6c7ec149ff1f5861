"""Search text: one normalisation for what is indexed and what is asked, on both backends.

FTS5's ``unicode61`` tokenizer and PostgreSQL's ``simple`` configuration disagree on many
details (hyphenated words, URLs, version numbers, diacritics) and neither can split Chinese,
Japanese or Korean text into words. So the database never sees raw text: this module reduces
a text to space-separated tokens made only of letters and digits, which both tokenizers split
identically. CJK runs become overlapping character bigrams ("분산시스템" -> "분산 산시 시스 스템"),
so any word of two or more characters is found as a phrase of its bigrams, without a
dictionary and without a language guess.
"""

from __future__ import annotations

import re
import unicodedata

# Output cap: PostgreSQL refuses a tsvector over 1 MiB; both backends index the same prefix.
MAX_SEARCH_CHARS = 100_000
# PostgreSQL silently skips words over 2047 bytes; nobody searches for such tokens anyway.
MAX_TOKEN_CHARS = 64

# Han (incl. extensions and compatibility ideographs), kana, Hangul syllables and jamo,
# the iteration mark and the prolonged sound mark: scripts written without spaces between
# words (Korean has spaces, but particles glue onto nouns: 비용을, 비용이).
_CJK_CLASS = (
    "\u1100-\u11ff\u3005\u3006\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uf900-\ufaff\U00020000-\U0003134f"
)
_CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
_HAS_CJK = re.compile(f"[{_CJK_CLASS}]")
# Letters and digits only: underscores, punctuation, symbols and combining marks separate.
_WORD = re.compile(r"[^\W_]+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
# Latin letters that may carry diacritics, folded so "café" and "cafe" meet.
_LATIN_ACCENTED = re.compile("[\u00c0-\u024f\u1e00-\u1eff]+")


def _strip_latin_diacritics(match: re.Match[str]) -> str:
    decomposed = unicodedata.normalize("NFD", match.group())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _cjk_bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def normalize(text: str) -> str:
    """NFKC (full-width forms, ligatures), case-folded, Latin diacritics removed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if folded.isascii():
        return folded
    return _LATIN_ACCENTED.sub(_strip_latin_diacritics, folded)


def tokens(text: str) -> list[str]:
    """The index tokens of ``text``, in order (CJK runs as bigrams)."""
    folded = normalize(text)
    if folded.isascii():
        return [t for t in _ASCII_WORD.findall(folded) if len(t) <= MAX_TOKEN_CHARS]
    out: list[str] = []
    for word in _WORD.findall(folded):
        if not _HAS_CJK.search(word):
            if len(word) <= MAX_TOKEN_CHARS:
                out.append(word)
            continue
        # Split at script boundaries ("aws비용" -> "aws", "비용") and segment the CJK runs.
        pos = 0
        for run in _CJK_RUN.finditer(word):
            if run.start() > pos and run.start() - pos <= MAX_TOKEN_CHARS:
                out.append(word[pos : run.start()])
            out.extend(_cjk_bigrams(run.group()))
            pos = run.end()
        if pos < len(word) and len(word) - pos <= MAX_TOKEN_CHARS:
            out.append(word[pos:])
    return out


def is_cjk(token: str) -> bool:
    return bool(_HAS_CJK.search(token))


def searchable_text(text: str, *, max_chars: int = MAX_SEARCH_CHARS) -> str:
    """What to store in ``stories.search_title`` / ``search_body`` for ``text``.

    Lower-cased, NFKC-normalised, punctuation removed, CJK runs as overlapping bigrams
    (a one-character run stays one character), cut at ``max_chars`` on a token boundary.
    """
    joined = " ".join(tokens(text))
    if len(joined) <= max_chars:
        return joined
    cut = joined.rfind(" ", 0, max_chars + 1)
    return joined[: cut if cut > 0 else max_chars]
