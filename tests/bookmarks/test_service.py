"""BookmarkService on both backends: add/duplicate/cap, listing, notes and tags."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.bookmarks.service import MAX_NOTE_CHARS, BookmarkService
from bot.core.errors import NotFoundError, UserInputError
from bot.storage.models import Bookmark, BookmarkTag, Feed
from tests.bookmarks.conftest import ALICE, GUILD, FakeClock, World


async def _count(sessions: async_sessionmaker[AsyncSession], user_id: int) -> int:
    async with sessions() as s:
        stmt = select(func.count()).select_from(Bookmark).where(Bookmark.user_id == user_id)
        return int((await s.execute(stmt)).scalar_one())


# ---------------------------------------------------------------------------- add


async def test_add_then_add_again_says_already_saved(
    service: BookmarkService, world: World
) -> None:
    sid = await world.story("Data Projects at Netflix Scale", url="https://n.example/p/1")
    first = await service.add(ALICE, sid, guild_id=GUILD)
    assert first.created is True
    assert first.count == 1 and first.cap == 5000
    assert first.bookmark.story_id == sid
    assert first.bookmark.title == "Data Projects at Netflix Scale"
    assert first.bookmark.url == "https://n.example/p/1"
    assert first.bookmark.source == "Netflix TechBlog"
    assert first.bookmark.source_key == "netflix"

    again = await service.add(ALICE, sid, guild_id=GUILD)
    assert again.created is False
    assert again.count == 1
    assert again.bookmark.bookmarked_at == first.bookmark.bookmarked_at  # not re-stamped
    assert await _count(world.sessions, ALICE) == 1


async def test_add_missing_story_is_not_found(service: BookmarkService, world: World) -> None:
    await world.story("exists")
    with pytest.raises(NotFoundError, match=r"no story 987654"):
        await service.add(ALICE, 987654, guild_id=GUILD)
    assert await _count(world.sessions, ALICE) == 0


async def test_cap_is_enforced_and_explains_how_to_make_room(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FakeClock
) -> None:
    service = BookmarkService(sessions, per_user_cap=3, clock=clock)
    ids = await world.stories(5)
    for sid in ids[:3]:
        assert (await service.add(ALICE, sid, guild_id=GUILD)).created
    with pytest.raises(UserInputError, match=r"limit of 3 bookmarks.*Remove") as err:
        await service.add(ALICE, ids[3], guild_id=GUILD)
    assert "export" in str(err.value)
    assert await _count(sessions, ALICE) == 3  # the refused insert was rolled back

    # Re-adding one already saved at the cap is not an error: nothing new is stored.
    assert (await service.add(ALICE, ids[0], guild_id=GUILD)).created is False
    # Removing one makes room.
    await service.remove(ALICE, ids[0])
    assert (await service.add(ALICE, ids[3], guild_id=GUILD)).count == 3


async def test_concurrent_adds_never_exceed_the_cap(
    sessions: async_sessionmaker[AsyncSession], world: World, clock: FakeClock
) -> None:
    service = BookmarkService(sessions, per_user_cap=3, clock=clock)
    ids = await world.stories(8)
    results = await asyncio.gather(
        *(service.add(ALICE, sid, guild_id=GUILD) for sid in ids), return_exceptions=True
    )
    created = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, UserInputError)]
    assert len(created) == 3 and len(refused) == 5, results
    assert await _count(sessions, ALICE) == 3


async def test_double_click_saves_once(service: BookmarkService, world: World) -> None:
    sid = await world.story("Clicked twice")
    results = await asyncio.gather(*(service.add(ALICE, sid, guild_id=GUILD) for _ in range(4)))
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert await _count(world.sessions, ALICE) == 1


# ---------------------------------------------------------------------------- list


async def test_list_is_newest_first_with_totals_and_paging(
    service: BookmarkService, world: World
) -> None:
    ids = await world.stories(5)
    for sid in ids:
        await service.add(ALICE, sid, guild_id=GUILD)
    newest_first = list(reversed(ids))

    first = await service.list(ALICE, limit=2)
    assert [b.story_id for b in first.items] == newest_first[:2]
    assert first.total == 5 and first.has_more and first.page == 1 and first.pages == 3

    second = await service.list(ALICE, limit=2, offset=2)
    assert [b.story_id for b in second.items] == newest_first[2:4]
    assert second.page == 2 and second.has_more

    last = await service.list(ALICE, limit=2, offset=4)
    assert [b.story_id for b in last.items] == newest_first[4:]
    assert last.total == 5 and not last.has_more and last.page == 3

    beyond = await service.list(ALICE, limit=2, offset=10)
    assert beyond.items == () and beyond.total == 5


async def test_list_rejects_bad_paging(service: BookmarkService) -> None:
    with pytest.raises(ValueError):
        await service.list(ALICE, limit=0)
    with pytest.raises(ValueError):
        await service.list(ALICE, limit=101)
    with pytest.raises(ValueError):
        await service.list(ALICE, offset=-1)


async def test_list_filters_by_tag(service: BookmarkService, world: World) -> None:
    a, b, c = await world.stories(3)
    for sid in (a, b, c):
        await service.add(ALICE, sid, guild_id=GUILD)
    await service.set_tags(ALICE, a, "k8s, cost")
    await service.set_tags(ALICE, b, "K8s")
    await service.set_tags(ALICE, c, "python")

    page = await service.list(ALICE, tag="#K8S")  # normalised like stored tags
    assert [x.story_id for x in page.items] == [b, a] and page.total == 2
    assert (await service.list(ALICE, tag="cost")).total == 1
    assert (await service.list(ALICE, tag="rust")).total == 0
    assert (await service.list(ALICE, tag="  ")).total == 3  # blank means no filter


async def test_list_query_matches_title_and_note_case_insensitively(
    service: BookmarkService, world: World
) -> None:
    k8s = await world.story("Kubernetes Cost Controls at Scale")
    forests = await world.story("Forecasting the future of forests with AI")
    pct = await world.story("How we cut latency by 100%")
    korean = await world.story("쿠버네티스 비용 최적화 사례")
    japanese = await world.story("大規模データ基盤の設計")
    for sid in (k8s, forests, pct, korean, japanese):
        await service.add(ALICE, sid, guild_id=GUILD)
    await service.set_note(ALICE, forests, "Read for the KUBERNETES capacity section")

    found = await service.list(ALICE, query="kubernetes")
    assert {x.story_id for x in found.items} == {k8s, forests} and found.total == 2
    assert (await service.list(ALICE, query="COST CONTROLS")).total == 1
    # LIKE wildcards in the query are literal characters.
    assert [x.story_id for x in (await service.list(ALICE, query="100%")).items] == [pct]
    assert (await service.list(ALICE, query="%")).total == 1
    assert (await service.list(ALICE, query="_")).total == 0
    # Substrings of Korean and Japanese titles (no word boundaries needed).
    assert [x.story_id for x in (await service.list(ALICE, query="비용")).items] == [korean]
    assert [x.story_id for x in (await service.list(ALICE, query="データ基盤")).items] == [japanese]
    # Tag and query together.
    await service.set_tags(ALICE, k8s, "infra")
    assert (await service.list(ALICE, tag="infra", query="kubernetes")).total == 1
    assert (await service.list(ALICE, tag="infra", query="forests")).total == 0


async def test_list_query_too_long(service: BookmarkService) -> None:
    with pytest.raises(UserInputError, match="at most 200"):
        await service.list(ALICE, query="x" * 201)


# ---------------------------------------------------------------------------- notes


async def test_note_set_clear_and_length_cap(service: BookmarkService, world: World) -> None:
    sid = await world.story("Noted")
    await service.add(ALICE, sid, guild_id=GUILD)

    saved = await service.set_note(ALICE, sid, "  Compare with our\r\nrollout plan \x00 ")
    assert saved.note == "Compare with our\nrollout plan"
    assert (await service.get(ALICE, sid)).note == "Compare with our\nrollout plan"

    exact = "n" * MAX_NOTE_CHARS
    assert (await service.set_note(ALICE, sid, exact)).note == exact
    with pytest.raises(UserInputError, match=r"at most 1,000 characters; yours has 1,001"):
        await service.set_note(ALICE, sid, exact + "n")
    assert (await service.get(ALICE, sid)).note == exact  # unchanged by the refused edit

    assert (await service.set_note(ALICE, sid, "   ")).note is None
    assert (await service.set_note(ALICE, sid, "x")).note == "x"
    assert (await service.set_note(ALICE, sid, "")).note is None


# ---------------------------------------------------------------------------- tags


async def test_tags_replace_and_clear(service: BookmarkService, world: World) -> None:
    sid = await world.story("Tagged")
    await service.add(ALICE, sid, guild_id=GUILD)
    saved = await service.set_tags(ALICE, sid, "Kubernetes, cost  #SRE kubernetes")
    assert saved.tags == ("cost", "kubernetes", "sre")
    saved = await service.set_tags(ALICE, sid, ["python", "c++"])
    assert saved.tags == ("c++", "python")
    assert (await service.tags(ALICE)) == [("c++", 1), ("python", 1)]
    saved = await service.set_tags(ALICE, sid, "")
    assert saved.tags == ()
    async with world.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(BookmarkTag))).scalar_one() == 0


async def test_invalid_tags_change_nothing(service: BookmarkService, world: World) -> None:
    sid = await world.story("Tagged")
    await service.add(ALICE, sid, guild_id=GUILD)
    await service.set_tags(ALICE, sid, "keep")
    with pytest.raises(UserInputError, match="at most 10 tags; you gave 11"):
        await service.set_tags(ALICE, sid, " ".join(f"t{i}" for i in range(11)))
    with pytest.raises(UserInputError, match="at most 30 characters"):
        await service.set_tags(ALICE, sid, "x" * 31)
    assert (await service.get(ALICE, sid)).tags == ("keep",)


async def test_tag_counts_most_used_first(service: BookmarkService, world: World) -> None:
    a, b = await world.stories(2)
    await service.add(ALICE, a, guild_id=GUILD)
    await service.add(ALICE, b, guild_id=GUILD)
    await service.set_tags(ALICE, a, "ml infra")
    await service.set_tags(ALICE, b, "infra")
    assert await service.tags(ALICE) == [("infra", 2), ("ml", 1)]


# ---------------------------------------------------------------------------- not bookmarked


async def test_operations_on_a_story_not_bookmarked(service: BookmarkService, world: World) -> None:
    sid = await world.story("Never saved")
    for call in (
        service.get(ALICE, sid),
        service.remove(ALICE, sid),
        service.set_note(ALICE, sid, "x"),
        service.set_tags(ALICE, sid, "x"),
    ):
        with pytest.raises(NotFoundError, match=f"Story {sid} is not in your bookmarks"):
            await call


async def test_remove_returns_what_was_removed(service: BookmarkService, world: World) -> None:
    sid = await world.story("Gone soon")
    await service.add(ALICE, sid, guild_id=GUILD)
    await service.set_tags(ALICE, sid, "a b")
    removed = await service.remove(ALICE, sid)
    assert removed.title == "Gone soon" and removed.tags == ("a", "b")
    with pytest.raises(NotFoundError):
        await service.get(ALICE, sid)
    with pytest.raises(NotFoundError):
        await service.remove(ALICE, sid)
    async with world.sessions() as s:  # its tags went with it
        assert (await s.execute(select(func.count()).select_from(BookmarkTag))).scalar_one() == 0


async def test_bookmark_readable_after_its_feed_stops_listing_it(
    service: BookmarkService, world: World
) -> None:
    sid = await world.story("Old post", url=None)
    await service.add(ALICE, sid, guild_id=GUILD)
    # The feed dropped the item long ago, then the feed itself went away (410, deactivated):
    # the bookmark does not depend on either.
    async with world.sessions() as s, s.begin():
        await s.execute(update(Feed).values(active=False, gone=True))
    got = await service.get(ALICE, sid)
    assert got.title == "Old post" and got.url is None
    assert (await service.list(ALICE)).total == 1


@pytest.mark.parametrize("bad", [0, -1, 2**63, 10**30])
async def test_impossible_story_ids_are_plain_not_found(
    service: BookmarkService, world: World, bad: int
) -> None:
    with pytest.raises(NotFoundError, match="no story"):
        await service.add(ALICE, bad, guild_id=GUILD)
    with pytest.raises(NotFoundError, match="not in your bookmarks"):
        await service.get(ALICE, bad)
    with pytest.raises(NotFoundError, match="not in your bookmarks"):
        await service.remove(ALICE, bad)
    with pytest.raises(NotFoundError, match="not in your bookmarks"):
        await service.set_note(ALICE, bad, "x")


async def test_query_case_folding_of_non_ascii_letters(
    service: BookmarkService, world: World, backend: str
) -> None:
    sid = await world.story("Über die Größe von Indizes")
    await service.add(ALICE, sid, guild_id=GUILD)
    # Typed as in the title, or differing only in ASCII letters: found on both backends.
    for query in ("Über", "ÜBER", "größe", "INDIZES"):
        assert (await service.list(ALICE, query=query)).total == 1, query
    # PostgreSQL's lower() folds all of Unicode; SQLite's only ASCII (known limitation: a
    # Unicode fold on SQLite needs a SQL function registered by the engine).
    expected = 1 if backend == "postgresql" else 0
    assert (await service.list(ALICE, query="über")).total == expected
