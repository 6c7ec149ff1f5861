"""install_ingest: services get the refresher and FeedService, jobs poll and prune, metrics move."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bot.core.ingest import ParserPool
from bot.core.models import CatalogFeed
from bot.runtime.container import Services, install_ingest
from bot.runtime.metrics import Metrics
from bot.runtime.settings import FetchSettings, Settings
from bot.storage.feeds_repo import FeedsRepository
from tests.feedserver import FeedServer
from tests.ingest.conftest import SteppingClock


async def test_install_ingest_wires_jobs_metrics_and_shutdown(
    engine, sessions, feed_server: FeedServer, monkeypatch
):
    feed_server.add_feed("/cat.xml", items=2)
    catalog = [
        CatalogFeed("cat", "Cat blog", feed_server.url("/cat.xml"), "https://cat.test/", "en", 1)
    ]
    services = Services(
        settings=Settings(fetch=FetchSettings(parser_processes=1)),
        engine=engine,
        sessions=sessions,
        metrics=Metrics(),
        catalog=catalog,
        clock=SteppingClock(),
    )
    # Threads instead of worker processes: same code path, no process start-up in the test.
    executor = ThreadPoolExecutor(max_workers=1)
    monkeypatch.setattr(
        "bot.runtime.ingest.ParserPool", lambda **_kw: ParserPool(executor=executor)
    )
    async with services.exit_stack:
        install_ingest(services)
        assert getattr(services, "refresher", None) is not None
        assert getattr(services, "feeds", None) is not None
        jobs = {name: (seconds, job) for name, seconds, job in services.jobs(bot=None)}
        assert set(jobs) == {"poll", "prune"}
        assert jobs["poll"][0] == services.settings.scheduler.tick_seconds
        assert jobs["prune"][0] == 24 * 3600
        await jobs["poll"][1]()  # first cycle: syncs the catalog, then polls it
        assert await jobs["prune"][1]() == 0
        rows = await FeedsRepository(sessions).list_feeds()
        assert [f.key for f in rows] == ["cat"] and rows[0].last_success_at is not None
        text = services.metrics.render().decode()
        assert 'techbrief_feeds_polled_total{result="new"} 1.0' in text
        assert 'techbrief_stories_stored_total{kind="new"} 2.0' in text
        await services.drain()
    executor.shutdown()
