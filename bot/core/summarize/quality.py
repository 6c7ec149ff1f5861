"""Which sentences may be shown as a lead, a key point or a takeaway: only complete ones.

Technical posts are full of text that splits like a sentence but reads as noise in a digest:
code and shell lines, log and stack-trace lines, formula fragments ("O(lg N) allowing the
client…"), list fragments, captions, bylines, date lines, tables of contents and follow
prompts. Rather than teaching the ranker to dislike them, the extractive path asks
:func:`is_complete_sentence` before a sentence can become a candidate at all, so a weak
sentence can never win just because the post has nothing better — in that case the slot
stays empty.

Bylines are special: HTML stripping often glues "Posted by NAME, TITLE, ORG" onto the first
real sentence, and that sentence is usually the best lead. :func:`strip_byline` cuts the
credit off so the remainder can still qualify.

Everything here is pure and regex-based: no tagger, no language model, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core.summarize.boilerplate import is_boilerplate
from bot.core.summarize.sentences import split_sentences
from bot.core.summarize.types import Section, Summary

_MIN_LATIN_WORDS = 5
_OPENING_QUOTES = "\"'“‘«„"
_CLOSERS = "\"'”’»)\\]}」』）】〕〉》"

_HANGUL_RE = re.compile(r"[\uac00-\ud7a3]")
_KANA_RE = re.compile(r"[\u3040-\u30ff]")
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_LETTER_RE = re.compile(r"[A-Za-zÀ-ɏ]")

# Latin prose ends with . ! or ? (optionally inside quotes/brackets); an ellipsis means cut off.
_LATIN_END_RE = re.compile(r"(?<![.…])[.!?][" + _CLOSERS + r"]*$")
# Korean endings: a polite/plain final syllable before the mark. Memo style ("개선함.") and
# bare nouns ("성능 개선.") read as fragments in a digest, so they are not in the set.
_KOREAN_END_RE = re.compile(
    r"[다요죠까네군라자지니](?:\s*\([^)]*\))?[.!?。！？][" + _CLOSERS + r"]*$"
)
_CJK_END_RE = re.compile(r"[。！？｡!?][" + _CLOSERS + r"]*$")

# A mixed-case product name ("iOS 18 ships…", "eBPF lets…") is a legitimate opener.
_MIXED_CASE_START_RE = re.compile(r"^[a-z]+[A-Z0-9]")

_SHELL_RE = re.compile(
    r"^(?:\$|#|%|>>>|\.\.\.|>|PS>|C:\\[^>]*>)\s"
    r"|^[\w.-]+@[\w.-]+(?::\S*)?\s?[$#]\s"  # user@host:~$ cmd
    r"|^(?:sudo|apt(?:-get)?|brew|pip3?|npm|npx|yarn|cargo|go|git|docker|kubectl|curl|wget"
    r"|make|cmake|cd|ls|cat|echo|export|chmod|ssh)\s+-{0,2}[\w./:-]+(?:\s|$)"
)
_LOG_RE = re.compile(
    r"^Traceback \(most recent call last\)"
    r"|^at\s+[\w$.<>/]+\("  # Java/JS stack frame
    r"|^File \"[^\"]+\", line \d+"
    r"|^(?:\w+\.)*\w*(?:Error|Exception|Panic)(?::|$)"
    r"|^\[?(?:ERROR|WARN(?:ING)?|INFO|DEBUG|TRACE|FATAL|CRITICAL|PANIC)\]?[\s:\[]"
    r"|^\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"
    r"|^E\s{2,}\S"
    r"|^goroutine \d+ \["
)
_CODE_RE = re.compile(
    r"[;{}]\s*$"
    r"|^\s*(?:#include|#define|#!|import\s+[\w.]+|from\s+[\w.]+\s+import|def\s+\w+\(|class\s+\w+[:(]"
    r"|fn\s+\w+|func\s+\w+|function\s+\w+|(?:const|let|var)\s+\w+\s*=|return\s|template\s*<"
    r"|using\s+namespace|public\s+(?:static\s+)?\w+|(?:int|void|auto|char|bool)\s+\w+\s*[(=])"
    r"|^\w+::\w|->\s*\w+\(|\w\(\);|==|!=|&&|\|\||(?<![A-Za-z])\+\+\w|\w\+\+\s*[;)]|<<"
)
# "x = y + 2", "f(n) is…", "O(lg N) allowing…": an expression where a subject should be.
_FORMULA_START_RE = re.compile(
    r"^(?:[B-HJ-Zb-z]\s*\(|[A-Za-z]\(|[A-Za-z_]\w{0,2}\s*(?:[=<>≤≥≈∝]|\+|\*|/)\s)"
)
_LATEX_RE = re.compile(r"\\(?:frac|sum|int|sqrt|mathbb|mathcal|cdot|leq|geq|alpha|beta|log)\b"
                       r"|\$[^$\s][^$]*\$")  # fmt: skip
_MATH_SYMBOLS = frozenset("=+*/^<>|_\\∑∏∫√≤≥≠≈∈∉∀∃→←⇒⇔×÷·∞∂∇λσμπθ")
_PURE_NUMBER_RE = re.compile(r"^[~≈]?[$€£¥]?\d[\d,.]*%?[.,;:!?]?$")

_CAPTION_RE = re.compile(
    r"^(?:figure|fig\.?|table|image|photo|diagram|chart|graph|screenshot|illustration|listing"
    r"|video|source)\s*\d*[a-z]?\s*[:.|—–-]\s"
    r"|^(?:그림|표|사진|도표|図|表|写真)\s*\d+"
    r"|^\(?(?:above|below|left|right|pictured|top|bottom)\)?\s*[:—–-]\s",
    re.IGNORECASE,
)
_BYLINE_RE = re.compile(
    r"^(?:posted|written|published|authored|reviewed|edited|reported|contributed|compiled"
    r"|translated|guest post)\s+by\b"
    r"|^by\s+(?-i:[A-Z][\w.'’-]*\s*){1,4}(?:[·|•—–]|$)"
    r"|^(?:photos?|images?|illustrations?|header image|cover image|video)\s+(?:by|from|via)\b"
    r"|^(?:photos?|images?|credits?|source|illustrations?)\s*:"
    r"|\b(?:image|photo) (?:credit|courtesy)\b|\bcourtesy of\b"
    # Credits, not "Thanks to the new cache, latency fell by half."
    r"|^\W*(?:special thanks|many thanks|acknowledg(?:e)?ments?)\b"
    r"|^thanks to\b.{0,80}\bfor (?:their |his |her |the )?(?:help|review|feedback|support)"
    r"|^(?:글|작성자|사진|출처|이미지|문|写真|執筆|著者|文責|画像)\s*[:：|]"
    r"|^(?:글|作成|文)\s*[·・]",
    re.IGNORECASE,
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE_RE = re.compile(
    r"(?:(?:posted|published|updated|last updated|written|date)\s*(?:on|:)?\s*)?"
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
    r"(?:" + _MONTH + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"
    r"|\d{1,2}\s+" + _MONTH + r",?\s+\d{4}"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|\d{4}\s*년\s*\d{1,2}\s*월\s*\d{1,2}\s*일"
    r"|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)",
    re.IGNORECASE,
)
_READ_TIME_RE = re.compile(r"^\d+\s*(?:-\s*)?min(?:ute)?s?\s+read\b\W*", re.IGNORECASE)
_TOC_RE = re.compile(
    # Only the label itself: "In this post, we explain…" and "Contents of the cache…" are prose.
    r"^\W*(?:table of contents\b|(?:contents|in this (?:post|article|guide)|on this page|outline"
    r"|목차|目次|もくじ)\s*(?::|：|$))",
    re.IGNORECASE,
)
_FOLLOW_RE = re.compile(
    r"^\W*(?:follow (?:us|me|@|the (?:blog|team|author))|subscribe\b|sign up (?:for|to)\b"
    r"|join (?:us|our|the conversation)\b|stay tuned\b|don'?t forget to (?:follow|subscribe))",
    re.IGNORECASE,
)

# Enough of English's verbs and auxiliaries that a sentence without any of them (and without
# an -ed/-s form) is almost surely a noun phrase lifted from a list.
_COMMON_VERBS: frozenset[str] = frozenset(
    {
        "is", "are", "was", "were", "be", "been", "being", "am", "has", "have", "had", "do",
        "does", "did", "can", "could", "will", "would", "should", "may", "might", "must",
        "shall", "won't", "can't", "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't",
        "it's", "we're", "we've", "we'll", "i'm", "that's", "there's", "let's", "make", "made",
        "take", "took", "run", "ran", "get", "got", "go", "went", "see", "saw", "use", "keep",
        "kept", "put", "set", "cut", "let", "find", "found", "give", "gave", "know", "knew",
        "think", "thought", "build", "built", "write", "wrote", "read", "need", "want", "show",
        "shown", "begin", "began", "become", "became", "leave", "left", "hold", "held", "bring",
        "brought", "lead", "led", "grow", "grew", "fall", "fell", "drop", "win", "won", "lose",
        "lost", "pay", "paid", "ship", "spend", "spent", "send", "sent", "meet", "met", "try",
    }
)  # fmt: skip
_NOT_VERBS_IN_S: frozenset[str] = frozenset(
    {"this", "its", "his", "has", "was", "is", "us", "as", "thus", "plus", "less", "across",
     "always", "perhaps", "series", "status", "bonus", "versus", "via", "ones", "news"}
)  # fmt: skip


def strip_byline(text: str) -> str:
    """``text`` without a leading byline, credit, date or read time glued onto it.

    "Posted by John Quinn, Software Engineer, Google Research, Ghana An accurate record…"
    becomes "An accurate record…". The result is a suffix of ``text`` (the summary keeps
    sentences verbatim); a byline with no sentence after it comes back empty.
    """
    stripped = text.strip()
    rest = stripped
    for _ in range(3):  # a credit, then a date, then a read time, in any order
        before = rest
        rest = _strip_credit(rest)
        rest = _strip_leading_date(rest)
        rest = _READ_TIME_RE.sub("", rest, count=1).lstrip(" ·|•—–-")
        if rest == before:
            break
    return rest


def _strip_credit(text: str) -> str:
    by_name = re.match(r"^By\s+[A-Z]", text)
    if by_name is not None:
        # "By Jane Doe · 5 min read · …": only a separator proves that "By X" is a credit
        # ("By default, …" is a sentence).
        sep = re.search(r"\s[·|•]\s", text[:160])
        return text[sep.end() :].lstrip(" ·|•") if sep is not None else text
    match = re.match(r"^(?:posted|written|published|authored)\s+by\s+", text, re.IGNORECASE)
    if match is None:
        return text
    body = text[match.end() :]
    sep = re.search(r"\s[·|•]\s", body[:160])
    if sep is not None:
        return body[sep.end() :].lstrip(" ·|•")
    # The credit is a run of capitalised names, titles, orgs and places separated by commas;
    # the sentence starts at the first capitalised word that is a typical opener or that a
    # lowercase word follows ("Ghana An accurate…" starts at "An").
    words = list(re.finditer(r"\S+", body))
    for i, word in enumerate(words[:-1]):
        token, nxt = word.group(), words[i + 1].group()
        if not token[:1].isupper() or token.endswith(","):
            continue
        if token.lower() in _SENTENCE_OPENERS or (
            nxt[:1].islower() and nxt.lower() not in _NAME_CONNECTORS
        ):
            return body[word.start() :]
    return ""


_SENTENCE_OPENERS: frozenset[str] = frozenset(
    {"a", "an", "the", "this", "that", "these", "we", "our", "in", "today", "last", "when",
     "if", "it", "i", "as", "over", "for", "after", "at", "since", "many", "most", "every"}
)  # fmt: skip
_NAME_CONNECTORS: frozenset[str] = frozenset(
    {"of", "and", "&", "de", "van", "von", "der", "den", "du", "da", "la", "le", "y", "bin"}
)


def _strip_leading_date(text: str) -> str:
    match = _DATE_RE.match(text)
    if match is None:
        return text
    return text[match.end() :].lstrip(" ·|•—–-,:")


def rejection_reason(text: str, lang_hint: str | None = None) -> str | None:
    """Why ``text`` may not be shown as a summary sentence, or None when it may.

    ``lang_hint`` is the feed's language ("ko", "ja-JP", …); the script of the text itself
    decides which ending rules apply, the hint only settles mixed text.
    """
    s = text.strip()
    if not s:
        return "empty"
    for reason, pattern in _LINE_KINDS:
        if pattern.search(s):
            return reason
    if is_boilerplate(s):
        return "boilerplate"
    if s.endswith((":", "：", ",", "，", "、", ";", "；")):
        return "open ending"
    if _is_formula(s):
        return "formula"
    if _is_dash_list(s):
        return "list"
    if _is_cjk(s, lang_hint):
        return _cjk_reason(s)
    return _latin_reason(s)


def is_complete_sentence(text: str, lang_hint: str | None = None) -> bool:
    """True when ``text`` can stand alone as a lead, key point or takeaway."""
    return rejection_reason(text, lang_hint) is None


def keep_complete_sentences(summary: Summary, lang_hint: str | None = None) -> Summary:
    """``summary`` with every fragment dropped: for stored extractive rows written before
    these rules existed, which stay stored until the story's text changes.

    Points and the takeaway that fail are removed (none is better than a weak one); the lead
    keeps its complete sentences, bylines cut off, and stays as it was when none is complete
    so the story still has an opening line.
    """
    original = split_sentences(summary.lead)
    complete_lead = [s for s in map(strip_byline, original) if is_complete_sentence(s, lang_hint)]
    lead = summary.lead
    if complete_lead and complete_lead != original:
        # CJK sentences run on without a space; Latin ones take one.
        lead = complete_lead[0]
        for s in complete_lead[1:]:
            lead += ("" if lead[-1] in "。！？．｡" else " ") + s
    sections = tuple(
        Section(sec.heading, kept, sec.notes)
        for sec in summary.sections
        if (
            kept := tuple(b for b in sec.bullets if sec.notes or is_complete_sentence(b, lang_hint))
        )
    )
    takeaway = summary.takeaway
    if takeaway is not None and not is_complete_sentence(takeaway, lang_hint):
        takeaway = None
    return replace(summary, lead=lead, sections=sections, takeaway=takeaway)


_LINE_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("shell", _SHELL_RE),
    ("log", _LOG_RE),
    ("code", _CODE_RE),
    ("caption", _CAPTION_RE),
    ("byline", _BYLINE_RE),
    ("toc", _TOC_RE),
    ("follow", _FOLLOW_RE),
)


def _is_formula(s: str) -> bool:
    if _FORMULA_START_RE.match(s) or _LATEX_RE.search(s):
        return True
    words = s.split()
    # Math reads as single letters, operators and bracketed terms rather than words.
    mathy = sum(
        1
        for w in words
        if not _PURE_NUMBER_RE.match(w)
        and (any(c in _MATH_SYMBOLS for c in w) or _is_variable(w.strip(".,;:()[]")))
    )
    return len(words) >= 3 and mathy / len(words) > 0.3


_DASH_SEPARATOR_RE = re.compile(r"\s[—–]\s")


def _is_dash_list(s: str) -> bool:
    """Show notes and link lists run names together with dashes ("Jens Ohlig — Wikidata —
    Allen Institute — WikiCon 2013"); a sentence uses one or two dashes around a clause."""
    parts = _DASH_SEPARATOR_RE.split(s)
    return len(parts) >= 4 and sum(len(p.split()) for p in parts) / len(parts) <= 4


def _is_variable(word: str) -> bool:
    return len(word) == 1 and word.isascii() and word.isalpha() and word not in "aAI"


def _is_cjk(s: str, lang_hint: str | None) -> bool:
    cjk = len(_HANGUL_RE.findall(s)) + len(_KANA_RE.findall(s)) + len(_HAN_RE.findall(s))
    latin = len(_LATIN_LETTER_RE.findall(s))
    if cjk == 0:
        return False
    hint = (lang_hint or "").split("-")[0].lower()
    return cjk >= latin or hint in ("ko", "ja", "zh")


def _cjk_reason(s: str) -> str | None:
    if _HANGUL_RE.search(s) and not _KANA_RE.search(s):
        return None if _KOREAN_END_RE.search(s) else "no sentence ending"
    return None if _CJK_END_RE.search(s) else "no sentence ending"


def _latin_reason(s: str) -> str | None:
    capitalised = s[0] in _OPENING_QUOTES or s[0].isupper() or s[0].isdigit()
    if not capitalised and not _MIXED_CASE_START_RE.match(s):
        return "lowercase start"
    if not _LATIN_END_RE.search(s):
        return "no sentence ending"
    words = s.split()
    if len(words) < _MIN_LATIN_WORDS:
        return "too short"
    if _strip_leading_date(s) != s and len(_strip_leading_date(s).split()) < _MIN_LATIN_WORDS:
        return "date"
    if not _has_verb(words):
        return "no verb"
    return None


def _has_verb(words: list[str]) -> bool:
    """A lenient English verb test: it only has to catch noun-phrase list items."""
    for i, raw in enumerate(words):
        w = raw.strip(_OPENING_QUOTES + _CLOSERS + ".,;:!?").lower()
        if not w.isalpha() and "'" not in w and "’" not in w:
            continue
        if w in _COMMON_VERBS or (len(w) > 3 and w.endswith("ed")):
            return True
        # "ships", "reduces"; a plural noun ends a list item ("builds, images and tests.")
        # rather than being followed by an object, so -s before a comma, "and" or the end
        # does not count. Plural subjects still pass: this errs on the lenient side.
        nxt = words[i + 1].lower() if i + 1 < len(words) else ""
        if (
            len(w) > 3
            and w.endswith("s")
            and not w.endswith("ss")
            and w not in _NOT_VERBS_IN_S
            and not raw.endswith((",", ".", ";", "!", "?"))
            and nxt not in ("and", "or", "of", "&")
        ):
            return True
        if w.endswith(("ize", "ise", "ate", "ify")) and len(w) > 5:
            return True
    return False
