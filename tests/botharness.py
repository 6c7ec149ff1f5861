"""An in-process techbrief bot connected to the fake Discord, with an injectable clock.

For tests that drive slash commands and deliveries end to end without a subprocess:
real discord.py, real cogs, real services and a real (SQLite or PostgreSQL) database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services, open_services
from bot.runtime.extensions import EXTENSIONS
from bot.runtime.settings import Settings, load_settings
from bot.storage.engine import create_engine
from bot.storage.migrate import upgrade
from tests.fakediscord import FakeDiscord, InteractionRecord

DEFERRED = 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE

CATALOG = """
[[feed]]
key = "netflix"
name = "Netflix TechBlog"
feed_url = "https://netflix.example/feed"
site_url = "https://netflix.example"
language = "en"
color = "#E50914"

[[feed]]
key = "toss"
name = "Toss Tech"
feed_url = "https://toss.example/rss.xml"
site_url = "https://toss.example"
language = "ko"
color = "#0064FF"
"""


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def bot_settings(fake: FakeDiscord, db_url: str, tmp_path: Path, **extra: str) -> Settings:
    catalog = tmp_path / "feeds.toml"
    catalog.write_text(CATALOG)
    env = {
        "DISCORD_TOKEN": fake.token,
        "DISCORD_API_BASE": fake.api_base,
        "DATABASE_URL": db_url,
        "TECHBRIEF_CATALOG__PATH": str(catalog),
        "TECHBRIEF_HTTP__ENABLED": "0",
        "TECHBRIEF_FETCH__ALLOW_PRIVATE_NETWORKS": "1",
        "TECHBRIEF_DISCORD__REST_RATE_PER_S": "48",
        # Stories are written straight to the database here, with no summariser running, so
        # a brief would wait the whole bound for summaries; the tests of that wait set it.
        "TECHBRIEF_BRIEF__SUMMARY_WAIT_SECONDS": "0",
    }
    env.update(extra)
    return load_settings(environ=env, dotenv_path=None)


async def sync_catalog(services: Services) -> None:
    """Put the catalog feeds in the database (what the ingest start-up does)."""
    from bot.storage.models import Feed

    async with services.sessions.begin() as s:
        for feed in services.catalog:
            s.add(
                Feed(
                    key=feed.key,
                    url=feed.feed_url,
                    title=feed.name,
                    site_url=feed.site_url,
                    language=feed.language,
                    color=feed.color,
                    origin="catalog",
                    created_at=services.clock(),
                    next_check_at=services.clock(),
                )
            )


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord,
    db_url: str,
    tmp_path: Path,
    *,
    clock: Callable[[], datetime] | None = None,
    extensions: Sequence[str] = EXTENSIONS,
    migrate: bool = False,
    with_catalog: bool = True,
    **settings_env: str,
) -> AsyncIterator[tuple[TechbriefBot, Services]]:
    settings = bot_settings(fake, db_url, tmp_path, **settings_env)
    if migrate:
        engine = create_engine(db_url)
        await upgrade(engine)
        await engine.dispose()
    clock = clock or Clock(datetime(2026, 11, 22, 7, 0, tzinfo=UTC))
    async with open_services(settings, clock=clock) as services:
        if with_catalog:
            await sync_catalog(services)
        bot = TechbriefBot(services, extensions=extensions, guild_ready_timeout=0.05)
        task = asyncio.create_task(bot.start(fake.token))
        try:
            for _ in range(200):
                if bot.is_ready() or task.done():
                    break
                await asyncio.sleep(0.025)
            if task.done():
                task.result()
            assert bot.is_ready(), "bot did not become ready against the fake Discord"
            # Registered commands tell the fake each option's type (channels, integers...).
            await bot.sync_commands()
            yield bot, services
        finally:
            if services.publisher is not None:
                await services.publisher.drain()
            await bot.close()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def answer_text(fake: FakeDiscord, record: InteractionRecord, timeout: float = 5.0) -> str:
    """Everything the bot answered to one interaction, as text (waits out a deferral)."""
    if record.type == DEFERRED:
        await fake.wait_until(lambda: bool(record.followups or record.original_edits), timeout)
    parts = [json.dumps(record.data, ensure_ascii=False)]
    parts += [json.dumps(m.payload, ensure_ascii=False) for m in record.followups]
    parts += [json.dumps(e, ensure_ascii=False) for e in record.original_edits]
    return "\n".join(parts)


async def eventually(
    predicate: Callable[[], Awaitable[bool]], timeout: float = 5.0, interval: float = 0.02
) -> bool:
    """Poll an async condition (e.g. a database row the bot writes on an event)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await predicate():
            return True
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(interval)
