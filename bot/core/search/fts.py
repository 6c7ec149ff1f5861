"""A parsed query as backend full-text expressions, with every user token inert.

Tokens come from :func:`bot.core.search.segment.tokens`, so they hold only letters and
digits; they are quoted anyway (FTS5 ``"..."``, tsquery ``'...'``) so that no user text can
ever be read as an operator (AND OR NOT NEAR * ^ : parentheses). Both expressions are bound
as SQL parameters, never spliced into SQL.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.search.query import Term


def _fts5_term(term: Term) -> str:
    phrase = " ".join(term.tokens).replace('"', '""')
    return f'"{phrase}"*' if term.prefix else f'"{phrase}"'


def fts5_expression(terms: Sequence[Term], excluded: Sequence[Term] = ()) -> str:
    """FTS5 MATCH text: all ``terms`` (phrases where a term has several tokens), none of
    ``excluded``. Needs at least one term: FTS5's NOT is binary."""
    if not terms:
        raise ValueError("an FTS5 expression needs at least one positive term")
    positive = " AND ".join(_fts5_term(t) for t in terms)
    if not excluded:
        return positive
    negative = " OR ".join(_fts5_term(t) for t in excluded)
    return f"({positive}) NOT ({negative})"


def fts5_any(terms: Sequence[Term]) -> str:
    """FTS5 MATCH text for stories with any of ``terms`` (exclusions without a word)."""
    return " OR ".join(_fts5_term(t) for t in terms)


def _ts_token(token: str, *, prefix: bool = False) -> str:
    quoted = "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + ":*" if prefix else quoted


def _tsquery_term(term: Term) -> str:
    if len(term.tokens) == 1:
        return _ts_token(term.tokens[0], prefix=term.prefix)
    return "(" + " <-> ".join(_ts_token(t) for t in term.tokens) + ")"


def tsquery_expression(terms: Sequence[Term], excluded: Sequence[Term] = ()) -> str:
    """Text for ``to_tsquery('simple', ...)`` with the same meaning as :func:`fts5_expression`."""
    if not terms:
        raise ValueError("a tsquery expression needs at least one positive term")
    positive = " & ".join(_tsquery_term(t) for t in terms)
    if not excluded:
        return positive
    negative = " | ".join(_tsquery_term(t) for t in excluded)
    return f"({positive}) & !({negative})"


def tsquery_any(terms: Sequence[Term]) -> str:
    return " | ".join(_tsquery_term(t) for t in terms)
