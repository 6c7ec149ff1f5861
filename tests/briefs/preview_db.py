"""A database that `techbrief preview` (run as a real process) and the planner both read, so a
test can compare what preview prints with the outbox rows planning writes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.briefs.planning import BriefService
from bot.core.summarize import digest_formatter
from bot.storage.deliveries_repo import DeliveriesRepository
from bot.storage.engine import create_engine, session_factory
from bot.storage.subscriptions_repo import SubscriptionsRepository
from tests.e2e.process import Finished, child_env, run_cli


@dataclass
class PreviewDatabase:
    env: dict[str, str]
    cwd: Path
    sessions: async_sessionmaker[AsyncSession]
    service: BriefService  # planning as the sender runs it, with the same digests

    async def preview(self, channel: int, *flags: str) -> Finished:
        shown = await run_cli(
            "preview", "--channel", str(channel), *flags, env=self.env, cwd=self.cwd
        )
        assert shown.code == 0, shown.output
        return shown

    async def preview_json(self, channel: int) -> list[dict[str, Any]]:
        printed = await self.preview(channel, "--json")
        return [json.loads(line) for line in printed.stdout.splitlines()]

    async def planned(self, channel: int) -> list[dict[str, Any]]:
        """The messages planning writes for the channel's pending brief, header first."""
        assert (await self.service.plan_now(channel)).planned
        (delivery,) = await self.service.outbox.deliveries_for(channel)
        return [delivery.payload["header"], *delivery.payload["batches"]]


@contextlib.asynccontextmanager
async def preview_database(tmp_path: Path) -> AsyncIterator[PreviewDatabase]:
    url = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
    env = child_env({"DATABASE_URL": url, "TECHBRIEF_SUMMARY__TEASER_FETCH": "false"})
    upgrade = await run_cli("db", "upgrade", env=env, cwd=tmp_path)
    assert upgrade.code == 0, upgrade.output
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        service = BriefService(
            SubscriptionsRepository(sessions),
            DeliveriesRepository(sessions),
            clock=lambda: datetime.now(UTC),
            per_source_cap=5,
            digest_formatter=digest_formatter,
        )
        yield PreviewDatabase(env, tmp_path, sessions, service)
    finally:
        await engine.dispose()
