"""The query language (pure) and its translation into inert backend expressions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.errors import QueryError
from bot.core.search import ParsedQuery, parse_query
from bot.core.search.fts import fts5_expression, tsquery_expression

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def parse(q: str, **kw: int) -> ParsedQuery:
    return parse_query(q, now=NOW, **kw)


def test_words_phrases_exclusions() -> None:
    p = parse('Kubernetes "cost savings" -helm -"service mesh"')
    assert [t.tokens for t in p.terms] == [("kubernetes",), ("cost", "savings")]
    assert [t.tokens for t in p.excluded] == [("helm",), ("service", "mesh")]
    assert p.highlight == ("Kubernetes", "cost savings")


def test_operators() -> None:
    p = parse('rust source:Netflix source:uber author:"Jane Doe" tag:DB after:2026-11-01 before:7d')
    assert p.sources == ("netflix", "uber")
    assert p.authors == ("Jane Doe",)
    assert p.tags == ("db",)
    assert p.after == datetime(2026, 11, 1, tzinfo=UTC)
    assert p.before == NOW - timedelta(days=7)


@pytest.mark.parametrize(
    ("span", "delta"),
    [
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(days=14)),
        ("3m", timedelta(days=90)),
        ("3mo", timedelta(days=90)),
        ("1y", timedelta(days=365)),
    ],
)
def test_relative_spans_follow_now(span: str, delta: timedelta) -> None:
    assert parse(f"x after:{span}").after == NOW - delta


def test_operator_only_query_is_allowed() -> None:
    assert parse("source:netflix").terms == ()


def test_cjk_word_becomes_a_phrase_and_single_char_a_prefix() -> None:
    p = parse("쿠버네티스 国")
    assert p.terms[0].tokens == ("쿠버", "버네", "네티", "티스") and not p.terms[0].prefix
    assert p.terms[1].tokens == ("国",) and p.terms[1].prefix


def test_full_width_operators_from_an_ime() -> None:
    p = parse("分散　ｓｏｕｒｃｅ：ｍｅｒｃａｒｉ　－テスト")
    assert p.sources == ("mercari",)
    assert [t.text for t in p.excluded] == ["テスト"]


def test_urls_are_text_not_operators() -> None:
    assert parse("https://example.com/x").terms[0].tokens == ("https", "example", "com", "x")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ('"kubernetes cost', "Unbalanced quote"),
        ('kubernetes "cost" "', "Unbalanced quote"),
        ("title:kubernetes", "Unknown operator title:"),
        ("re:invent", "quotes"),
        ("x after:2026-13-01", "after:2026-13-01 is not a date"),
        ("x before:soon", "before:soon is not a date"),
        ("x after:7d before:30d", "earlier than"),
        ("-kubernetes -cost", "only excludes"),
        ("*** ()", "no words"),
        ("x source:", "needs a value"),
        ("x -source:netflix", "only words can be excluded"),
    ],
)
def test_malformed_queries_get_clear_errors(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse(query)


def test_length_limit_is_configurable() -> None:
    parse("ab " * 66 + "ab")  # 200 characters
    with pytest.raises(QueryError, match=r"too long \(201 characters; at most 200\)"):
        parse("ab " * 67)
    with pytest.raises(QueryError, match="too long"):
        parse("abcdef", max_chars=5)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_query("x", now=datetime(2026, 1, 1))


def test_expressions_quote_every_token() -> None:
    p = parse('kubernetes "cost savings" 国 -helm')
    assert fts5_expression(p.terms, p.excluded) == (
        '("kubernetes" AND "cost savings" AND "国"*) NOT ("helm")'
    )
    assert tsquery_expression(p.terms, p.excluded) == (
        "('kubernetes' & ('cost' <-> 'savings') & '国':*) & !('helm')"
    )


@pytest.mark.parametrize(
    "query",
    ["NEAR(a b)", "a OR b", "title:x", "x* ^y", "'; DROP TABLE stories; --", "a:b", '"a" "b'],
)
def test_no_operator_survives_into_the_expressions(query: str) -> None:
    try:
        p = parse(query)
    except QueryError:
        return
    if not p.terms:
        return
    for expr in (fts5_expression(p.terms), tsquery_expression(p.terms)):
        # Outside quoted tokens only our own joiners remain.
        outside = expr.split('"')[::2] if expr.startswith(('"', '("')) else expr.split("'")[::2]
        for chunk in outside:
            assert set(chunk) <= set(" ANDOT()&|!<->*:")
            assert "NEAR" not in chunk and ";" not in chunk


@pytest.mark.parametrize(
    ("query", "never"),
    [
        ("helm -helm", True),
        ('"helm chart" -chart', True),
        ('"a helm chart" -"helm chart"', True),
        ("HELM -helm", True),  # the same index token
        ('helm -"helm chart"', False),  # a story with helm alone still matches
        ('"helm chart" -"chart helm"', False),
        ("helm -chart", False),
        ("source:netflix -helm", False),  # no wanted words: the newest without it
        ("監 -監視", False),  # a lone CJK character is a prefix: 監査 still matches
    ],
)
def test_an_excluded_part_of_a_wanted_term_never_matches(query: str, never: bool) -> None:
    assert parse(query).never_matches is never
