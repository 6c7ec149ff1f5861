"""Bookmarking is limited to stories the place asking may see, on both backends.

A story only another server's custom feed carries must be "no such story" (worded exactly like
a missing one) from this server and from DMs; otherwise /bookmark add <id> would read another
server's private feed through /bookmarks. Bookmarks already saved stay the user's own.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.bookmarks.service import BookmarkService
from bot.core.errors import NotFoundError
from bot.storage.models import Bookmark, StoryKey
from tests.bookmarks.conftest import ALICE, BOB, GUILD, OTHER_GUILD, World


async def _count(sessions: async_sessionmaker[AsyncSession], user_id: int) -> int:
    async with sessions() as s:
        stmt = select(func.count()).select_from(Bookmark).where(Bookmark.user_id == user_id)
        return int((await s.execute(stmt)).scalar_one())


async def _other_servers_story(world: World, title: str = "Other server's secret") -> int:
    feed = await world.feed("other-private", "Other private", origin="custom", guild_id=OTHER_GUILD)
    return await world.story(title, url="https://private.example/p?token=SECRET", feed_id=feed)


async def _missing_message(service: BookmarkService, story_id: int) -> str:
    with pytest.raises(NotFoundError) as err:
        await service.add(ALICE, story_id, guild_id=GUILD)
    return str(err.value)


async def test_another_servers_story_is_no_story_here_or_in_dms(
    service: BookmarkService, world: World
) -> None:
    sid = await _other_servers_story(world)
    for guild_id in (GUILD, None):
        with pytest.raises(NotFoundError) as err:
            await service.add(ALICE, sid, guild_id=guild_id)
        # Word for word what a missing id gets: the answer says nothing about existence.
        missing = sid + 1000
        expected = (await _missing_message(service, missing)).replace(str(missing), str(sid))
        assert str(err.value) == expected
        assert str(err.value).startswith(f"There is no story {sid}")
        assert "secret" not in str(err.value).lower()
    assert await _count(world.sessions, ALICE) == 0
    page = await service.list(ALICE)
    assert page.total == 0 and page.items == ()


async def test_the_server_that_added_the_feed_may_bookmark_it(
    service: BookmarkService, world: World
) -> None:
    sid = await _other_servers_story(world)
    saved = await service.add(BOB, sid, guild_id=OTHER_GUILD)
    assert saved.created and saved.bookmark.title == "Other server's secret"
    assert [b.story_id for b in (await service.list(BOB)).items] == [sid]


async def test_own_custom_feed_is_visible_in_the_server_but_not_in_dms(
    service: BookmarkService, world: World
) -> None:
    feed = await world.feed("mine", "Ours", origin="custom", guild_id=GUILD)
    sid = await world.story("Our own feed's story", url="https://ours.example/1", feed_id=feed)
    with pytest.raises(NotFoundError, match=rf"There is no story {sid}"):
        await service.add(ALICE, sid, guild_id=None)
    assert (await service.add(ALICE, sid, guild_id=GUILD)).created


@pytest.mark.parametrize("origin", ["catalog", "opml"])
async def test_shared_feeds_are_visible_everywhere(
    service: BookmarkService, world: World, origin: str
) -> None:
    feed = await world.feed(f"shared-{origin}", "Shared", origin=origin)
    sid = await world.story("Shared story", url="https://shared.example/1", feed_id=feed)
    assert (await service.add(ALICE, sid, guild_id=None)).created
    assert (await service.add(BOB, sid, guild_id=OTHER_GUILD)).created
    assert (await service.add(BOB + 1, sid, guild_id=GUILD)).created


async def test_a_story_another_server_found_first_is_visible_through_a_shared_feed(
    service: BookmarkService, world: World
) -> None:
    """Stored first by another server's private feed, but a catalog feed carries it too."""
    private = await world.feed("other-private", "Other", origin="custom", guild_id=OTHER_GUILD)
    catalog = await world.feed("catalog-feed", "Catalog blog")
    sid = await world.story(
        "Everyone's story", url="https://public.example/1", feed_id=private, also_feeds=(catalog,)
    )
    assert (await service.add(ALICE, sid, guild_id=GUILD)).created
    assert (await service.add(BOB, sid, guild_id=None)).created


async def test_a_story_no_feed_links_any_more_cannot_be_bookmarked(
    service: BookmarkService, world: World
) -> None:
    sid = await world.story("Unlinked", url="https://u.example/1")
    async with world.sessions() as s, s.begin():
        await s.execute(delete(StoryKey).where(StoryKey.story_id == sid))
    with pytest.raises(NotFoundError, match=rf"There is no story {sid}"):
        await service.add(ALICE, sid, guild_id=GUILD)


async def test_saved_bookmarks_stay_listable_wherever_the_user_asks(
    service: BookmarkService, world: World
) -> None:
    """Saved in the server that may see it: the bookmark is the user's own from then on
    (list, get, note and export take no server), while adding it again elsewhere is the
    same "no story" as for anyone there: one rule for add."""
    sid = await _other_servers_story(world, "Saved while a member")
    await service.add(ALICE, sid, guild_id=OTHER_GUILD)

    page = await service.list(ALICE)
    assert [b.title for b in page.items] == ["Saved while a member"]
    assert (await service.get(ALICE, sid)).title == "Saved while a member"
    assert (await service.set_note(ALICE, sid, "read later")).note == "read later"
    _name, data = await service.export(ALICE, "json")
    assert b"Saved while a member" in data

    with pytest.raises(NotFoundError, match=rf"There is no story {sid}"):
        await service.add(ALICE, sid, guild_id=GUILD)
    assert await _count(world.sessions, ALICE) == 1  # refused, not removed
