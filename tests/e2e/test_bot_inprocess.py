"""The real TechbriefBot in this process against the fake Discord: extension loading and the
app-command error handler (both need hooks a separate process cannot offer)."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import discord
import pytest
import pytest_asyncio
from pydantic import SecretStr

from bot.core.errors import UserInputError
from bot.runtime.client import TechbriefBot
from bot.runtime.container import open_services
from bot.runtime.settings import CatalogSettings, DatabaseSettings, DiscordSettings, Settings
from tests.e2e.process import write_catalog
from tests.fakediscord import FakeDiscord, pointed_at

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

MISSING = "cogs.does_not_exist"
BAD_INPUT = "That is not a feed URL: try the blog's RSS or Atom link."
ERROR_ID = re.compile(r"error id `([0-9a-f]{8})`")


class Collect(logging.Handler):
    """Keeps the bot's log records (caplog is per test; the bot starts once per module)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def find(self, msg: str) -> list[logging.LogRecord]:
        return [r for r in self.records if r.getMessage() == msg]


@dataclass
class Live:
    fake: FakeDiscord
    bot: TechbriefBot
    logs: Collect


def add_test_commands(bot: TechbriefBot) -> None:
    """Test-only commands that fail in the ways the error handler must tell apart."""

    @bot.tree.command(name="e2e-bad-input", description="test: raises UserInputError")
    async def bad_input(interaction: discord.Interaction) -> None:
        raise UserInputError(BAD_INPUT)

    @bot.tree.command(name="e2e-crash", description="test: raises an unexpected error")
    async def crash(interaction: discord.Interaction) -> None:
        raise RuntimeError("kaboom: internal detail the user must not see")

    @bot.tree.command(name="e2e-crash-late", description="test: defers, then fails")
    async def crash_late(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        raise RuntimeError("late kaboom")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def live(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> AsyncIterator[Live]:
    tmp = tmp_path_factory.mktemp("e2e-inprocess")
    db = tmp / "t.db"
    shutil.copyfile(sqlite_template, db)
    fake = FakeDiscord()
    await fake.start()
    logs = Collect()
    logger = logging.getLogger("bot")
    logger.addHandler(logs)
    settings = Settings(
        discord=DiscordSettings(token=SecretStr(fake.token), api_base=fake.api_base),
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{db}"),
        catalog=CatalogSettings(
            path=str(write_catalog(tmp / "feeds.toml", "http://127.0.0.1:9/feed.xml"))
        ),
    )
    try:
        with pointed_at(fake.api_base, fake.ws_url):
            async with open_services(settings) as services:
                # The broken extension comes first: the ones after it must still load.
                bot = TechbriefBot(
                    services, extensions=(MISSING, "cogs.help"), guild_ready_timeout=0.05
                )
                add_test_commands(bot)
                task = asyncio.create_task(bot.start(fake.token))
                try:
                    await asyncio.wait_for(bot.wait_until_ready(), 10)
                    yield Live(fake, bot, logs)
                finally:
                    await bot.close()
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
    finally:
        logger.removeHandler(logs)
        await fake.stop()


async def test_a_failing_extension_is_logged_and_the_others_still_load(live: Live) -> None:
    assert set(live.bot.failed_extensions) == {MISSING}
    assert "ExtensionNotFound" in live.bot.failed_extensions[MISSING]
    assert "cogs.help" in live.bot.extensions and MISSING not in live.bot.extensions

    [record] = live.logs.find("extension failed to load")
    assert record.levelno == logging.ERROR
    assert record.__dict__["extension"] == MISSING
    assert record.exc_info is not None  # the traceback is in the log, for whoever fixes it

    # The extension that loaded works in the running bot.
    rec = await live.fake.interact_command("help")
    assert rec.ephemeral and rec.data["embeds"][0]["title"] == "techbrief help"
    live.fake.assert_no_violations()


async def test_a_user_input_error_gets_its_own_message_ephemerally(live: Live) -> None:
    failures = len(live.logs.find("command failed"))
    rec = await live.fake.interact_command("e2e-bad-input")

    assert rec.ephemeral
    assert rec.content == BAD_INPUT
    assert len(live.logs.find("command failed")) == failures  # expected: no traceback logged
    live.fake.assert_no_violations()


async def test_an_unexpected_error_gets_an_error_id_that_is_in_the_log(live: Live) -> None:
    rec = await live.fake.interact_command("e2e-crash")

    assert rec.ephemeral
    assert rec.content is not None and "kaboom" not in rec.content
    match = ERROR_ID.search(rec.content)
    assert match, rec.content
    logged = [r for r in live.logs.find("command failed") if r.__dict__.get("error_id") == match[1]]
    assert len(logged) == 1
    assert logged[0].__dict__["command"] == "e2e-crash"
    assert logged[0].exc_info is not None and isinstance(logged[0].exc_info[1], RuntimeError)
    live.fake.assert_no_violations()


async def test_an_error_after_deferring_is_sent_as_an_ephemeral_followup(live: Live) -> None:
    rec = await live.fake.interact_command("e2e-crash-late")
    assert rec.ephemeral  # the deferral itself

    await live.fake.wait_until(lambda: bool(rec.followups), timeout=3)
    [followup] = rec.followups
    assert ERROR_ID.search(followup.payload.get("content") or ""), followup.payload
    assert int(followup.payload.get("flags") or 0) & discord.MessageFlags.ephemeral.flag
    live.fake.assert_no_violations()
