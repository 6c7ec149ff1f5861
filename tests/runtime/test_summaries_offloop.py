"""A worker's extractive summaries run in its parser processes, not in a thread of its own.

In a thread the scoring held the worker's GIL: its event loop waited to get it back after
every socket write, and one worker could not use more than one core however many parser
processes it had (bench.scale's cold ingest).
"""

from __future__ import annotations

from pathlib import Path

from bot.core.ingest import ParserPool
from bot.runtime.container import open_services
from bot.runtime.settings import load_settings
from bot.storage.engine import create_engine
from bot.storage.migrate import upgrade
from tests.botharness import CATALOG
from tests.briefs.helpers import add_feed, add_story

ARTICLE = " ".join(
    f"Sentence {n} explains how the cache tier keeps p99 latency low under a regional failover."
    for n in range(40)
)


async def test_summaries_are_computed_in_the_parser_pool(sqlite_url: str, tmp_path: Path) -> None:
    engine = create_engine(sqlite_url)
    await upgrade(engine)
    await engine.dispose()
    catalog = tmp_path / "feeds.toml"
    catalog.write_text(CATALOG)
    settings = load_settings(
        environ={
            "DATABASE_URL": sqlite_url,
            "TECHBRIEF_CATALOG__PATH": str(catalog),
            "TECHBRIEF_HTTP__ENABLED": "0",
            "TECHBRIEF_SUMMARY__TEASER_FETCH": "false",
            "TECHBRIEF_FETCH__PARSER_PROCESSES": "1",
        },
        dotenv_path=None,
    )
    async with open_services(settings) as services:
        assert services.summaries is not None and services.refresher is not None
        feed = await add_feed(services.sessions, "cachecorp")
        await add_story(services.sessions, feed, "The cache tier", summary=ARTICLE)
        parser = services.refresher.parser
        assert isinstance(parser, ParserPool)
        assert not parser.started()  # nothing submitted yet: no process for it

        assert await services.summaries.run_pending() == 1
        # Nothing else used the pool (no feed was parsed): the summary started its worker.
        assert parser.started()
        assert await services.summaries.run_pending() == 0  # stored: not summarized again
