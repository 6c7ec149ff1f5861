"""The composition root: everything the bot needs, built from settings, closed in reverse order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.catalog import load_catalog
from bot.core.models import CatalogFeed
from bot.runtime.metrics import Metrics
from bot.settings import Settings
from bot.storage.engine import create_engine, session_factory

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    metrics: Metrics
    catalog: list[CatalogFeed]
    clock: Callable[[], datetime] = utc_now
    exit_stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    drainers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    job_factories: list[Callable[[Any], list[tuple[str, float, Callable[[], Awaitable[object]]]]]] = (
        field(default_factory=list)
    )

    def jobs(self, bot: Any) -> list[tuple[str, float, Callable[[], Awaitable[object]]]]:
        """Periodic jobs every feature registered, given the running bot."""
        return [job for factory in self.job_factories for job in factory(bot)]

    async def drain(self) -> None:
        """Let in-flight work (message sends) finish before the connection closes."""
        for drainer in self.drainers:
            await drainer()

    async def database_ok(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True


@asynccontextmanager
async def open_services(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now
) -> AsyncIterator[Services]:
    catalog = load_catalog(Path(settings.catalog.path))
    engine = create_engine(
        settings.database.url, echo=settings.database.echo, pool_size=settings.database.pool_size,
        busy_timeout_ms=settings.database.sqlite_busy_timeout_ms,
    )
    services = Services(
        settings=settings, engine=engine, sessions=session_factory(engine), metrics=Metrics(),
        catalog=catalog, clock=clock,
    )
    try:
        async with services.exit_stack:
            yield services
    finally:
        await engine.dispose()
