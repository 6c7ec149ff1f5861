"""Bookmarked stories are never pruned: the FK refuses it and the prune query skips them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError

from bot.core.bookmarks.service import BookmarkService
from bot.storage import bookmarks_repo
from bot.storage.models import Story
from tests.bookmarks.conftest import ALICE, BOB, GUILD, T0, World

OLD = T0 - timedelta(days=400)
CUTOFF = T0 - timedelta(days=365)


async def test_prunable_ids_skip_bookmarked_and_recent_stories(
    service: BookmarkService, world: World
) -> None:
    old_kept = await world.story("old, bookmarked", first_seen=OLD)
    old_free = await world.story("old, nobody cares", first_seen=OLD)
    old_removed = await world.story("old, bookmark removed", first_seen=OLD)
    recent = await world.story("recent", first_seen=T0)
    await service.add(BOB, old_kept, guild_id=GUILD)
    await service.add(ALICE, old_removed, guild_id=GUILD)
    await service.remove(ALICE, old_removed)

    async with world.sessions() as s:
        ids = await bookmarks_repo.prunable_story_ids(s, seen_before=CUTOFF)
        assert ids == sorted([old_free, old_removed])
        assert await bookmarks_repo.prunable_story_ids(s, seen_before=CUTOFF, limit=1) == [
            min(old_free, old_removed)
        ]

    # A prune that deletes exactly those succeeds and leaves the bookmark readable.
    async with world.sessions() as s, s.begin():
        await s.execute(delete(Story).where(Story.id.in_(ids)))
    async with world.sessions() as s:
        left = set((await s.execute(select(Story.id))).scalars())
    assert left == {old_kept, recent}
    assert (await service.get(BOB, old_kept)).title == "old, bookmarked"


async def test_raw_delete_of_a_bookmarked_story_fails(
    service: BookmarkService, world: World
) -> None:
    sid = await world.story("protected", first_seen=OLD)
    other = await world.story("not bookmarked", first_seen=OLD)
    await service.add(ALICE, sid, guild_id=GUILD)
    # A naive retention batch ("delete everything older than a year") is refused as a whole.
    async with world.sessions() as s:
        with pytest.raises(IntegrityError):
            await s.execute(delete(Story).where(Story.first_seen_at < CUTOFF))
            await s.commit()
    async with world.sessions() as s:
        with pytest.raises(IntegrityError):
            await s.execute(text("DELETE FROM stories WHERE id = :id"), {"id": sid})
            await s.commit()
    async with world.sessions() as s:
        assert set((await s.execute(select(Story.id))).scalars()) == {sid, other}
    got = await service.get(ALICE, sid)
    assert got.title == "protected"
    # Once the bookmark is gone, the same delete goes through.
    await service.remove(ALICE, sid)
    async with world.sessions() as s, s.begin():
        await s.execute(delete(Story).where(Story.id == sid))
