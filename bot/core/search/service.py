"""Search as a service: parse, rank in the database, then build snippets in Python."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.search.query import DEFAULT_MAX_QUERY_CHARS, ParsedQuery, parse_query
from bot.core.search.snippet import SNIPPET_CHARS, make_snippet
from bot.core.search.types import SearchHit, SearchPage
from bot.core.text import without_headings
from bot.storage.search_repo import RANK_WINDOW, SearchRepository

MAX_LIMIT = 100
__all__ = ["MAX_LIMIT", "RANK_WINDOW", "SearchHit", "SearchPage", "SearchService"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SearchService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_query_chars: int = DEFAULT_MAX_QUERY_CHARS,
        snippet_chars: int = SNIPPET_CHARS,
        clock: Callable[[], datetime] = _utc_now,
        rank_window: int = RANK_WINDOW,
    ) -> None:
        self._rank_window = rank_window
        self._sessions = sessions
        self._max_query_chars = max_query_chars
        self._snippet_chars = snippet_chars
        self._clock = clock

    def parse(self, query: str, *, now: datetime | None = None) -> ParsedQuery:
        """Parse only (raises QueryError): lets a caller validate before deferring."""
        return parse_query(query, now=now or self._clock(), max_chars=self._max_query_chars)

    async def search(
        self,
        query: str,
        *,
        limit: int = 5,
        offset: int = 0,
        source: str | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        now: datetime | None = None,
        guild_id: int | None = None,
        all_feeds: bool = False,
    ) -> SearchPage:
        """Ranked stories for ``query``; ``source``/``after``/``before`` narrow it further
        (the slash command's options), on top of any operators in the query itself.

        Only stories the asker may see: ``guild_id`` is the server asking (its own custom
        feeds plus the shared ones); None is a DM (shared feeds only), which is also what a
        caller that forgets to say gets. ``all_feeds=True`` is for the operator (the CLI)."""
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise ValueError(f"limit must be 1..{MAX_LIMIT} and offset >= 0")
        parsed = _narrow(self.parse(query, now=now), source=source, after=after, before=before)
        if parsed is None or parsed.never_matches:
            return SearchPage(hits=[], total=0, offset=offset)
        async with self._sessions() as session:
            repo = SearchRepository(
                session, guild_id=guild_id, all_feeds=all_feeds, window=self._rank_window
            )
            ranked = await repo.ranked(parsed, limit=limit, offset=offset)
            texts = await repo.stories(ranked.ids)
        hits = []
        for story_id, score in zip(ranked.ids, ranked.scores, strict=True):
            story = texts.get(story_id)
            if story is None:  # pruned between the two reads
                continue
            snippet = make_snippet(
                [story.summary, without_headings(story.content_text), story.title],
                parsed.highlight,
                size=self._snippet_chars,
            )
            hits.append(
                SearchHit(
                    story_id=story.id,
                    title=story.title,
                    url=story.url,
                    source_key=story.source_key,
                    source_name=story.source_name,
                    published_at=story.published_at,
                    snippet=snippet,
                    score=score,
                )
            )
        reachable = ranked.total if ranked.total is not None else self._rank_window
        more = offset + len(ranked.ids) < reachable
        return SearchPage(hits=hits, total=ranked.total, offset=offset, has_more=more)


def _narrow(
    parsed: ParsedQuery,
    *,
    source: str | None,
    after: datetime | None,
    before: datetime | None,
) -> ParsedQuery | None:
    """Combine option filters with query operators (both must hold); None if none can."""
    sources = parsed.sources
    if source is not None:
        key = source.lower()
        if sources and key not in sources:
            return None
        sources = (key,)
    if after is not None and (parsed.after is None or after > parsed.after):
        parsed = replace(parsed, after=after.astimezone(UTC))
    if before is not None and (parsed.before is None or before < parsed.before):
        parsed = replace(parsed, before=before.astimezone(UTC))
    if parsed.after is not None and parsed.before is not None and parsed.after >= parsed.before:
        return None
    return replace(parsed, sources=sources)
