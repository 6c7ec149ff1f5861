"""pytest fixture: ``fake_discord``, a started FakeDiscord that fails the test on violations.

Import into tests/conftest.py with ``from tests.fakediscord.fixtures import fake_discord``.
A test that provokes a violation on purpose asserts on ``fake_discord.violations`` and
then clears the list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from .discordpy import pointed_at
from .server import FakeDiscord


@pytest_asyncio.fixture(loop_scope="session")
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    try:
        # In-process discord.py clients reach the fake too; subprocess bots get
        # fake.api_base through their own setting.
        with pointed_at(fake.api_base, fake.ws_url):
            yield fake
    finally:
        await fake.stop()
    if fake.violations:
        pytest.fail(
            "fake Discord saw requests real Discord would reject:\n"
            + fake.recorder.format_violations(),
            pytrace=False,
        )
