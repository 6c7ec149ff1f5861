"""Full-text search over stories: query language, CJK-aware segmentation, snippets, service.

The service lives in :mod:`bot.core.search.service` and is not re-exported here, so that the
story store can import :func:`searchable_text` without pulling in the storage layer.
"""

from __future__ import annotations

from bot.core.search.query import ParsedQuery, Term, parse_query
from bot.core.search.segment import searchable_text

__all__ = ["ParsedQuery", "Term", "parse_query", "searchable_text"]
