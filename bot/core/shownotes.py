"""Podcast and video show-note chrome: ad-choice notices, sponsor reads, coupon codes, rating
and subscribe prompts, "Download audio:" links, hosting-platform footers.

Shared by normalize (an episode's stored text and summary lose these lines) and the
summariser's boilerplate filter (no summary sentence is one of them). Matched on short pieces
only (a line or a sentence, at most ``MAX_CHARS``): a paragraph that merely mentions a sponsor
is content. Articles do not go through ``strip_show_notes``; their sentences still meet the
patterns in the summariser, where a coupon line is never a key point either.
"""

from __future__ import annotations

import re

MAX_CHARS = 300
_CODE = r"(?-i:[A-Z0-9][A-Z0-9_-]{2,})\b|\w*\d\w*"

SHOW_NOTE_PATTERNS: tuple[str, ...] = (
    r"^\W*download (the )?(audio|episode|mp3|file)\b",
    r"\blearn more about your ad choices\b",
    r"\b(megaphone\.fm|podcastchoices\.com|omnystudio\.com/listener|acast\.com)/\S*",
    r"\bhosted (on|by) (acast|anchor|libsyn|buzzsprout|transistor|simplecast|megaphone|"
    r"podbean|spreaker|captivate|redcircle|omny)\b",
    r"\bplease (rate|review|subscribe|like|share|leave (us )?an? (rating|review))\b",
    r"\b(rate|review|rate and review) (us|the show|this (show|podcast|episode)) (on|in|at)\b",
    r"\b(leave|give) (us )?an? (\d-star |five-star )?(rating|review)\b",
    r"\bif you (enjoy(ed)?|like[ds]?|love[ds]?) (the|this|our) (show|episode|podcast|video|"
    r"channel)\b",
    r"\b(this|today's|the) (episode|show|podcast|video) (is|was) (sponsored|brought to you|"
    r"supported|made possible) by\b",
    r"\b(thanks|thank you) to (our|this (week|episode)'s) sponsors?\b",
    r"^\W*(sponsors?|sponsored by|brought to you by|our sponsors?|this week's sponsors?)\W*$",
    # "code review" is prose: a coupon code is in capitals or has a digit ("atp15").
    r"\b(use|with|enter|apply) (the )?(promo |coupon |discount |offer |checkout )?code\s+"
    r"(" + _CODE + r")(\s+(for|at|to|and|when)\b|\W*$)",
    r"\b(promo|coupon|discount|offer) code\b",
    r"\b(get|save|take)\s+(an? )?(extra )?[$€£]?\d+(%|\s?percent)?\s+off\b",
    r"^\W*(subscribe|listen|follow( us)?|find us|watch|download) (on|in|via|at|with|to us on) "
    r"(apple|spotify|google|youtube|overcast|pocket ?casts|castbox|stitcher|amazon|"
    r"deezer|itunes|your (favou?rite )?(podcast )?(app|player))\b",
    r"^\W*(subscribe|listen|follow( us)?|find us) (on|via|at|wherever)\b.{0,60}$",
    r"\bwherever you (get|listen to) (your )?podcasts\b",
    r"\b(subscribe|sign up) to (our|the|my) (youtube )?(channel|podcast|show)\b",
    r"^\W*(chapters|timestamps|time ?codes)\W*$",
    r"^\W*\(?\d{1,2}:\d{2}(:\d{2})?\)?\s+\S.{0,100}$",  # a chapter marker: "04:12 Q&A"
    r"\bsupport (the|this|our) (show|podcast|channel|work)\b",
    r"\bbecome a (patron|member|supporter|subscriber)\b",
    r"\b(patreon\.com|buymeacoffee\.com|ko-fi\.com)/",
    r"\bsend us a (text|message|voice ?mail)\b",
    r"\bsee (acast\.com|omnystudio\.com)\b|\bprivacy (policy|information) (and|&) opt-?out\b",
)
_SHOW_NOTE_RE = re.compile("|".join(f"(?:{p})" for p in SHOW_NOTE_PATTERNS), re.IGNORECASE)
# Every pattern needs one of these pieces (the line-start ones one of ``_OPENINGS``, chapter
# markers a leading digit): the summariser asks about every sentence of every article, and a
# few substring tests are far cheaper than trying thirty alternatives at each position.
_KEYWORDS = (
    "download", "ad choice", "megaphone.fm", "podcastchoices.com", "omnystudio.com",
    "acast.com", "hosted ", "please ", "rate us", "review us", "rate the ", "review the ",
    "rate this", "review this", "rate and review", "a rating", "a review", "star rating",
    "star review", "if you ", "sponsor", "brought to you", "supported by", "made possible",
    "use code", "with code", "enter code", "apply code", "the code", "promo", "coupon",
    "discount code", "offer code", "checkout code", "% off", "percent off",
    *(f"{d} off" for d in range(10)), "wherever you", "subscribe to", "sign up to",
    "support the", "support this", "support our", "become a", "patreon.com", "buymeacoffee",
    "ko-fi.com", "send us a", "see acast", "see omny", "opt-out", "opt out",
)  # fmt: skip
_OPENINGS = (
    "subscribe", "listen", "follow", "find us", "watch", "download", "sponsor",
    "brought to you", "our sponsor", "this week's sponsor", "chapters", "timestamps",
    "time code", "timecode",
)  # fmt: skip
_LEADING_DIGIT = re.compile(r"^\W*\(?\d")


def is_show_note_chrome(piece: str) -> bool:
    """True when a short line or sentence is an episode's chrome rather than its content."""
    stripped = piece.strip()
    if not 0 < len(stripped) <= MAX_CHARS:
        return False
    lowered = stripped.lower()
    if (
        not any(map(lowered.__contains__, _KEYWORDS))
        and not lowered.lstrip(" \t-–—•*·>([").startswith(_OPENINGS)
        and not _LEADING_DIGIT.match(stripped)
    ):
        return False
    return _SHOW_NOTE_RE.search(stripped) is not None


# "Sponsored by:" heads a list of sponsor reads ("Arq Backup: Back up all of your computers…"):
# the entries after it that read like one (a short name and a colon, or a link) go with it.
_SPONSOR_HEADER = re.compile(
    r"^\W*(sponsors?|sponsored by|brought to you by|our sponsors?|this (week|episode)'s "
    r"sponsors?|(thanks|thank you) to (our|this (week|episode)'s) sponsors?)\s*:?\s*$",
    re.IGNORECASE,
)
_SPONSOR_ENTRY = re.compile(r"^\W*[^:\n]{1,40}:\s|https?://", re.IGNORECASE)


def strip_show_notes(text: str) -> str:
    """An episode's text without its chrome lines (line by line, kept verbatim otherwise)."""
    if not text:
        return text
    kept: list[str] = []
    in_sponsors = False
    for line in text.split("\n"):
        if not line.strip():
            kept.append(line)
            continue
        if _SPONSOR_HEADER.match(line):
            in_sponsors = True
            continue
        if in_sponsors and len(line) <= MAX_CHARS and _SPONSOR_ENTRY.search(line):
            continue
        in_sponsors = False
        if not is_show_note_chrome(line):
            kept.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
