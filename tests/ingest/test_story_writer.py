"""Group commit of story writes: who waits for whom, and errors reaching the right poll."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.core.ingest.story_writer import StoryWriter
from bot.storage.stories_repo import Document, StoreResult
from tests.ingest.dbhelpers import T0, story


class FakeStore:
    """Records each batch; ``gate`` (when given) holds the first batch until it is set."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None

    async def store_many(self, docs: Sequence[Document]) -> list[StoreResult | Exception]:
        self.batches.append([d.feed_id for d in docs])
        if self.gate is not None and len(self.batches) == 1:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return [
            ValueError(f"feed {d.feed_id}") if d.feed_id < 0 else StoreResult(new=len(d.stories))
            for d in docs
        ]


def doc(feed_id: int, items: int = 1) -> Document:
    return Document(feed_id, [story(f"k{feed_id}-{i}") for i in range(items)], T0)


def writer(store: FakeStore, **kw: object) -> StoryWriter:
    return StoryWriter(store, asyncio.Semaphore(1), **kw)  # type: ignore[arg-type]


async def test_documents_arriving_during_a_write_share_the_next_batch():
    store = FakeStore()
    store.gate = asyncio.Event()
    w = writer(store)
    first = asyncio.create_task(w.store(doc(1)))
    await asyncio.sleep(0.01)  # the first batch is being written
    later = [asyncio.create_task(w.store(doc(i))) for i in (2, 3, 4)]
    await asyncio.sleep(0.01)
    store.gate.set()
    results = await asyncio.gather(first, *later)
    assert [r.new for r in results] == [1, 1, 1, 1]
    assert store.batches == [[1], [2, 3, 4]]


async def test_a_batch_waits_for_documents_while_polls_are_in_flight():
    store = FakeStore()
    busy = True
    w = writer(store, busy=lambda: busy, linger=5.0, max_stories=3)
    tasks = [asyncio.create_task(w.store(doc(1)))]
    await asyncio.sleep(0.02)
    assert store.batches == []  # waiting for the polls still in flight
    tasks.append(asyncio.create_task(w.store(doc(2))))
    await asyncio.sleep(0.02)
    assert store.batches == []
    tasks.append(asyncio.create_task(w.store(doc(3))))  # full: written without waiting more
    await asyncio.gather(*tasks)
    assert store.batches == [[1, 2, 3]]
    # Nothing else in flight: a lone document is written at once.
    busy = False
    await asyncio.wait_for(w.store(doc(4)), 1.0)
    assert store.batches[-1] == [4]


async def test_lingering_is_bounded():
    store = FakeStore()
    w = writer(store, busy=lambda: True, linger=0.05)
    await asyncio.wait_for(w.store(doc(1)), 1.0)
    assert store.batches == [[1]]


async def test_batches_are_cut_at_max_stories():
    store = FakeStore()
    store.gate = asyncio.Event()
    w = writer(store, max_stories=4)
    tasks = [asyncio.create_task(w.store(doc(i, items=2))) for i in range(1, 6)]
    await asyncio.sleep(0.01)
    store.gate.set()
    await asyncio.gather(*tasks)
    assert store.batches == [[1, 2], [3, 4], [5]]


async def test_errors_reach_their_own_poll_and_the_writer_goes_on():
    store = FakeStore()
    store.gate = asyncio.Event()
    w = writer(store)
    ok = asyncio.create_task(w.store(doc(1)))
    await asyncio.sleep(0.01)
    bad = asyncio.create_task(w.store(doc(-2)))
    fine = asyncio.create_task(w.store(doc(3)))
    await asyncio.sleep(0.01)
    store.gate.set()
    assert (await ok).new == 1 and (await fine).new == 1
    with pytest.raises(ValueError, match="feed -2"):
        await bad
    # A batch that fails as a whole fails every one of its polls, and only those.
    store.fail = RuntimeError("database gone")
    with pytest.raises(RuntimeError):
        await w.store(doc(4))
    store.fail = None
    assert (await w.store(doc(5))).new == 1


async def test_a_cancelled_poll_is_left_out_of_the_batch():
    store = FakeStore()
    store.gate = asyncio.Event()
    w = writer(store)
    first = asyncio.create_task(w.store(doc(1)))
    await asyncio.sleep(0.01)
    gone = asyncio.create_task(w.store(doc(2)))
    kept = asyncio.create_task(w.store(doc(3)))
    await asyncio.sleep(0.01)
    gone.cancel()
    store.gate.set()
    await first
    assert (await kept).new == 1
    assert store.batches == [[1], [3]]


async def test_a_cancelled_writer_leaves_no_poll_waiting():
    store = FakeStore()
    store.gate = asyncio.Event()
    w = writer(store)
    polls = [asyncio.create_task(w.store(doc(i))) for i in (1, 2)]
    await asyncio.sleep(0.01)
    polls.append(asyncio.create_task(w.store(doc(3))))
    await asyncio.sleep(0.01)
    assert w._task is not None
    w._task.cancel()  # shutdown while a batch is being written and another waits
    done, pending = await asyncio.wait(polls, timeout=1.0)
    assert not pending and all(p.cancelled() for p in done)
    # A later document starts a new writer.
    assert (await asyncio.wait_for(w.store(doc(4)), 1.0)).new == 1
