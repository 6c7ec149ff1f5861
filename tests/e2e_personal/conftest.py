"""Fixtures for the personal features end to end: real bot, real cogs, fake Discord, SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from tests.botharness import Clock
from tests.e2e_personal.helpers import personal_bot
from tests.fakediscord import FakeDiscord


@pytest.fixture
async def bot(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[tuple[TechbriefBot, Services]]:
    async with personal_bot(fake_discord, sqlite_url, tmp_path, clock=clock) as pair:
        yield pair
