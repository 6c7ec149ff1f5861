"""`techbrief run` as a real, separate process against the fake Discord (issue "Discord runtime").

One bot process is shared by the module (starting Python, discord.py and the database costs
about a second); the tests that need it quiet or stopped (SIGTERM, the log scan) come last
but also stand alone: `BotProcess.stop()` is idempotent.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.process import BotProcess, Finished, child_env, free_port, run_cli, write_catalog
from tests.fakediscord import FakeDiscord
from tests.feedserver import FeedServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

RESPONSE_WINDOW_S = 3.0  # Discord drops an interaction that is not acknowledged in time
CHANNEL_MESSAGE_WITH_SOURCE = 4
HISTOGRAM = "techbrief_interaction_latency_seconds"
# Discord's rules for a CHAT_INPUT command name and description.
NAME_RE = re.compile(r"^[-_\w]{1,32}$")


@dataclass
class Stack:
    fake: FakeDiscord
    feeds: FeedServer
    env: dict[str, str]
    http_port: int
    bot: BotProcess
    cli_runs: list[Finished] = field(default_factory=list)
    other_outputs: list[str] = field(default_factory=list)  # other bot processes' output

    async def cli(self, *args: str) -> Finished:
        result = await run_cli(*args, env=self.env)
        self.cli_runs.append(result)
        return result

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    async def get(self, path: str) -> tuple[int, str, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.url(path), timeout=aiohttp.ClientTimeout(total=5)) as resp,
        ):
            return resp.status, resp.headers.get("Content-Type", ""), await resp.text()

    async def healthz(self) -> tuple[int, dict[str, Any]]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.url("/healthz"), timeout=aiohttp.ClientTimeout(total=5)) as resp,
        ):
            return resp.status, await resp.json()

    async def wait_health(self, status: int, timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
        """Poll /healthz until it answers `status` (it is computed on each request)."""
        deadline = time.monotonic() + timeout
        while True:
            got, body = await self.healthz()
            if got == status:
                return got, body
            if time.monotonic() > deadline:
                raise AssertionError(f"/healthz still {got} {body} after {timeout}s")
            await asyncio.sleep(0.05)

    async def ready(self) -> None:
        """Wait until the bot says it is connected (discord.py's on_ready ran)."""
        await self.bot.wait_for(
            lambda: self.bot.find_log("connected") is not None, "the bot never became ready"
        )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    tmp = tmp_path_factory.mktemp("e2e-run")
    # Shaped like a real token, and unique, so a leak cannot hide in other text.
    fake = FakeDiscord(token=f"MTU3NDI1Njk1Njc0NTQ0OTQ3Mw.GxE2eT.{secrets.token_urlsafe(27)}")
    await fake.start()
    feeds = FeedServer()
    await feeds.start()
    feeds.add_feed("/feed.xml")
    port = free_port()
    env = child_env(
        {
            "DISCORD_TOKEN": fake.token,
            "DISCORD_API_BASE": fake.api_base,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 't.db'}",
            "TECHBRIEF_HTTP__PORT": str(port),
            "TECHBRIEF_CATALOG__PATH": str(
                write_catalog(tmp / "feeds.toml", feeds.url("/feed.xml"))
            ),
            "TECHBRIEF_FETCH__ALLOW_PRIVATE_NETWORKS": "1",
            "TECHBRIEF_LOG__JSON": "1",
            # DEBUG makes the token-never-logged check cover every log line the bot can write.
            "TECHBRIEF_LOG__LEVEL": "DEBUG",
        }
    )
    bot = BotProcess(env)
    stack = Stack(fake=fake, feeds=feeds, env=env, http_port=port, bot=bot)
    try:
        upgrade = await stack.cli("db", "upgrade")  # what `make run` does first
        assert upgrade.code == 0, upgrade.output
        await bot.start()
        yield stack
    finally:
        await bot.kill()
        await feeds.close()
        await fake.stop()


async def test_connects_and_identifies(stack: Stack) -> None:
    await stack.fake.wait_identified(timeout=10)
    await stack.ready()
    log = stack.fake.gateway_log
    assert log.identifies == 1
    assert log.connect_queries[0]["v"] == "10"
    assert stack.bot.find_log("connected", guilds=1) is not None
    listening = stack.bot.find_log("health endpoint listening")
    assert listening is not None and listening["host"] == "127.0.0.1"
    assert listening["port"] == stack.http_port
    stack.fake.assert_no_violations()


async def test_sync_commands_registers_a_valid_payload(stack: Stack) -> None:
    guild_id = stack.fake.guild.id
    result = await stack.cli("sync-commands", "--guild", str(guild_id))
    assert result.code == 0, result.output
    assert f"guild {guild_id}" in result.stdout
    assert "warning: extension" not in result.stderr, result.stderr  # every extension loaded

    puts = stack.fake.sent("PUT /applications/{application_id}/guilds/{guild_id}/commands")
    assert puts and puts[-1].status == 200
    payload = puts[-1].body
    assert isinstance(payload, list)
    names = {cmd["name"] for cmd in payload}
    assert "help" in names
    for cmd in payload:
        if cmd.get("type", 1) == 1:  # slash command: lower-case name and a description
            assert NAME_RE.match(cmd["name"]) and cmd["name"] == cmd["name"].lower(), cmd
            assert 1 <= len(cmd["description"]) <= 100, cmd
        else:  # context menu: any 1-32 characters, no description
            assert 1 <= len(cmd["name"]) <= 32, cmd
    assert set(stack.fake.world.commands[guild_id]) == names
    assert ", ".join(sorted(names)) in result.stdout

    global_sync = await stack.cli("sync-commands")
    assert global_sync.code == 0, global_sync.output
    assert "help" in stack.fake.world.commands[None]
    # The fake checks lengths, counts and Discord's OpenAPI schema of every payload.
    stack.fake.assert_no_violations()


async def test_help_is_answered_ephemerally_within_the_window(stack: Stack) -> None:
    await stack.ready()
    rec = await stack.fake.interact_command("help")
    assert rec.elapsed is not None and rec.elapsed < RESPONSE_WINDOW_S
    assert rec.type == CHANNEL_MESSAGE_WITH_SOURCE
    assert rec.ephemeral
    embed = rec.data["embeds"][0]
    assert embed["title"] == "techbrief help"
    assert "`/help`" in embed["description"]
    stack.fake.assert_no_violations()


async def test_healthz_is_healthy_and_metrics_are_prometheus_text(stack: Stack) -> None:
    await stack.ready()
    await stack.fake.interact_command("help")  # so the latency histogram has an observation

    status, body = await stack.healthz()
    assert status == 200, body
    roles = body.pop("roles")
    assert body == {
        "status": "ok",
        "checks": {"gateway": True, "database": True, "scheduler": True},
    }
    # One process, every role: what each owns (SQLite: the only sender is the leader).
    assert roles["gateway"] == {"shards": [0], "shard_count": 1}
    assert roles["sender"] == {"state": "leader"}
    assert set(roles) == {"gateway", "worker", "sender"}

    status, content_type, text = await stack.get("/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=")  # the Prometheus text format
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families[HISTOGRAM].type == "histogram"
    samples = {(s.name, s.labels.get("le")): s.value for s in families[HISTOGRAM].samples}
    assert samples[(f"{HISTOGRAM}_count", None)] >= 1
    assert samples[(f"{HISTOGRAM}_bucket", "3.0")] >= 1  # answered inside Discord's window
    assert families["techbrief_gateway_connected"].samples[0].value == 1
    requests = families["techbrief_discord_requests"].samples
    assert any(s.labels == {"status": "2xx"} and s.value > 0 for s in requests)


async def test_a_dropped_websocket_is_resumed_not_reidentified(stack: Stack) -> None:
    await stack.ready()
    log = stack.fake.gateway_log
    identifies, resumed = log.identifies, log.resumed_ok

    assert await stack.fake.drop_websocket() >= 1
    await stack.fake.wait_until(lambda: log.resumed_ok == resumed + 1, timeout=10)
    await stack.fake.request_reconnect()  # op 7: Discord asks the bot to reconnect
    await stack.fake.wait_until(lambda: log.resumed_ok == resumed + 2, timeout=10)

    assert log.identifies == identifies  # RESUME both times, never a second IDENTIFY
    assert log.invalid_sessions == 0
    await stack.bot.wait_for(
        lambda: stack.bot.find_log("gateway session resumed") is not None,
        "the bot never logged the resume",
    )
    # The resumed session still carries interactions, and health still reports connected.
    rec = await stack.fake.interact_command("help")
    assert rec.ephemeral
    status, body = await stack.healthz()
    assert status == 200 and body["checks"]["gateway"] is True, body
    stack.fake.assert_no_violations()


async def test_healthz_reports_the_gateway_down_while_discord_is_unreachable(
    stack: Stack,
) -> None:
    await stack.ready()
    log = stack.fake.gateway_log
    identifies, resumed = log.identifies, log.resumed_ok
    stack.fake.hold_gateway()  # the reconnect's handshake hangs: a gateway outage
    try:
        assert await stack.fake.drop_websocket() >= 1
        _, body = await stack.wait_health(503)
        assert body["checks"] == {"gateway": False, "database": True, "scheduler": True}
        assert body["status"] == "unhealthy"
    finally:
        stack.fake.release_gateway()
    await stack.fake.wait_until(lambda: log.resumed_ok == resumed + 1, timeout=10)
    await stack.wait_health(200)
    assert log.identifies == identifies
    stack.fake.assert_no_violations()


async def test_sync_commands_for_a_guild_the_bot_is_not_in_says_so(stack: Stack) -> None:
    result = await stack.cli("sync-commands", "--guild", "123456789012345678")
    assert result.code == 1, result.output
    assert "Traceback" not in result.output
    assert "guild 123456789012345678" in result.stderr
    assert "applications.commands" in result.stderr


async def test_sigterm_during_a_gateway_outage_still_exits_0_within_ten_seconds(
    stack: Stack,
) -> None:
    # A second bot whose gateway handshake hangs (the shared bot's socket stays open). It has
    # a database of its own: one SQLite file serves one `techbrief run`.
    first_db = stack.env["DATABASE_URL"]
    env = {
        **stack.env,
        "TECHBRIEF_HTTP__PORT": str(free_port()),
        "DATABASE_URL": first_db.replace("t.db", "second.db"),
    }
    assert env["DATABASE_URL"] != first_db
    upgrade = await run_cli("db", "upgrade", env=env)
    assert upgrade.code == 0, upgrade.output
    second = BotProcess(env)
    lookups = len(stack.fake.sent("GET /gateway/bot"))
    stack.fake.hold_gateway()
    try:
        await second.start()
        # setup_hook asks once, launch_shards once more, right before the websocket.
        await second.wait_for(
            lambda: len(stack.fake.sent("GET /gateway/bot")) >= lookups + 2,
            "the second bot never got as far as the gateway",
        )
        code = await second.stop()
    finally:
        stack.fake.release_gateway()
        await second.kill()
        stack.other_outputs.append(second.output)
    assert code == 0, second.output[-4000:]
    assert second.stop_seconds is not None and second.stop_seconds < 10
    assert second.find_log("stopped", exit_code=0) is not None
    errors = [e for e in second.logs() if e["level"] in ("error", "critical")]
    assert not errors, errors  # no "Failed to connect ... Retrying" while shutting down
    stack.fake.assert_no_violations()


async def test_sigterm_stops_cleanly_within_ten_seconds(stack: Stack) -> None:
    await stack.ready()
    code = await stack.bot.stop()
    assert code == 0, stack.bot.output[-4000:]
    assert stack.bot.stop_seconds is not None and stack.bot.stop_seconds < 10
    assert stack.bot.find_log("stopped", exit_code=0) is not None
    with pytest.raises(aiohttp.ClientConnectionError):
        await stack.healthz()  # the health endpoint went away with the process
    stack.fake.assert_no_violations()


async def test_the_token_never_appears_and_a_healthy_run_logs_no_warnings(stack: Stack) -> None:
    await stack.bot.stop()  # everything the process will ever write is in now
    token = stack.fake.token
    secret = token.rsplit(".", 1)[-1]  # the HMAC part alone is enough to leak it
    outputs = [("techbrief run", stack.bot.output)]
    outputs += [(f"techbrief {' '.join(r.args)}", r.output) for r in stack.cli_runs]
    outputs += [("second techbrief run", text) for text in stack.other_outputs]
    for what, text in outputs:
        assert token not in text and secret not in text, f"{what} wrote the token"
    # TECHBRIEF_LOG__JSON=1 means machine-readable lines only, from discord.py's loggers too.
    assert stack.bot.stderr, "the bot wrote no log at all"
    not_json = [line for line in stack.bot.stderr if not line.startswith("{")]
    assert not not_json, not_json[:5]
    assert len(stack.bot.logs()) == len(stack.bot.stderr)
    assert not stack.bot.stdout
    # A healthy run (drops and resumes included) is quiet: nothing for an operator to chase.
    loud = [e for e in stack.bot.logs() if e["level"] not in ("debug", "info")]
    assert not loud, loud[:5]
