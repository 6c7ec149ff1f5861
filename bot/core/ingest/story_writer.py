"""Group commit of story writes: documents parsed while a batch is written go in the next one.

A cold cycle over 1,000 changed feeds then costs a few dozen story transactions, each a
handful of statements, instead of a handful per feed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from bot.storage.stories_repo import Document, StoreResult

log = logging.getLogger(__name__)

# A story batch: at most this many stories (about 50 documents of 20 items), so the database
# lock is held for a fraction of a second, and the event loop never waits long for the Python
# side of one statement.
_BATCH_STORIES = 1000
# How long a batch may wait for more documents while polls that may still bring one are in
# flight. Paid once per batch, on the way to the database, never by the event loop.
_BATCH_LINGER = 0.1


class StoryStore(Protocol):
    """``StoriesRepository`` (or anything with its ``store_many``)."""

    async def store_many(self, docs: Sequence[Document]) -> list[StoreResult | Exception]: ...


class StoryWriter:
    """Group commit for story writes: one writer task stores whatever documents are waiting in
    one transaction (``StoriesRepository.store_many``) while the next ones queue up.

    While other polls that may still bring a document are in flight (``busy``), a batch waits
    up to ``linger`` seconds to fill up to ``max_stories``: the parser workers deliver a
    document every few milliseconds during a cold cycle, and a batch of one or two would pay
    a transaction's fixed costs for each. A lone document (``/feed`` refresh, the last of a
    cycle) is written at once.
    """

    def __init__(
        self,
        stories: StoryStore,
        writes: asyncio.Semaphore,
        *,
        busy: Callable[[], bool] = lambda: False,
        max_stories: int = _BATCH_STORIES,
        linger: float = _BATCH_LINGER,
    ) -> None:
        self._stories = stories
        self._writes = writes
        self._busy = busy
        self._max_stories = max_stories
        self._linger = linger
        self._waiting: list[tuple[Document, asyncio.Future[StoreResult]]] = []
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def store(self, doc: Document) -> StoreResult:
        """The document's result once its batch is committed (or the error that stopped it)."""
        future: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((doc, future))
        self._arrived.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="story-writer")
        return await future

    def _queued_stories(self) -> int:
        return sum(len(doc.stories) for doc, _ in self._waiting)

    async def _fill(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._linger
        while self._queued_stories() < self._max_stories and self._busy():
            left = deadline - loop.time()
            if left <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                return

    def _take(self) -> list[tuple[Document, asyncio.Future[StoreResult]]]:
        batch: list[tuple[Document, asyncio.Future[StoreResult]]] = []
        size = 0
        while self._waiting and (not batch or size < self._max_stories):
            doc, future = self._waiting.pop(0)
            if future.done():  # its poll was cancelled while it waited
                continue
            batch.append((doc, future))
            size += len(doc.stories)
        return batch

    async def _run(self) -> None:
        batch: list[tuple[Document, asyncio.Future[StoreResult]]] = []
        try:
            while self._waiting:
                await self._fill()
                batch = self._take()
                if not batch:
                    continue
                results: list[StoreResult | Exception]
                try:
                    async with self._writes:
                        results = await self._stories.store_many([doc for doc, _ in batch])
                except Exception as exc:
                    # store_many answers database errors per document; this is a bug. Its
                    # batch fails (each poll ends as an internal error), the next ones go on.
                    log.exception("story batch failed", extra={"documents": len(batch)})
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        except BaseException:
            # Cancelled (shutdown): no poll may wait for a batch forever.
            for _, future in [*batch, *self._waiting]:
                future.cancel()
            self._waiting.clear()
            raise
        finally:
            self._task = None
