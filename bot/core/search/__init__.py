"""Full-text search over stories: query language, CJK-aware segmentation, snippets, service.

Offered here (pure): ``parse_query`` -> ``ParsedQuery`` (the query language: words, phrases,
``-exclusions``, ``source:``, ``after:``/``before:``), ``searchable_text`` (CJK-aware
segmentation the index is built from) and the result types ``SearchHit``/``SearchPage``. The
service, :class:`bot.core.search.service.SearchService`, ranks in the database and is imported
from its module, so that the story store can import :func:`searchable_text` without pulling in
the storage layer.
"""

from __future__ import annotations

from bot.core.search.query import ParsedQuery, Term, parse_query
from bot.core.search.segment import searchable_text
from bot.core.search.types import SearchHit, SearchPage

__all__ = ["ParsedQuery", "SearchHit", "SearchPage", "Term", "parse_query", "searchable_text"]
