"""Summary results cache, keyed by (content hash, model), so no story is paid for twice."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Protocol

from bot.core.summarize.types import Summary, SummaryInput

# Bump when the prompt or validation changes in a way that should invalidate stored results.
PROMPT_VERSION = "v1"


def summary_content_hash(story: SummaryInput) -> str:
    """Stable hash of what the summary depends on: the text, the title and the own URL."""
    h = hashlib.sha256()
    for part in (PROMPT_VERSION, story.title, story.url or "", story.language or "", story.text):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


class SummaryCache(Protocol):
    async def get(self, content_hash: str, model: str) -> Summary | None: ...

    async def put(self, content_hash: str, model: str, summary: Summary) -> None: ...


class InMemorySummaryCache:
    """An LRU cache for one process (tests, the CLI); the bot uses a database-backed one."""

    def __init__(self, max_entries: int = 2048) -> None:
        self._max = max_entries
        self._data: OrderedDict[tuple[str, str], Summary] = OrderedDict()

    async def get(self, content_hash: str, model: str) -> Summary | None:
        key = (content_hash, model)
        found = self._data.get(key)
        if found is not None:
            self._data.move_to_end(key)
        return found

    async def put(self, content_hash: str, model: str, summary: Summary) -> None:
        self._data[(content_hash, model)] = summary
        self._data.move_to_end((content_hash, model))
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
