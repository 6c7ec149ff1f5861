"""Shares on both backends: reserve, post, the once-a-day rule per channel, the per-user
cooldown read from the stored shares, visibility, comment validation, and the rendering."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.errors import NotFoundError, UserInputError
from bot.core.share import AlreadyShared, ShareCooldown
from bot.core.share.service import MAX_COMMENT_CHARS, ShareService, clean_comment
from bot.storage.models import Share, Story, Subscription
from tests.bookmarks.conftest import ALICE, BOB, GUILD, OTHER_GUILD, T0, World

CHANNEL = 555_555_555_555_555_555
OTHER_CHANNEL = 666_666_666_666_666_666


class StepClock:
    """A clock the test moves by hand (the bookmark one ticks on every reading)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def step() -> StepClock:
    return StepClock()


@pytest.fixture
def shares(sessions: async_sessionmaker[AsyncSession], step: StepClock) -> ShareService:
    return ShareService(sessions, cooldown_seconds=30, clock=step)


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[Share]:
    async with sessions() as s:
        return list((await s.scalars(select(Share).order_by(Share.id))).all())


async def _share(
    shares: ShareService,
    story_id: int,
    *,
    user: int = ALICE,
    channel: int = CHANNEL,
    comment: str = "worth a read",
    guild: int = GUILD,
) -> int:
    prepared = await shares.prepare(
        user_id=user,
        guild_id=guild,
        channel_id=channel,
        story_id=story_id,
        comment=comment,
        sharer="Alice",
    )
    return prepared.share_id


async def test_a_share_is_stored_with_who_what_where_when_and_its_message(
    shares: ShareService, world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    sid = await world.story("Data mesh at scale", url="https://example.com/mesh")
    prepared = await shares.prepare(
        user_id=ALICE,
        guild_id=GUILD,
        channel_id=CHANNEL,
        story_id=sid,
        comment="Read this",
        sharer="Alice",
    )
    assert prepared.title == "Data mesh at scale"
    message = prepared.message
    assert message.content == "Shared by Alice: Read this"
    (embed,) = message.embeds
    assert embed["title"] == "Data mesh at scale" and embed["url"] == "https://example.com/mesh"
    assert message.components[0]["components"][0]["custom_id"] == f"tb:bm:{sid}"
    (row,) = await _rows(sessions)
    assert (row.user_id, row.story_id, row.guild_id, row.channel_id) == (
        ALICE,
        sid,
        GUILD,
        CHANNEL,
    )
    assert row.message_id is None and row.shared_at == T0
    await shares.posted(prepared.share_id, 987_654_321)
    (row,) = await _rows(sessions)
    assert row.message_id == 987_654_321


async def test_same_story_same_channel_within_a_day_links_the_first_message(
    shares: ShareService, world: World, step: StepClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    sid = await world.story("Once a day")
    first = await _share(shares, sid)
    await shares.posted(first, 42)
    step.advance(hours=1)
    with pytest.raises(AlreadyShared) as err:
        await _share(shares, sid, user=BOB)  # anybody: the channel has seen it
    assert f"https://discord.com/channels/{GUILD}/{CHANNEL}/42" in str(err.value)
    assert len(await _rows(sessions)) == 1  # the refused one left nothing behind
    # Another channel is fine, and so is the same channel a day later.
    await _share(shares, sid, user=BOB, channel=OTHER_CHANNEL)
    step.advance(hours=23, minutes=1)
    await _share(shares, sid, user=ALICE)
    assert len(await _rows(sessions)) == 3


async def test_a_share_being_posted_blocks_and_a_lost_one_stops_blocking(
    shares: ShareService, world: World, step: StepClock
) -> None:
    sid = await world.story("In flight")
    await _share(shares, sid)  # reserved, never marked posted (its process died)
    step.advance(seconds=40)
    with pytest.raises(AlreadyShared) as err:
        await _share(shares, sid, user=BOB)
    assert "right now" in str(err.value)
    step.advance(minutes=3)
    await _share(shares, sid, user=BOB)


async def test_cooldown_per_user_counts_only_shares_that_happened(
    shares: ShareService, world: World, step: StepClock
) -> None:
    a, b, c = [await world.story(t) for t in ("A", "B", "C")]
    first = await _share(shares, a)
    await shares.posted(first, 1)
    step.advance(seconds=10)
    assert await shares.cooldown_left(ALICE) == 20
    assert await shares.cooldown_left(BOB) == 0
    with pytest.raises(ShareCooldown) as err:
        await _share(shares, b)
    assert err.value.retry_after == 20 and "Try again in 20 seconds" in str(err.value)
    await _share(shares, b, user=BOB)  # per user
    step.advance(seconds=20)
    refused = await _share(shares, b, channel=OTHER_CHANNEL)
    await shares.abandon(refused)  # Discord refused the post: it never happened
    assert await shares.cooldown_left(ALICE) == 0
    await _share(shares, c)


async def test_no_cooldown_when_set_to_zero(
    sessions: async_sessionmaker[AsyncSession], world: World, step: StepClock
) -> None:
    shares = ShareService(sessions, cooldown_seconds=0, clock=step)
    a, b = await world.story("A"), await world.story("B")
    await _share(shares, a)
    await _share(shares, b)
    assert await shares.cooldown_left(ALICE) == 0


async def test_concurrent_shares_of_one_user_let_exactly_one_through(
    shares: ShareService, world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids = [await world.story(f"Race {i}") for i in range(4)]
    results = await asyncio.gather(
        *(_share(shares, sid, channel=CHANNEL + i) for i, sid in enumerate(ids)),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, int)]
    assert len(won) == 1, results
    assert all(isinstance(r, ShareCooldown) for r in results if not isinstance(r, int))
    assert len(await _rows(sessions)) == 1


async def test_concurrent_shares_of_one_story_into_one_channel_let_one_through(
    shares: ShareService, world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    sid = await world.story("Race")
    users = [ALICE + i for i in range(4)]
    results = await asyncio.gather(
        *(_share(shares, sid, user=u) for u in users), return_exceptions=True
    )
    assert len([r for r in results if isinstance(r, int)]) == 1, results
    assert len(await _rows(sessions)) == 1


async def test_only_stories_the_server_sees_and_labelled_with_its_feed(
    shares: ShareService, world: World
) -> None:
    secret_feed = await world.feed("secret", "Secret", origin="custom", guild_id=OTHER_GUILD)
    secret = await world.story("Other server's", feed_id=secret_feed)
    with pytest.raises(NotFoundError) as err:
        await _share(shares, secret)
    assert (
        str(err.value) == f"There is no story {secret}; it may have been removed from the archive."
    )
    with pytest.raises(NotFoundError):
        await _share(shares, 9_999_999)
    with pytest.raises(NotFoundError):
        await _share(shares, 2**64)
    # A story first stored by the other server's feed, also carried by one this server follows:
    # shared under the name this server knows it by, never the private one.
    mine = await world.feed("mine", "Our feed", origin="custom", guild_id=GUILD)
    both = await world.story("Both", feed_id=secret_feed, also_feeds=(mine,))
    prepared = await shares.prepare(
        user_id=ALICE, guild_id=GUILD, channel_id=CHANNEL, story_id=both, comment="x", sharer="A"
    )
    assert prepared.message.embeds[0]["author"]["name"] == "Our feed"


async def test_the_card_dates_like_the_channels_brief(
    shares: ShareService, world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from bot.storage.models import Guild

    sid = await world.story("Late night")
    async with sessions() as s, s.begin():
        s.add(Guild(id=GUILD, name="g", joined_at=T0))
        await s.flush()
        s.add(
            Subscription(
                guild_id=GUILD,
                channel_id=CHANNEL,
                timezone="Pacific/Auckland",
                created_at=T0,
                updated_at=T0,
            )
        )
    prepared = await shares.prepare(
        user_id=ALICE, guild_id=GUILD, channel_id=CHANNEL, story_id=sid, comment="x", sharer="A"
    )
    # 09:00 UTC on 22 Nov is 22:00 on the 22nd in Auckland; the story is dated by the zone.
    assert prepared.message.embeds[0]["footer"]["text"] == "Sun 22 Nov 2026"
    other = await shares.prepare(
        user_id=BOB, guild_id=GUILD, channel_id=OTHER_CHANNEL, story_id=sid, comment="x", sharer="B"
    )
    assert other.message.embeds[0]["footer"]["text"] == "Sun 22 Nov 2026"


async def test_a_pruned_story_takes_its_shares_with_it(
    shares: ShareService, world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    sid = await world.story("Old")
    await _share(shares, sid)
    async with sessions() as s, s.begin():
        await s.execute(delete(Story).where(Story.id == sid))
    async with sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Share))).scalar_one() == 0


def test_comment_validation() -> None:
    assert clean_comment("  two\r\nlines\n\n\n\nend  ") == "two\nlines\n\nend"
    assert clean_comment("a\x00b\x1bc") == "abc"
    assert len(clean_comment("x" * MAX_COMMENT_CHARS)) == MAX_COMMENT_CHARS
    with pytest.raises(UserInputError, match="at most 500 characters; yours has 501"):
        clean_comment("x" * 501)
    with pytest.raises(UserInputError, match="Write a comment"):
        clean_comment(" \n\x00 ")


async def test_a_bad_comment_is_refused_before_anything_is_stored(
    shares: ShareService, world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    sid = await world.story("S")
    with pytest.raises(UserInputError):
        await _share(shares, sid, comment="y" * 501)
    assert await _rows(sessions) == []
