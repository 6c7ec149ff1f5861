"""Language-light tokens for sentence similarity.

No dictionaries or models: Latin words are lower-cased, stop-worded and crudely stemmed; runs of
Hangul, kana or Han characters become character bigrams, which work for Korean, Japanese and
Chinese without a segmenter (the usual trick in CJK retrieval).
"""

from __future__ import annotations

import re

_TOKEN_RE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9+#_\-]*"  # Latin words, "c++", "c#", "k8s", "real-time"
    r"|[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]+"  # Hangul
    r"|[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u30fc]+"  # kana/Han
)
_HANGUL_RE = re.compile(r"[\uac00-\ud7a3]")
_HIRAGANA_ONLY_RE = re.compile(r"^[\u3040-\u309f]+$")
_CJK_CHAR_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SPACE_WORD_RE = re.compile(r"[^\s]+")

_EN_STOP: frozenset[str] = frozenset(
    {
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and",
        "any", "are", "as", "at", "be", "because", "been", "before", "being", "below",
        "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down",
        "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he",
        "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its",
        "itself", "just", "let", "me", "more", "most", "my", "no", "nor", "not", "now", "of",
        "off", "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own", "same",
        "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
        "then", "there", "these", "they", "this", "those", "through", "to", "too", "under",
        "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while",
        "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "new", "one",
        "two", "use", "used", "using", "via", "get", "got", "make", "made", "many", "much",
        "may", "might", "must", "need", "like", "well", "way", "ways", "still", "even", "every",
        "across", "within", "without", "per"
    }
)  # fmt: skip
# Bigrams made of Korean verb endings and particles: frequent in every sentence, meaningless.
_KO_STOP: frozenset[str] = frozenset(
    {
        "니다", "습니", "합니", "있습", "했습", "입니", "됩니", "하는", "있는", "한다",
        "있다", "했다", "된다", "에서", "으로", "하고", "그리", "리고", "이다", "것을",
        "것이", "것은", "하여", "위해", "통해", "대한", "수있", "있도", "이를", "였다",
        "었다", "에는", "까지", "부터"
    }
)  # fmt: skip


def _stem(word: str) -> str:
    # Crude suffix stripping so "deploys"/"deployed"/"deploying" meet; good enough for overlap.
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Tokens for similarity: stemmed Latin words and CJK character bigrams."""
    out: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        tok = m.group()
        first = tok[0]
        if first.isascii():
            low = tok.lower().strip("-_")
            if len(low) < 2 or low in _EN_STOP or low.isdigit():
                continue
            out.append(_stem(low))
            continue
        if len(tok) == 1:
            out.append(tok)
            continue
        is_korean = bool(_HANGUL_RE.match(first))
        for i in range(len(tok) - 1):
            gram = tok[i : i + 2]
            if is_korean and gram in _KO_STOP:
                continue
            if not is_korean and _HIRAGANA_ONLY_RE.match(gram):
                continue  # Japanese particles and inflections
            out.append(gram)
    return out


def count_words(text: str) -> int:
    """Roughly how many words ``text`` has, in any script.

    Space-separated words count once (English, Korean); unspaced Japanese/Chinese count as one
    word per two characters, about what a segmenter would find.
    """
    total = 0
    for m in _SPACE_WORD_RE.finditer(text):
        word = m.group()
        cjk = len(_CJK_CHAR_RE.findall(word))
        if cjk >= 2:
            total += max(1, cjk // 2) + (1 if cjk < len(word) - 1 else 0)
        else:
            total += 1
    return total


def cjk_ratio(text: str) -> float:
    """Share of CJK characters (Hangul included) among the non-space characters."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    cjk = sum(1 for c in chars if _CJK_CHAR_RE.match(c) or _HANGUL_RE.match(c))
    return cjk / len(chars)
