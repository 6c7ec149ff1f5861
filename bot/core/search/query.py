"""The search query language, parsed into a plain value (pure: no I/O, no clock).

    kubernetes cost            every word must match
    "exact phrase"             the words next to each other
    -excluded  -"a phrase"     stories with them are dropped
    source:netflix             feed key (repeat for any of several)
    author:"Jane Doe"          author name contains (case-insensitive)
    tag:postgres               story tag (repeat: all of them)
    after:2026-11-01           published on or after that UTC day; after:7d = in the last 7 days
    before:2026-11-01          published before that UTC day; before:2w = more than 2 weeks ago

Every mistake is a :class:`QueryError` whose message can be shown to the user as is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.core.errors import QueryError
from bot.core.search.segment import is_cjk, tokens

DEFAULT_MAX_QUERY_CHARS = 200
OPERATORS = ("source", "author", "tag", "after", "before")
_UNITS = {"h": 1 / 24, "d": 1, "w": 7, "m": 30, "mo": 30, "y": 365}
_RELATIVE = re.compile(r"^(\d{1,4})(h|d|w|mo|m|y)$")
_OPERATOR = re.compile(r"^([a-z][a-z_]*):(.*)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Term:
    """One word or phrase as index tokens; ``prefix`` for a lone CJK character."""

    text: str  # as the user typed it (for messages and highlighting)
    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    terms: tuple[Term, ...] = ()
    excluded: tuple[Term, ...] = ()
    sources: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    after: datetime | None = None
    before: datetime | None = None
    highlight: tuple[str, ...] = field(default=())  # words to bold in snippets

    @property
    def has_filters(self) -> bool:
        return bool(self.sources or self.authors or self.tags or self.after or self.before)

    @property
    def never_matches(self) -> bool:
        """An excluded word or phrase that a wanted one contains ("helm -helm", '"helm
        chart" -chart'): every story with the wanted one has the excluded one too, so
        nothing can match, and there is no need to look through the index to learn it."""
        return any(
            _within(term.tokens, gone.tokens)
            for gone in self.excluded
            if not gone.prefix
            for term in self.terms
            if not term.prefix
        )


def _within(tokens: tuple[str, ...], part: tuple[str, ...]) -> bool:
    """``part`` occurs in ``tokens`` as a contiguous run."""
    n = len(part)
    return n > 0 and any(tokens[i : i + n] == part for i in range(len(tokens) - n + 1))


def _split(query: str) -> list[tuple[str, bool]]:
    """Whitespace-separated pieces; a double-quoted stretch stays one piece (quoted=True)."""
    pieces: list[tuple[str, bool]] = []
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        start = i
        quoted = False
        while i < n and not query[i].isspace():
            if query[i] == '"':
                end = query.find('"', i + 1)
                if end < 0:
                    raise QueryError(
                        'Unbalanced quote: close the phrase with a second " (or remove it).'
                    )
                quoted = True
                i = end + 1
            else:
                i += 1
        pieces.append((query[start:i], quoted))
    return pieces


def _unquote(value: str) -> str:
    return value.replace('"', " ").strip()


def _term(raw: str) -> Term | None:
    toks = tuple(tokens(raw))
    if not toks:
        return None
    # A single CJK character also matches the bigrams it starts (国 -> 国家, 国際).
    prefix = len(toks) == 1 and len(toks[0]) == 1 and is_cjk(toks[0])
    return Term(text=raw.strip(), tokens=toks, prefix=prefix)


def parse_when(value: str, *, now: datetime, name: str) -> datetime:
    """``2026-11-01`` (UTC midnight) or a span back from ``now``: 12h, 7d, 2w, 3m (30 d), 1y."""
    text = value.strip().lower()
    rel = _RELATIVE.match(text)
    if rel:
        return now - timedelta(days=int(rel.group(1)) * _UNITS[rel.group(2)])
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise QueryError(
            "{name}:{value} is not a date: use YYYY-MM-DD (2026-11-01) "
            "or a span like 7d, 2w, 3m, 1y.",
            name=name,
            value=value,
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_query(
    query: str,
    *,
    now: datetime,
    max_chars: int = DEFAULT_MAX_QUERY_CHARS,
) -> ParsedQuery:
    """Parse ``query``; ``now`` (aware) anchors relative dates like ``after:7d``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if len(query) > max_chars:
        raise QueryError(
            "The query is too long ({count} characters; at most {max}).",
            count=len(query),
            max=max_chars,
        )
    # NFKC first: full-width quotes, colons and minus signs typed with a CJK IME count too.
    text = unicodedata.normalize("NFKC", query)
    if not text.strip():
        raise QueryError("The query is empty: type some words to search for.")

    terms: list[Term] = []
    excluded: list[Term] = []
    filters: dict[str, list[str]] = {name: [] for name in OPERATORS}
    for piece, quoted in _split(text):
        negative = piece.startswith("-") and len(piece) > 1
        body = piece[1:] if negative else piece
        op = None if body.startswith('"') else _OPERATOR.match(body)
        if op and not op.group(2).startswith("//"):  # "https://..." is text, not an operator
            name, value = op.group(1).lower(), _unquote(op.group(2))
            if name not in OPERATORS:
                known = ", ".join(f"{o}:" for o in OPERATORS)
                raise QueryError(
                    "Unknown operator {op}: (use {known}; "
                    'to search for the text itself, put it in "quotes").',
                    op=op.group(1),
                    known=known,
                )
            if negative:
                raise QueryError(
                    "-{name}: is not supported; only words can be excluded.", name=name
                )
            if not value:
                raise QueryError(
                    "{name}: needs a value, e.g. {name}:{example}.",
                    name=name,
                    example=_example(name),
                )
            filters[name].append(value)
            continue
        if quoted:
            body = _unquote(body)
        term = _term(body)
        if term is None:
            continue  # only punctuation or symbols: nothing an index can match
        (excluded if negative else terms).append(term)

    now_utc = now.astimezone(UTC)
    after = _bound(filters["after"], now_utc, "after", latest=True)
    before = _bound(filters["before"], now_utc, "before", latest=False)
    if after is not None and before is not None and after >= before:
        raise QueryError("after: must be earlier than before: (no day can match both).")

    parsed = ParsedQuery(
        terms=tuple(terms),
        excluded=tuple(excluded),
        sources=tuple(dict.fromkeys(v.lower() for v in filters["source"])),
        authors=tuple(dict.fromkeys(filters["author"])),
        tags=tuple(dict.fromkeys(v.lower() for v in filters["tag"])),
        after=after,
        before=before,
        highlight=tuple(dict.fromkeys(t.text for t in terms)),
    )
    if not parsed.terms and not parsed.has_filters:
        if parsed.excluded:
            raise QueryError(
                "The query only excludes words: add a word to search for "
                "(or a filter like source: or after:)."
            )
        raise QueryError("The query has no words to search for (only punctuation or symbols).")
    return parsed


def _bound(values: list[str], now: datetime, name: str, *, latest: bool) -> datetime | None:
    if not values:
        return None
    parsed = [parse_when(v, now=now, name=name) for v in values]
    # Several after: keep the latest, several before: the earliest (all must hold).
    return max(parsed) if latest else min(parsed)


def _example(name: str) -> str:
    return {
        "source": "netflix",
        "author": '"Jane Doe"',
        "tag": "postgres",
        "after": "2026-11-01",
        "before": "7d",
    }[name]
