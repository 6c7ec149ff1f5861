"""The fake Discord's modals against real discord.py: a MODAL callback is checked against
Discord's rules, and a test fills the form in and submits it (MODAL_SUBMIT) as a person would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest
import pytest_asyncio
from discord.ext import commands

from tests.fakediscord import FakeDiscord
from tests.fakediscord import builders as B
from tests.fakediscord.modals import check_modal, submit_data, submit_payload


class NoteModal(discord.ui.Modal):
    def __init__(self, *, title: str = "Your note", max_length: int = 500) -> None:
        super().__init__(title=title, custom_id="note-form")
        self.note: discord.ui.TextInput[NoteModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph, custom_id="note", max_length=max_length
        )
        self.add_item(discord.ui.Label(text="Note", component=self.note))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"got: {self.note.value}", ephemeral=True)


class AgainModal(NoteModal):
    async def on_submit(self, interaction: discord.Interaction) -> None:
        # Discord refuses a modal in answer to a submitted modal.
        await interaction.response.send_modal(NoteModal())


class ModalBot(commands.Bot):
    def __init__(self) -> None:
        super().__init__(
            command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05
        )

    async def setup_hook(self) -> None:
        @self.tree.command(name="note", description="Opens a form")
        async def note(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(NoteModal())

        @self.tree.command(name="bad", description="Opens a form Discord refuses")
        async def bad(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(NoteModal(title="t" * 46, max_length=4000))

        @self.tree.command(name="again", description="Answers a form with a form")
        async def again(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(AgainModal())

        await self.tree.sync()


@pytest_asyncio.fixture(loop_scope="session")
async def bot(fake_discord: FakeDiscord) -> AsyncIterator[ModalBot]:
    client = ModalBot()
    task = asyncio.create_task(client.start(fake_discord.token))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 5)
        yield client
    finally:
        await client.close()
        try:
            await asyncio.wait_for(task, 5)
        except (discord.DiscordException, aiohttp.ClientError):
            pass


async def test_a_modal_opens_and_its_submission_reaches_discord_py(
    fake_discord: FakeDiscord, bot: ModalBot
) -> None:
    opened = await fake_discord.interact_command("note")
    assert opened.type == 9 and opened.modal is not None
    assert opened.modal["title"] == "Your note"
    with pytest.raises(ValueError, match="0-500 characters"):
        await fake_discord.interact_modal_submit(opened, {"note": "x" * 501})
    with pytest.raises(ValueError, match="required"):
        await fake_discord.interact_modal_submit(opened, {"note": ""})
    submitted = await fake_discord.interact_modal_submit(opened, {"note": "hello **there**"})
    assert submitted.payload["type"] == 5
    assert submitted.payload["channel_id"] == opened.payload["channel_id"]
    assert submitted.payload["member"]["user"] == opened.payload["member"]["user"]
    assert submitted.ephemeral and submitted.content == "got: hello **there**"


async def test_a_modal_discord_would_refuse_is_a_violation(
    fake_discord: FakeDiscord, bot: ModalBot
) -> None:
    # Pushed without waiting for an answer: the fake refuses the modal, so none comes.
    context = fake_discord._context(None, None, None, None, None)
    data = B.slash_data(fake_discord.world, "bad", {}, fake_discord.guild.id)
    record = fake_discord.push_interaction(
        B.base_interaction(kind=B.APPLICATION_COMMAND, data=data, **context)
    )
    await fake_discord.wait_until(lambda: bool(fake_discord.violations), 5)
    problems = " ".join(str(v) for v in fake_discord.violations)
    assert "modal title must be 1-45 characters" in problems
    assert record.callback is None  # refused: nothing was acknowledged
    fake_discord.violations.clear()  # provoked on purpose


async def test_a_modal_cannot_answer_a_submitted_modal(
    fake_discord: FakeDiscord, bot: ModalBot
) -> None:
    opened = await fake_discord.interact_command("again")
    assert opened.modal is not None
    record = fake_discord.push_interaction(
        submit_payload(opened.payload, opened.modal, {"note": "x"})
    )
    await fake_discord.wait_until(lambda: bool(fake_discord.violations), 5)
    assert "only answer a command or a component" in str(fake_discord.violations[0])
    assert record.callback is None
    fake_discord.violations.clear()


def test_modal_rules() -> None:
    good = NoteModal().to_dict()
    assert check_modal(good) == []
    assert good["components"][0]["type"] == 18  # discord.py 2.7 wraps inputs in labels
    rows = {
        "title": "Old style",
        "custom_id": "f",
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 4, "custom_id": "a", "style": 1, "label": "A", "max_length": 10}
                ],
            }
        ],
    }
    assert check_modal(rows) == []
    assert submit_data(rows, {"a": "hi"})["components"][0]["components"][0]["value"] == "hi"
    too_long = NoteModal(max_length=4001).to_dict()
    assert any("max_length must be 1-4000" in p for p in check_modal(too_long))
    no_id = dict(good, custom_id="")
    assert any("modal.custom_id" in p for p in check_modal(no_id))
    assert any("title" in p for p in check_modal(dict(good, title="t" * 46)))
    assert any("1-5 components" in p for p in check_modal(dict(good, components=[])))
    bare_input = dict(rows, components=[{"type": 4, "custom_id": "a", "style": 1}])
    assert any("not allowed at a modal's top level" in p for p in check_modal(bare_input))
