"""Feed-reader, platform and site chrome that must never reach a summary.

Feeds and extracted pages carry lines that are about the page, not the story: "Continue
reading", "The post … appeared first on …", Medium's "originally published in" footer, share and
subscribe prompts, cookie notices, podcast "Download audio:" lines, in English, Korean and
Japanese. They are matched per line and per sentence, and only in short pieces: a long
paragraph that merely mentions a newsletter is content.

Korean "구독" alone also means "subscription" (a product feature a post may be about), so only
the imperative/button forms are matched.
"""

from __future__ import annotations

import functools
import re

from bot.core.shownotes import is_show_note_chrome
from bot.core.summarize.sentences import split_sentences

_MAX_BOILERPLATE_CHARS = 300

_PATTERNS: tuple[str, ...] = (
    # reading prompts
    r"\b(continue|keep) reading\b",
    r"\bread (the )?(whole|full|entire|complete|rest of the) (story|article|post|thing)\b",
    r"^\W*read more\b",
    r"\bread more\W*$",
    r"^\W*(view|see) (the )?(full|original) (post|article|story)\b",
    r"^\W*(click|tap) here\b",
    # platform footers
    r"\b(originally|first) published (on|at|in)\b",
    r"\bon medium, where people are continuing the conversation\b",
    r"\bthe post\b.{1,200}\bappeared first on\b",
    r"\bthis (story|article|post) (was|is) (brought to you|sponsored)\b",
    r"^\W*(tags?|categories|category|filed under|posted in|topics?)\s*:",
    r"^\W*(photo|image|illustration|header image|cover image)s? (by|credit|courtesy)\b",
    r"^\W*(related (posts?|articles?|stories)|you (might|may) also like|more from)\b",
    r"^\W*(advertisement|sponsored( content)?|ad)\W*$",
    r"^\W*\(?opens in (a )?new (tab|window)\)?\W*$",
    r"^\W*(\d+\s+)?(comments?|repl(y|ies)|leave a (comment|reply))\W*$",
    r"^\W*(via|source)\s*:\s*\S+\W*$",
    r"\ball rights reserved\b",
    r"^\W*(©|\(c\)|copyright)\s",
    # share / follow / subscribe
    r"^\W*(share|tweet|e-?mail|print|save|like|delete|bookmark|pin|reblog)"
    r"( (this|the) (story|post|article|page))?\W*$",
    r"\bshare (this|the) (story|post|article|page)\b",
    r"\bshare (on|via) (twitter|x|facebook|linkedin|reddit|hacker news|email|mastodon)\b",
    r"\bfollow us (on|at)\b",
    r"\b(subscribe|sign up|signup|register) (to|for) (our|the|my) "
    r"(free )?(weekly |daily |monthly )?(newsletter|blog|feed|channel|podcast|mailing list)\b",
    r"\bjoin (our|the) (newsletter|mailing list|community on)\b",
    r"\bsubscribe (now|today|for free|here)\b",
    r"^\W*subscribe\W*$",
    r"\b(delivered|straight|right) (to|into) your inbox\b",
    r"\bnewsletter\b.{0,60}\b(sign up|subscribe)\b",
    # cookies
    r"\b(we|this (site|website)|our (site|website)) uses? cookies\b",
    r"\baccept (all )?cookies\b",
    r"\bcookie (policy|settings|preferences|notice|consent)\b",
    # podcasts / feed readers
    r"^\W*download audio\s*:",
    r"^\W*(listen|subscribe) (on|to) (apple podcasts|spotify|google podcasts|this episode)\b",
    r"^\W*(show notes|transcript)\W*$",
    # Korean
    r"구독\s?하기",
    r"구독(과|이나|,)?\s?(좋아요|알림)",
    r"(뉴스레터|채널|블로그)를?\s?구독(하|해)",
    r"구독(해|하여)\s?주(세요|시면)",
    r"공유\s?하기",
    r"공유(해|하여)\s?주(세요|시면)",
    r"^\W*(더\s?보기|원문\s?보기|전체\s?글\s?보기|계속\s?읽기|자세히\s?보기)\W*$",
    r"(원문|전체 글|계속)\s?(보기|읽기)\s?(»|→|>)",
    r"^\W*(좋아요|댓글|공유|스크랩)(\s?\d+)?\W*$",
    r"쿠키를?\s?사용",
    r"무단\s?(전재|복제)",
    r"팔로우\s?(하기|해\s?주세요)",
    # Japanese
    r"続きを読む",
    r"もっと(読む|見る)",
    r"(この記事を)?シェアする",
    r"この記事をシェア",
    r"フォロー(する|してください|お願いします)",
    r"購読(する|はこちら|してください)",
    r"ニュースレター(の|に)?(登録|購読)",
    r"はてなブックマーク|はてブ",
    r"ツイートする",
    r"^\W*いいね[！!]?\W*$",
    r"(cookie|クッキー)を使用",
    r"無断転載",
    r"^\W*関連記事\W*$",
)
# Patterns anchored at the start are tried once, at the start (``match``), instead of at every
# position of every sentence: the summariser asks about each sentence of each story, and one
# alternation of seventy patterns searched everywhere was most of a summary's time.
_ANCHORED_RE = re.compile(
    "|".join(f"(?:{p[1:]})" for p in _PATTERNS if p.startswith("^")), re.IGNORECASE
)
_ANYWHERE_RE = re.compile(
    "|".join(f"(?:{p})" for p in _PATTERNS if not p.startswith("^")), re.IGNORECASE
)


@functools.lru_cache(maxsize=8192)
def is_boilerplate(piece: str) -> bool:
    """True when a short line or sentence is page chrome rather than story content.

    Cached: one summary asks about the same sentence while stripping chrome, choosing
    candidates and checking the sentence rules.
    """
    stripped = piece.strip()
    if not stripped:
        return True
    if len(stripped) > _MAX_BOILERPLATE_CHARS:
        return False
    return (
        _ANCHORED_RE.match(stripped) is not None
        or _ANYWHERE_RE.search(stripped) is not None
        # Ad choices, sponsor reads, coupon codes, rate-us and subscribe prompts (any story).
        or is_show_note_chrome(stripped)
    )


def strip_boilerplate(text: str) -> str:
    """Drop boilerplate lines, and boilerplate sentences inside otherwise good lines.

    Lines are kept verbatim when nothing in them is boilerplate, so sentences split from the
    result are still substrings of the original text.
    """
    kept: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            kept.append("")
            continue
        sentences = split_sentences(line)
        # Judged sentence by sentence: "Real point. Continue reading »" keeps its real point.
        good = [s for s in sentences if not is_boilerplate(s)]
        if not good:
            continue
        kept.append(line.strip() if len(good) == len(sentences) else " ".join(good))
    # Collapse the blank runs left behind by removed lines.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
