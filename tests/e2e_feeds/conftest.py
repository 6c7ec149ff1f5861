"""Fixtures for /feed end to end: real bot and cogs, fake Discord, local feed server, SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from tests.botharness import Clock, running_bot
from tests.fakediscord import FakeDiscord
from tests.feedserver import feed_server

__all__ = ["feed_server"]  # re-exported fixture


@pytest.fixture
async def bot(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[tuple[TechbriefBot, Services]]:
    # bot_settings allows private networks, so the bot may reach the 127.0.0.1 feed server.
    async with running_bot(fake_discord, sqlite_url, tmp_path, clock=clock, migrate=True) as pair:
        assert not pair[0].failed_extensions, pair[0].failed_extensions
        yield pair
