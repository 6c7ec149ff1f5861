"""Leasing due feeds on SQLite and PostgreSQL: concurrent workers never share a feed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from bot.core.ingest.types import FeedState, NewFeed
from bot.core.models import CatalogFeed
from bot.storage.feeds_repo import FeedsRepository
from bot.storage.models import Feed
from tests.ingest.dbhelpers import T0, make_feed

LEASE = timedelta(minutes=5)


async def _feeds(repo: FeedsRepository, n: int) -> list[int]:
    return [(await make_feed(repo, f"f{i:02d}")).id for i in range(n)]


async def test_only_due_active_not_gone_unleased_feeds_are_leased(sessions):
    repo = FeedsRepository(sessions)
    ids = await _feeds(repo, 5)
    async with sessions.begin() as s:
        await s.execute(update(Feed).where(Feed.id == ids[0]).values(next_check_at=T0 + LEASE))
        await s.execute(update(Feed).where(Feed.id == ids[1]).values(gone=True))
        await s.execute(update(Feed).where(Feed.id == ids[2]).values(active=False))
    got = await repo.lease_due("w1", T0, lease_for=LEASE)
    assert sorted(f.id for f in got) == ids[3:]
    assert await repo.lease_due("w2", T0, lease_for=LEASE) == []  # held by w1
    # An expired lease is up for grabs again (a crashed worker does not strand its feeds).
    again = await repo.lease_due("w2", T0 + LEASE + timedelta(seconds=1), lease_for=LEASE)
    assert sorted(f.id for f in again) == sorted([ids[0], *ids[3:]])
    forced = await repo.lease_due("w3", T0, lease_for=LEASE, force=True)
    assert forced == []  # force ignores next_check_at, never someone else's lease


async def test_concurrent_workers_get_disjoint_feeds(engine, sessions):
    repo = FeedsRepository(sessions)
    ids = await _feeds(repo, 30)
    workers = [FeedsRepository(sessions) for _ in range(6)]
    batches = await asyncio.gather(
        *(w.lease_due(f"w{i}", T0, lease_for=LEASE, limit=7) for i, w in enumerate(workers))
    )
    leased = [f.id for batch in batches for f in batch]
    assert len(leased) == len(set(leased)), "a feed was leased twice"
    assert sorted(leased) == sorted(ids)  # 6 x 7 >= 30: every due feed went to someone
    owners = {f.id: i for i, batch in enumerate(batches) for f in batch}
    assert len(set(owners.values())) >= 2


async def test_record_releases_the_lease_and_keeps_error_state(sessions):
    repo = FeedsRepository(sessions)
    (feed_id,) = await _feeds(repo, 1)
    await repo.lease_due("w1", T0, lease_for=LEASE)
    fail = FeedState(
        feed_id=feed_id,
        checked_at=T0,
        next_check_at=T0 + LEASE,
        status=500,
        ok=False,
        error="HTTP 500",
        count_error=True,
    )
    await repo.record([fail])
    await repo.record([fail])
    row = await repo.by_id(feed_id)
    assert row is not None
    assert (row.error_count, row.last_error, row.last_status) == (2, "HTTP 500", 500)
    assert row.next_check_at == T0 + LEASE and row.last_success_at is None
    assert await repo.lease_due("w2", T0 + LEASE, lease_for=LEASE)  # released, due again
    ok = FeedState(
        feed_id=feed_id,
        checked_at=T0,
        next_check_at=T0 + LEASE,
        status=200,
        ok=True,
        etag='"x"',
        body_hash="h",
        validators=True,
    )
    await repo.record([ok])
    row = await repo.by_id(feed_id)
    assert row is not None
    assert (row.error_count, row.last_error, row.etag, row.body_hash) == (0, None, '"x"', "h")
    assert row.last_success_at == T0


async def test_one_record_call_writes_each_feed_its_own_state(sessions):
    # States of different shapes (success with validators, 304, failure, backpressure, new
    # key kinds) and several of one shape share statements; each feed must get only its own.
    repo = FeedsRepository(sessions)
    ids = await _feeds(repo, 6)
    await repo.lease_due("w1", T0, lease_for=LEASE)
    later = T0 + timedelta(hours=1)

    def ok(i: int, **kw: object) -> FeedState:
        return FeedState(
            feed_id=ids[i],
            checked_at=T0,
            next_check_at=T0 + timedelta(minutes=i),
            status=200,
            ok=True,
            etag=f'"e{i}"',
            body_hash=f"h{i}",
            validators=True,
            **kw,  # type: ignore[arg-type]
        )

    fail = FeedState(ids[3], T0, later, 500, ok=False, error="HTTP 500", count_error=True)
    await repo.record([fail])
    states = [
        ok(0),
        ok(1),
        ok(2, unusable_key_kinds=frozenset({"guid"})),
        fail,
        FeedState(ids[4], T0, later, 429, ok=False, error="slow down"),
        FeedState(ids[5], T0, later, 304, ok=True, etag='"kept"', validators=True),
    ]
    await repo.record(states)
    rows = {i: await repo.by_id(feed_id) for i, feed_id in enumerate(ids)}
    for i in (0, 1, 2):
        row = rows[i]
        assert row is not None
        assert (row.etag, row.body_hash, row.error_count) == (f'"e{i}"', f"h{i}", 0)
        assert row.next_check_at == T0 + timedelta(minutes=i) and row.last_success_at == T0
    assert rows[0] is not None and rows[0].unusable_key_kinds == frozenset()
    assert rows[2] is not None and rows[2].unusable_key_kinds == {"guid"}
    assert rows[3] is not None and (rows[3].error_count, rows[3].last_error) == (2, "HTTP 500")
    assert rows[3].etag is None and rows[3].last_success_at is None
    assert rows[4] is not None and (rows[4].error_count, rows[4].last_status) == (0, 429)
    assert rows[4].last_error == "slow down" and rows[4].last_success_at is None
    assert rows[5] is not None and (rows[5].etag, rows[5].body_hash) == ('"kept"', None)
    # Every lease is released.
    assert len(await repo.lease_due("w2", later, lease_for=LEASE)) == 6


async def test_catalog_sync_upserts_and_retires(sessions):
    repo = FeedsRepository(sessions)
    entry = CatalogFeed(
        "netflix", "Netflix", "https://n.example/feed", "https://n.example", "en", 0xE50914
    )
    other = CatalogFeed("meta", "Meta", "https://m.example/feed", "https://m.example", "en", 1)
    first = await repo.sync_catalog([entry, other], T0)
    assert (first.added, first.updated, first.deactivated) == (2, 0, 0)
    renamed = CatalogFeed("netflix", "Netflix TechBlog", entry.feed_url, entry.site_url, "en", 1)
    second = await repo.sync_catalog([renamed], T0)
    assert (second.added, second.updated, second.deactivated) == (0, 1, 1)
    rows = {f.key: f for f in await repo.list_feeds(active_only=False)}
    assert rows["netflix"].title == "Netflix TechBlog" and rows["netflix"].origin == "catalog"
    assert rows["meta"].active is False


async def test_a_new_catalog_key_never_takes_over_a_servers_feed(sessions):
    repo = FeedsRepository(sessions)
    custom = await repo.add(
        NewFeed(
            key="acme",
            url="https://blog.acme.example/rss",
            title="Acme",
            origin="custom",
            added_by_guild_id=7,
        ),
        T0,
    )
    entry = CatalogFeed(
        "acme", "Acme Eng", "https://eng.acme.example/feed", "https://eng.acme.example", "en", 1
    )
    result = await repo.sync_catalog([entry], T0)
    assert result.added == 1
    rows = {f.id: f for f in await repo.list_feeds(active_only=False)}
    moved = rows[custom.id]
    assert (moved.key, moved.url, moved.origin) == (
        "acme-2",
        "https://blog.acme.example/rss",
        "custom",
    )
    (catalog,) = [f for f in rows.values() if f.origin == "catalog"]
    assert (catalog.key, catalog.url) == ("acme", "https://eng.acme.example/feed")
