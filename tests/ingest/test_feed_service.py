"""FeedService (/feed add|remove|list|status) and OPML, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.core.errors import NotFoundError, UserInputError
from bot.core.ingest import Fetcher, FetchPolicy, ScheduleLimits, parse_opml
from bot.core.ingest.feed_service import FeedService, key_base
from bot.storage.feeds_repo import FeedsRepository
from bot.storage.models import Feed, Story, StoryKey
from bot.storage.stories_repo import StoriesRepository
from tests.feedserver import FeedServer, rss_feed
from tests.ingest.conftest import SteppingClock
from tests.ingest.dbhelpers import T0, make_feed

GUILD, OTHER, THIRD = 1001, 2002, 3003


async def _service(sessions, fetcher, parser) -> FeedService:
    return FeedService(
        FeedsRepository(sessions),
        StoriesRepository(sessions),
        fetcher,
        parser,
        clock=SteppingClock(),
        limits=ScheduleLimits(jitter=0.0),
        max_per_guild=3,
    )


@pytest.fixture
async def open_fetcher() -> AsyncIterator[Fetcher]:
    """Private networks allowed: the tests' own server is on 127.0.0.1."""
    policy = FetchPolicy(allow_private_networks=True, total_timeout=1.0, max_body_bytes=50_000)
    async with Fetcher(policy) as f:
        yield f


@pytest.fixture
async def strict_fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(FetchPolicy(allow_private_networks=False, total_timeout=2.0)) as f:
        yield f


async def test_add_custom_fetches_once_and_stores_without_announcing(
    sessions, feed_server: FeedServer, open_fetcher, thread_parser
):
    feed_server.add_feed("/blog.xml", items=4)
    service = await _service(sessions, open_fetcher, thread_parser)
    added = await service.add_custom(" " + feed_server.url("/blog.xml") + " ", guild_id=GUILD)
    assert feed_server.hits["/blog.xml"] == 1
    assert added.key == "generated-blog" and added.title == "Generated blog" and added.stories == 4
    assert added.latest_title == "Post 0" and added.latest_url == "https://blog.test/post-0"
    row = await service.feeds.by_key(added.key)
    assert row is not None and row.origin == "custom" and row.added_by_guild_id == GUILD
    async with sessions() as s:
        flags = set(await s.scalars(select(Story.backfill)))
    assert flags == {True}  # archived and searchable, never announced
    assert row.etag and row.body_hash and row.last_success_at is not None
    assert row.next_check_at > row.last_success_at  # scheduled, not due at once
    with pytest.raises(UserInputError, match="already follows"):
        await service.add_custom(feed_server.url("/blog.xml"), guild_id=GUILD)
    assert [f.key for f in await service.list(GUILD)] == [added.key]
    assert await service.list(OTHER) == []


async def test_add_custom_refuses_private_addresses_when_not_allowed(
    sessions, feed_server: FeedServer, strict_fetcher, thread_parser
):
    feed_server.add_feed("/blog.xml")
    service = await _service(sessions, strict_fetcher, thread_parser)
    with pytest.raises(UserInputError, match="not allowed"):
        await service.add_custom(feed_server.url("/blog.xml"), guild_id=GUILD)
    with pytest.raises(UserInputError, match="not allowed"):
        await service.add_custom(feed_server.url("/blog.xml", host="localhost"), guild_id=GUILD)
    with pytest.raises(UserInputError, match="not allowed"):
        await service.add_custom("http://169.254.169.254/latest/meta-data", guild_id=GUILD)
    assert feed_server.hits["/blog.xml"] == 0
    assert await service.list(GUILD) == []


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: s.status("/x", 404), "HTTP 404"),
        (lambda s: s.add("/x", rss_feed(1), delay=3.0), "timed out"),
        (lambda s: s.huge("/x", 200_000), "too large"),
        (
            lambda s: s.add("/x", "<html><body>hello</body></html>", content_type="text/html"),
            "not a feed",
        ),
        (lambda s: s.status("/x", 429, retry_after="60"), "slow down"),
    ],
)
async def test_add_custom_explains_each_failure(
    sessions, feed_server: FeedServer, open_fetcher, thread_parser, setup, message
):
    setup(feed_server)
    service = await _service(sessions, open_fetcher, thread_parser)
    with pytest.raises(UserInputError, match=message):
        await service.add_custom(feed_server.url("/x"), guild_id=GUILD)
    assert await service.list(GUILD) == []


async def test_add_custom_rejects_non_http_and_catalog_duplicates(
    sessions, open_fetcher, thread_parser, feed_server: FeedServer
):
    service = await _service(sessions, open_fetcher, thread_parser)
    for bad in ("ftp://example.com/feed", "file:///etc/passwd", "javascript:alert(1)", ""):
        with pytest.raises(UserInputError):
            await service.add_custom(bad, guild_id=GUILD)
    await make_feed(service.feeds, "netflix", url=feed_server.url("/n.xml"))
    # A catalog feed is linked like any tracked feed: no fetch of its own, listed here.
    added = await service.add_custom(feed_server.url("/n.xml"), guild_id=GUILD)
    assert added.key == "netflix" and added.already_tracked
    assert feed_server.hits["/n.xml"] == 0
    assert [f.key for f in await service.list(GUILD)] == ["netflix"]
    with pytest.raises(UserInputError, match="already follows that feed as `netflix`"):
        await service.add_custom(feed_server.url("/n.xml"), guild_id=GUILD)


async def test_guild_cap(sessions, feed_server: FeedServer, open_fetcher, thread_parser):
    service = await _service(sessions, open_fetcher, thread_parser)
    for i in range(3):
        feed_server.add_feed(f"/{i}.xml")
        await service.add_custom(feed_server.url(f"/{i}.xml"), guild_id=GUILD)
    feed_server.add_feed("/3.xml")
    with pytest.raises(UserInputError, match="remove one"):
        await service.add_custom(feed_server.url("/3.xml"), guild_id=GUILD)
    keys = [f.key for f in await service.list(GUILD)]
    assert keys == ["generated-blog", "generated-blog-2", "generated-blog-3"]


async def test_remove_unlinks_and_an_unfollowed_feed_stops_but_keeps_its_stories(
    sessions, feed_server: FeedServer, open_fetcher, thread_parser
):
    feed_server.add_feed("/a.xml")
    service = await _service(sessions, open_fetcher, thread_parser)
    a = await service.add_custom(feed_server.url("/a.xml"), guild_id=GUILD)
    with pytest.raises(NotFoundError):
        await service.remove(a.key, OTHER)
    removed = await service.remove(a.key, GUILD)
    assert removed.key == a.key
    row = await service.feeds.by_key(a.key)
    assert row is not None and row.active is False  # nobody follows it: not polled
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(StoryKey)) == 3
    assert await service.list(GUILD) == []
    with pytest.raises(NotFoundError):
        await service.remove(a.key, GUILD)
    # Adding it again brings the same feed back: its old items are known, none is new.
    back = await service.add_custom(feed_server.url("/a.xml"), guild_id=GUILD)
    assert back.key == a.key and back.stories == 0 and not back.already_tracked
    assert (await service.feeds.by_key(a.key)).active  # type: ignore[union-attr]


async def test_two_servers_share_one_feed_under_two_spellings(
    sessions, feed_server: FeedServer, open_fetcher, thread_parser
):
    feed_server.add_feed("/blog/", items=2)
    service = await _service(sessions, open_fetcher, thread_parser)
    first = await service.add_custom(feed_server.url("/blog/"), guild_id=GUILD)
    # Upper-case scheme and host, no trailing slash: the same address to the fetcher.
    other_spelling = feed_server.url("/blog").replace("http://127.0.0.1", "HTTP://127.0.0.1")
    second = await service.add_custom(other_spelling, guild_id=OTHER)
    assert second.key == first.key and second.already_tracked
    assert second.stories == 2 and second.latest_title == "Post 0"
    assert feed_server.hits["/blog/"] == 1  # linked, not fetched again
    assert [f.key for f in await service.list(OTHER)] == [first.key]
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Feed)) == 1
    # One server leaving keeps the feed polled for the other; rename needs a sole follower.
    with pytest.raises(UserInputError, match="Other servers follow"):
        await service.rename(first.key, GUILD, "Mine")
    await service.remove(first.key, GUILD)
    row = await service.feeds.by_key(first.key)
    assert row is not None and row.active
    assert (await service.rename(first.key, OTHER, "Theirs")).new_name == "Theirs"


async def test_a_redirect_recorded_on_the_first_fetch_names_the_same_feed(
    sessions, feed_server: FeedServer, open_fetcher, thread_parser
):
    feed_server.add_feed("/feed/", items=2)
    feed_server.redirect("/old", feed_server.url("/feed/"), status=301)
    service = await _service(sessions, open_fetcher, thread_parser)
    first = await service.add_custom(feed_server.url("/old"), guild_id=GUILD)
    row = await service.feeds.by_key(first.key)
    assert row is not None and row.final_url == feed_server.url("/feed/")
    second = await service.add_custom(feed_server.url("/feed"), guild_id=OTHER)
    assert second.key == first.key and second.already_tracked
    assert feed_server.hits["/feed/"] == 1
    # A third spelling that only the fetch reveals (redirect to the tracked target).
    feed_server.redirect("/elsewhere", feed_server.url("/feed/"), status=302)
    third = await service.add_custom(feed_server.url("/elsewhere"), guild_id=THIRD)
    assert third.key == first.key and third.already_tracked
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Feed)) == 1


async def test_the_cap_counts_links(sessions, feed_server: FeedServer, open_fetcher, thread_parser):
    service = await _service(sessions, open_fetcher, thread_parser)
    for i in range(3):
        feed_server.add_feed(f"/{i}.xml")
        await service.add_custom(feed_server.url(f"/{i}.xml"), guild_id=OTHER)
    for i in range(3):
        assert (await service.add_custom(feed_server.url(f"/{i}.xml"), guild_id=GUILD)).key
    feed_server.add_feed("/3.xml")
    with pytest.raises(UserInputError, match="remove one"):
        await service.add_custom(feed_server.url("/3.xml"), guild_id=GUILD)


async def test_leaving_a_server_unlinks_its_feeds(
    sessions, feed_server: FeedServer, open_fetcher, thread_parser
):
    from bot.storage.subscriptions_repo import SubscriptionsRepository

    feed_server.add_feed("/solo.xml")
    feed_server.add_feed("/both.xml")
    service = await _service(sessions, open_fetcher, thread_parser)
    solo = await service.add_custom(feed_server.url("/solo.xml"), guild_id=GUILD)
    both = await service.add_custom(feed_server.url("/both.xml"), guild_id=GUILD)
    await service.add_custom(feed_server.url("/both.xml"), guild_id=OTHER)
    await SubscriptionsRepository(sessions).guild_left(GUILD, T0)
    assert await service.list(GUILD) == []
    assert (await service.feeds.by_key(solo.key)).active is False  # type: ignore[union-attr]
    assert (await service.feeds.by_key(both.key)).active is True  # type: ignore[union-attr]


async def test_status_lists_failing_feeds_first(sessions, open_fetcher, thread_parser):
    service = await _service(sessions, open_fetcher, thread_parser)
    good = await make_feed(service.feeds, "good", origin="custom", guild_id=GUILD)
    bad = await make_feed(service.feeds, "bad", origin="custom", guild_id=GUILD)
    from bot.core.ingest.types import FeedState

    await service.feeds.record(
        [
            FeedState(
                feed_id=bad.id,
                checked_at=T0,
                next_check_at=T0,
                status=500,
                ok=False,
                error="HTTP 500",
                count_error=True,
            )
        ]
    )
    status = await service.status(GUILD)
    assert [f.key for f in status] == ["bad", "good"]
    assert status[0].last_error == "HTTP 500" and status[0].error_count == 1
    assert good.id == status[1].id


async def test_opml_import_and_export_round_trip(sessions, strict_fetcher, thread_parser):
    service = await _service(sessions, strict_fetcher, thread_parser)
    await make_feed(service.feeds, "existing", url="https://existing.example/feed")
    opml = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>mine</title></head><body>
  <outline text="Tech"><outline text="One" title="One Blog" type="rss"
      xmlUrl="https://one.example/feed.xml" htmlUrl="https://one.example/"/></outline>
  <outline text="Dup" xmlUrl="https://existing.example/feed"/>
  <outline text="Bad" xmlUrl="ftp://bad.example/feed"/>
  <outline text="Inside" xmlUrl="http://10.0.0.1/feed"/>
</body></opml>"""
    report = await service.import_opml(opml)
    assert report.added == ["one-blog"]
    assert report.duplicates == ["https://existing.example/feed"]
    assert [u for u, _ in report.refused] == ["ftp://bad.example/feed", "http://10.0.0.1/feed"]
    row = await service.feeds.by_key("one-blog")
    assert row is not None and row.origin == "opml" and row.title == "One Blog"
    exported = await service.export_opml()
    outlines = {o.xml_url: o for o in parse_opml(exported.encode())}
    assert set(outlines) == {"https://existing.example/feed", "https://one.example/feed.xml"}
    assert outlines["https://one.example/feed.xml"].html_url == "https://one.example/"
    again = await service.import_opml(exported.encode())
    assert again.added == [] and len(again.duplicates) == 2


def test_key_base():
    assert key_base("Whatever - RSS", "https://www.Engineering.Example.com/feed") == "whatever"
    assert key_base(None, "https://www.Engineering.Example.com/feed") == "engineering-example-com"
    assert len(key_base(None, "https://" + "a" * 60 + ".com/")) <= 32
