"""The fake Discord against real, unmodified discord.py over 127.0.0.1 sockets."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from typing import Any, cast

import aiohttp
import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import EPHEMERAL, FakeDiscord, Overwrite, openapi, pointed_at
from tests.fakediscord import permissions as P
from tests.fakediscord.limits import check_command_list, check_embeds, check_message
from tests.fakediscord.openapi import OpenAPIValidator
from tests.fakediscord.ratelimit import RateLimiter

# The fake_discord fixture (tests/conftest.py may import it too; registering twice is a no-op).

MESSAGES = "POST /channels/{channel_id}/messages"


class ClickButton(discord.ui.Button[discord.ui.View]):
    def __init__(self, clicks: list[str]) -> None:
        super().__init__(label="Click", custom_id="click-me")
        self.clicks = clicks

    async def callback(self, interaction: discord.Interaction) -> None:
        self.clicks.append(str(cast(dict[str, Any], interaction.data)["custom_id"]))
        await interaction.response.edit_message(content="clicked", view=None)


class TinyBot(commands.AutoShardedBot):
    """A minimal bot: a few app commands, a button, a context menu."""

    def __init__(self) -> None:
        super().__init__(
            command_prefix="!",
            intents=discord.Intents.default(),
            guild_ready_timeout=0.05,  # discord.py waits this long after the last GUILD_CREATE
        )
        self.clicks: list[str] = []

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s before every non-initial IDENTIFY (Discord's
        # max_concurrency); the fake has no such limit and tests must stay fast.
        return None

    async def setup_hook(self) -> None:
        tree = self.tree

        @tree.command(name="ping", description="Answers pong, privately")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong", ephemeral=True)

        feed = app_commands.Group(name="feed", description="Feeds")

        @feed.command(name="add", description="Add a feed")
        async def feed_add(interaction: discord.Interaction, url: str, priority: int = 1) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.edit_original_response(content=f"added {url} p{priority}")

        @feed_add.autocomplete("url")
        async def url_complete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [
                app_commands.Choice(name=f"{current}-{i}", value=f"{current}{i}") for i in range(3)
            ]

        tree.add_command(feed)

        @tree.command(name="many", description="Defers, then sends and edits a followup")
        async def many(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True)
            msg = await interaction.followup.send("first", ephemeral=True, wait=True)
            await msg.edit(content="first, edited")
            await interaction.followup.send("second")

        @tree.context_menu(name="Bookmark")
        async def bookmark(interaction: discord.Interaction, message: discord.Message) -> None:
            await interaction.response.send_message(f"saved {message.content}", ephemeral=True)

        @tree.command(name="button", description="Posts a button")
        async def button(interaction: discord.Interaction) -> None:
            view = discord.ui.View(timeout=None)
            view.add_item(ClickButton(self.clicks))
            await interaction.response.send_message("press", view=view)

        await tree.sync()


@pytest_asyncio.fixture(loop_scope="session")
async def bot(fake_discord: FakeDiscord) -> AsyncIterator[TinyBot]:
    client = TinyBot()
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


def _chan(fake: FakeDiscord, name: str) -> int:
    assert fake.guild is not None
    return fake.guild.channel_by_name(name).id


@pytest.fixture
def restricted(fake_discord: FakeDiscord) -> FakeDiscord:
    """Channels where the bot cannot send / cannot create threads / cannot see."""
    guild = fake_discord.guild
    assert guild is not None
    fake_discord.deny_bot(guild.add_channel("no-send"), P.SEND_MESSAGES)
    fake_discord.deny_bot(guild.add_channel("no-threads"), P.CREATE_PUBLIC_THREADS)
    guild.add_channel("hidden", overwrites=[Overwrite.role(guild.id, deny=P.VIEW_CHANNEL)])
    return fake_discord


# -- connection ---------------------------------------------------------------------------
async def test_connects_and_guild_permissions_reach_discord_py(
    restricted: FakeDiscord, bot: TinyBot
) -> None:
    fake = restricted
    assert fake.gateway_log.identifies == 1
    assert fake.gateway_log.heartbeats >= 1  # discord.py beats right after HELLO
    assert fake.sent("GET /gateway/bot"), "AutoShardedClient must ask /gateway/bot"
    assert fake.sent("GET /oauth2/applications/@me")
    assert fake.gateway_log.connect_queries[0]["compress"] in ("zlib-stream", "zstd-stream")
    assert bot.user is not None and bot.user.id == fake.world.bot.id
    assert fake.guild is not None
    guild = bot.get_guild(fake.guild.id)
    assert guild is not None and guild.me is not None
    perms = {c.name: c.permissions_for(guild.me) for c in guild.text_channels}
    assert perms["general"].send_messages and perms["general"].create_public_threads
    assert not perms["no-send"].send_messages and perms["no-send"].view_channel
    assert not perms["no-threads"].create_public_threads and perms["no-threads"].send_messages
    assert not perms["hidden"].view_channel
    registered = fake.world.commands[None]
    assert {"ping", "feed", "Bookmark", "button"} <= set(registered)
    # Permissions changed at runtime reach discord.py through CHANNEL_UPDATE.
    general = fake.guild.channel_by_name("general")
    fake.deny_bot(general, P.EMBED_LINKS)
    await fake.update_channel(general)
    cached = guild.get_channel(general.id)
    assert cached is not None
    await fake.wait_until(lambda: not cached.permissions_for(guild.me).embed_links, 2)


# -- messages -----------------------------------------------------------------------------
async def test_send_is_recorded_with_files_and_nonce_dedup(
    fake_discord: FakeDiscord, bot: TinyBot
) -> None:
    fake = fake_discord
    channel = bot.get_channel(_chan(fake, "general"))
    assert isinstance(channel, discord.TextChannel)
    embed = discord.Embed(title="T", description="D")
    first = await channel.send(
        "hello",
        embed=embed,
        nonce="brief-1",
        allowed_mentions=discord.AllowedMentions.none(),
        file=discord.File(io.BytesIO(b"\x00bytes"), filename="a.bin"),
    )
    again = await channel.send("hello", nonce="brief-1")
    assert again.id == first.id, "enforce_nonce must deduplicate like Discord"
    sent = fake.sent(MESSAGES, channel_id=channel.id)
    assert [r.content for r in sent] == ["hello", "hello"]
    assert sent[0].nonce == "brief-1" and sent[0].enforce_nonce
    assert sent[0].allowed_mentions == {"parse": []}
    assert sent[0].embeds[0]["title"] == "T"
    assert sent[0].files[0].filename == "a.bin" and sent[0].files[0].data == b"\x00bytes"
    assert sent[1].deduplicated
    assert [m.id for m in fake.messages(channel.id)] == [first.id]
    thread = await first.create_thread(name="discussion")
    await thread.send("in thread")
    assert fake.messages(thread.id)[0].payload["content"] == "in thread"
    edited = await first.edit(content="hello again")
    assert edited.content == "hello again"
    await first.delete()
    assert fake.messages(channel.id) == []


async def test_permissions_and_faults_give_discord_errors(
    restricted: FakeDiscord, bot: TinyBot
) -> None:
    fake = restricted
    no_send = bot.get_channel(_chan(fake, "no-send"))
    assert isinstance(no_send, discord.TextChannel)
    with pytest.raises(discord.Forbidden) as forbidden:
        await no_send.send("x")
    assert forbidden.value.code == 50013
    general = bot.get_channel(_chan(fake, "general"))
    assert isinstance(general, discord.TextChannel)
    fake.faults.unknown_channel(general.id, times=1)
    with pytest.raises(discord.NotFound) as missing:
        await general.send("x")
    assert missing.value.code == 10003
    fake.faults.forbid_channel(general.id, times=1)
    with pytest.raises(discord.Forbidden) as access:
        await general.send("x")
    assert access.value.code == 50001
    msg = await general.send("ok")
    no_threads = bot.get_channel(_chan(fake, "no-threads"))
    assert isinstance(no_threads, discord.TextChannel)
    msg2 = await no_threads.send("ok")
    with pytest.raises(discord.Forbidden):
        await msg2.create_thread(name="t")
    assert msg.id != msg2.id


async def test_429_is_honoured_by_discord_py(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    fake = fake_discord
    channel = bot.get_channel(_chan(fake, "general"))
    assert isinstance(channel, discord.TextChannel)
    fake.faults.rate_limit(MESSAGES, retry_after=0.3, times=1)
    await channel.send("after a 429")
    sent = fake.sent(MESSAGES)
    assert [r.status for r in sent] == [429, 200]
    assert sent[1].at - sent[0].at >= 0.3, "discord.py must wait retry_after before retrying"
    assert len(fake.messages(channel.id)) == 1
    assert len(fake.recorder.rate_limited) == 1
    fake.faults.slow(MESSAGES, delay=0.2, times=1)
    start = time.monotonic()
    await channel.send("slowly")
    assert time.monotonic() - start >= 0.2


async def test_bucket_headers_let_discord_py_avoid_429s(
    fake_discord: FakeDiscord, bot: TinyBot
) -> None:
    fake = fake_discord
    fake.ratelimits.set_route_limit(MESSAGES, 2, 0.3)
    channel = bot.get_channel(_chan(fake, "general"))
    assert isinstance(channel, discord.TextChannel)
    start = time.monotonic()
    await asyncio.gather(*(channel.send(f"m{i}") for i in range(4)))
    assert len(fake.messages(channel.id)) == 4
    assert fake.ratelimits.count_429 == 0, "discord.py should wait on X-RateLimit-* headers"
    assert time.monotonic() - start >= 0.25, "4 messages at 2 per 0.3 s need a reset"


async def test_global_limit_and_server_errors_are_retried(
    fake_discord: FakeDiscord, bot: TinyBot
) -> None:
    fake = fake_discord
    fake.ratelimits.global_limit, fake.ratelimits.global_window = 3, 0.2
    general = bot.get_channel(_chan(fake, "general"))
    assert isinstance(general, discord.TextChannel)
    fetched = await bot.fetch_channel(general.id)  # GET /channels/{id}
    assert fetched.id == general.id
    await asyncio.sleep(0.2)  # a fresh global window
    await asyncio.gather(*(general.send(f"m{i}") for i in range(5)))
    assert len(fake.messages(general.id)) == 5
    assert fake.ratelimits.count_global_429 >= 1
    fake.ratelimits.global_limit = 50
    fake.faults.server_error(MESSAGES, status=502, times=1)
    await general.send("after a 502")  # discord.py retries 5xx after 1 s
    assert [r.status for r in fake.sent(MESSAGES)][-2:] == [502, 200]


async def test_violation_is_detected(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    fake = fake_discord
    channel = bot.get_channel(_chan(fake, "general"))
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as err:
        await channel.send("x" * 2001)
    assert err.value.status == 400 and err.value.code == 50035
    assert len(fake.violations) == 1
    assert "content has 2001 characters (max 2000)" in str(fake.violations[0])
    fake.violations.clear()  # provoked on purpose; the fixture fails on leftovers


# -- interactions -------------------------------------------------------------------------
async def test_slash_command_gets_ephemeral_response(
    fake_discord: FakeDiscord, bot: TinyBot
) -> None:
    rec = await fake_discord.interact_command("ping")
    assert rec.type == 4
    assert rec.content == "pong"
    assert rec.flags & EPHEMERAL and rec.ephemeral
    assert rec.elapsed is not None and rec.elapsed < 3.0
    assert rec.original is not None and rec.original.payload["flags"] & EPHEMERAL


async def test_subcommand_defer_edit_autocomplete(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    fake = fake_discord
    rec = await fake.interact_command("feed add", {"url": "https://x.test", "priority": 2})
    assert rec.type == 5 and rec.ephemeral
    await fake.wait_until(lambda: bool(rec.original_edits), 3)
    assert rec.final_message is not None
    assert rec.final_message["content"] == "added https://x.test p2"
    auto = await fake.interact_autocomplete("feed add", {"url": "ab"}, focused="url")
    assert auto.type == 8
    assert [c["value"] for c in auto.choices] == ["ab0", "ab1", "ab2"]
    # Guild-scoped commands: bulk overwrite per guild, interactions carry data.guild_id.
    assert fake.guild is not None
    target = discord.Object(id=fake.guild.id)
    bot.tree.copy_global_to(guild=target)
    await bot.tree.sync(guild=target)
    assert "ping" in fake.world.commands[fake.guild.id]
    rec = await fake.interact_command("ping")
    assert rec.payload["data"]["guild_id"] == str(fake.guild.id) and rec.content == "pong"
    bot.tree.clear_commands(guild=target)


async def test_button_and_message_context_menu(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    fake = fake_discord
    posted = await fake.interact_command("button")
    assert posted.original is not None and not posted.ephemeral
    assert posted.original.payload["components"][0]["components"][0]["custom_id"] == "click-me"
    click = await fake.interact_component("click-me", posted.original)
    assert click.type == 7 and bot.clicks == ["click-me"]
    assert posted.original.payload["content"] == "clicked"
    menu = await fake.interact_message_command("Bookmark", "an interesting story")
    assert menu.content == "saved an interesting story" and menu.ephemeral


async def test_member_and_app_permissions_are_configurable(
    fake_discord: FakeDiscord, bot: TinyBot
) -> None:
    seen: list[tuple[bool, bool]] = []

    @bot.tree.command(name="perm", description="Reports permissions")
    async def perm(interaction: discord.Interaction) -> None:
        seen.append(
            (interaction.permissions.manage_guild, interaction.app_permissions.send_messages)
        )
        await interaction.response.send_message("ok", ephemeral=True)

    await fake_discord.interact_command("perm", member_permissions=P.MANAGE_GUILD | P.VIEW_CHANNEL)
    await fake_discord.interact_command("perm", app_permissions=P.VIEW_CHANNEL)
    assert seen == [(True, True), (False, False)]


async def test_late_answer_is_a_violation(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    fake = fake_discord
    fake.rest.response_window = 0.1  # shrink Discord's 3 s so the test stays fast

    @bot.tree.command(name="slow", description="Answers too late")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.2)
        try:
            await interaction.response.send_message("late")
        except discord.NotFound:
            pass

    with pytest.raises(AssertionError, match="did not answer"):
        await fake.interact_command("slow", timeout=0.1)
    await fake.wait_until(lambda: bool(fake.violations), 2)
    assert "limit 3 s" in str(fake.violations[0])
    fake.violations.clear()


async def test_followups_are_recorded(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    rec = await fake_discord.interact_command("many")
    assert rec.type == 5
    await fake_discord.wait_until(lambda: len(rec.followups) == 2, 3)
    await fake_discord.wait_until(lambda: rec.followups[0].edits == 1, 3)
    assert [f.payload["content"] for f in rec.followups] == ["first, edited", "second"]
    assert rec.followups[0].payload["flags"] & EPHEMERAL
    assert not rec.followups[1].payload["flags"] & EPHEMERAL


# -- gateway resilience -------------------------------------------------------------------
async def test_dropped_websocket_is_resumed_with_replay(
    fake_discord: FakeDiscord, bot: TinyBot
) -> None:
    fake = fake_discord
    assert fake.guild is not None
    assert await fake.drop_websocket() == 1
    # Pushed while the socket is down: must be replayed on RESUME.
    channel = fake.guild.add_channel("created-while-down")
    await fake.dispatch("CHANNEL_CREATE", channel.payload(), guild_id=fake.guild.id)
    await fake.wait_until(lambda: fake.gateway_log.resumed_ok == 1, 5)
    await fake.wait_until(lambda: bot.get_channel(channel.id) is not None, 2)
    assert fake.gateway_log.identifies == 1, "a drop must RESUME, not IDENTIFY again"
    assert fake.gateway_log.resumes == 1
    rec = await fake.interact_command("ping")
    assert rec.content == "pong"


async def test_reconnect_and_invalid_session(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    fake = fake_discord
    await fake.request_reconnect()
    await fake.wait_until(lambda: fake.gateway_log.resumed_ok == 1, 5)
    assert fake.gateway_log.identifies == 1
    await fake.invalidate_session()
    # Non-resumable: discord.py reconnects to DEFAULT_GATEWAY (patched) and identifies.
    await fake.wait_until(lambda: fake.gateway_log.identifies == 2, 5)
    assert (await fake.interact_command("ping")).content == "pong"


async def test_two_shards_split_guilds_and_route_interactions() -> None:
    async with FakeDiscord(shard_count=2, default_guild=False) as fake:
        guilds = [fake.add_guild(f"g{i}") for i in range(6)]
        owners = {(g.id >> 22) % 2 for g in guilds}
        with pointed_at(fake.api_base, fake.ws_url):
            client = TinyBot()
            task = asyncio.create_task(client.start(fake.token))
            try:
                await asyncio.wait_for(client.wait_until_ready(), 5)
                assert fake.gateway_log.identifies == 2
                assert {g.id for g in client.guilds} == {g.id for g in guilds}
                for guild in guilds:
                    rec = await fake.interact_command("ping", guild=guild)
                    assert rec.content == "pong"
                    assert client.get_guild(guild.id).shard_id == (guild.id >> 22) % 2  # type: ignore[union-attr]
            finally:
                await client.close()
                await asyncio.wait_for(task, 5)
        fake.assert_no_violations()
    assert owners  # snowflakes spread over shards is luck; correctness is checked above


# What a bot runtime does with only DISCORD_API_BASE (here: a separate process).
_SUBPROCESS_BOT = """
import asyncio, os, discord, discord.gateway, discord.http, yarl
discord.http.Route.BASE = os.environ["DISCORD_API_BASE"]

base = getattr(discord, os.environ["CLIENT_CLASS"])

class Bot(base):
    async def setup_hook(self):
        _, url, _ = await self.http.get_bot_gateway()
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    async def on_ready(self):
        await self.get_channel(int(os.environ["CHANNEL"])).send("from another process")
        await self.close()

asyncio.run(Bot(intents=discord.Intents.default(), guild_ready_timeout=0.05)
            .start(os.environ["TOKEN"]))
"""


@pytest.mark.parametrize("client_class", ["AutoShardedClient", "Client"])
async def test_bot_in_another_process(fake_discord: FakeDiscord, client_class: str) -> None:
    fake = fake_discord
    channel = _chan(fake, "general")
    env = {
        **os.environ,
        "DISCORD_API_BASE": fake.api_base,
        "CHANNEL": str(channel),
        "TOKEN": fake.token,
        "CLIENT_CLASS": client_class,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SUBPROCESS_BOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert [m.payload["content"] for m in fake.messages(channel)] == ["from another process"]
    assert fake.gateway_log.identifies == 1


# -- raw HTTP and pure checks -------------------------------------------------------------
async def test_unknown_route_and_content_type(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.api_base}/users/@me", headers=headers) as resp:
            assert resp.headers["Content-Type"] == "application/json"
            assert "X-RateLimit-Bucket" in resp.headers
        async with http.get(f"{fake.api_base}/no/such/route", headers=headers) as resp:
            assert resp.status == 404
            assert json.loads(await resp.text()) == {"message": "404: Not Found", "code": 0}
    assert [str(v) for v in fake.violations] == [
        "GET /no/such/route: route not implemented by the fake (or by Discord)"
    ]
    fake.violations.clear()


def test_limits_catch_embed_and_command_problems() -> None:
    big = [{"title": "t" * 256, "description": "d" * 4096}] * 2
    assert any("embeds total" in p for p in check_embeds(big))
    assert any(
        "fields" in p for p in check_embeds([{"fields": [{"name": "n", "value": "v"}] * 26}])
    )
    assert check_message({"content": "x" * 2000}) == []
    rows = [{"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "a"}] * 6}]
    assert any("6 buttons" in p for p in check_message({"content": "x", "components": rows}))
    bad = [
        {"name": "Upper", "description": "d", "type": 1},
        {"name": "ok", "description": "", "type": 1},
        {"name": "x" * 33, "description": "d", "type": 1},
        {
            "name": "c",
            "description": "d",
            "options": [
                {
                    "name": "o",
                    "description": "d",
                    "type": 3,
                    "choices": [{"name": "n", "value": "v"}] * 26,
                }
            ],
        },
    ]
    problems = check_command_list(bad)
    assert len([p for p in problems if "lowercase" in p]) == 1
    assert any("description has 0" in p for p in problems)
    assert any("regex" in p for p in problems)
    assert any("26 choices" in p for p in problems)


def test_global_rate_limit_counts() -> None:
    limiter = RateLimiter(global_limit=3)
    decisions = [limiter.check(f"GET /channels/{{channel_id}}#{i}", str(i)) for i in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].is_global and decisions[-1].headers["X-RateLimit-Scope"] == "global"
    assert limiter.count_global_429 == 1
    exempt = limiter.check("POST /interactions/{interaction_id}/{interaction_token}/callback", "")
    assert exempt.allowed


def test_missing_openapi_file_skips_loudly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(openapi, "_warned", False)
    monkeypatch.setenv(openapi.ENV_VAR, "/nonexistent/openapi.json")
    with pytest.warns(UserWarning, match="SKIPPING schema validation"):
        assert OpenAPIValidator.load() is None
    assert "SKIPPING" in capsys.readouterr().err
    assert OpenAPIValidator.load() is None  # once is enough: no second warning


def test_openapi_schema_check() -> None:
    validator = OpenAPIValidator.load()
    if validator is None:
        pytest.skip("Discord OpenAPI file absent (TECHBRIEF_DISCORD_OPENAPI)")
    route = "/channels/{channel_id}/messages"
    assert (
        validator.check("POST", route, {"content": "hi", "nonce": "n", "enforce_nonce": True}) == []
    )
    assert validator.check("POST", route, {"content": 5})
