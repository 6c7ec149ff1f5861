"""One user can never read, change, remove or export another user's bookmarks."""

from __future__ import annotations

import json

import pytest

from bot.core.bookmarks.service import BookmarkService
from bot.core.errors import NotFoundError
from tests.bookmarks.conftest import ALICE, BOB, GUILD, World


async def test_bob_cannot_touch_alices_bookmark(service: BookmarkService, world: World) -> None:
    sid = await world.story("Alice's secret reading", url="https://a.example/secret")
    await service.add(ALICE, sid, guild_id=GUILD)
    await service.set_note(ALICE, sid, "alice private note")
    await service.set_tags(ALICE, sid, "private")
    before = await service.get(ALICE, sid)

    for attempt in (
        service.get(BOB, sid),
        service.set_note(BOB, sid, "bob was here"),
        service.set_tags(BOB, sid, "bob"),
        service.remove(BOB, sid),
    ):
        with pytest.raises(NotFoundError, match="not in your bookmarks"):
            await attempt

    page = await service.list(BOB)
    assert page.items == () and page.total == 0
    assert (await service.list(BOB, query="secret")).total == 0
    assert (await service.list(BOB, tag="private")).total == 0
    assert await service.tags(BOB) == []

    for fmt in ("markdown", "html", "json"):
        _, data = await service.export(BOB, fmt)
        text = data.decode("utf-8")
        assert "secret" not in text and "alice" not in text.lower()
    _, data = await service.export(BOB, "json")
    assert json.loads(data) == []

    # Alice's bookmark is exactly as she left it.
    assert await service.get(ALICE, sid) == before


async def test_same_story_bookmarked_by_two_users_is_two_bookmarks(
    service: BookmarkService, world: World
) -> None:
    sid = await world.story("Shared story")
    assert (await service.add(ALICE, sid, guild_id=GUILD)).created
    bob = await service.add(BOB, sid, guild_id=GUILD)
    assert bob.created and bob.count == 1  # Alice's bookmark is not counted for Bob
    await service.set_note(BOB, sid, "bob note")
    await service.set_tags(BOB, sid, "bobtag")

    alice = await service.get(ALICE, sid)
    assert alice.note is None and alice.tags == ()
    assert (await service.list(ALICE, tag="bobtag")).total == 0
    assert (await service.list(ALICE, query="bob note")).total == 0

    await service.remove(BOB, sid)
    assert (await service.get(ALICE, sid)).title == "Shared story"
    assert (await service.list(BOB)).total == 0
    assert (await service.list(ALICE)).total == 1
