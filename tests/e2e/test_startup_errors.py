"""`techbrief run` refusing to start: exit 2, one readable explanation, no traceback, no secret.

These run in an empty working directory so that a developer's own .env or
config/settings.toml in the repository cannot supply (or break) the settings under test.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from tests.e2e.process import child_env, run_cli, write_catalog
from tests.fakediscord import FakeDiscord

pytestmark = pytest.mark.e2e

TOKEN = "MTU3NDI1Njk1Njc0NTQ0OTQ3Mw.GxE2eT.never-print-this-secret-0123456789"


@pytest.mark.parametrize("token", [None, "   "], ids=["unset", "blank"])
async def test_run_without_a_token_explains_how_to_get_one(
    tmp_path: Path, token: str | None
) -> None:
    overrides = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}"}
    if token is not None:
        overrides["DISCORD_TOKEN"] = token
    result = await run_cli("run", env=child_env(overrides), cwd=tmp_path)

    assert result.code == 2, result.output
    assert "DISCORD_TOKEN is not set" in result.stderr
    assert ".env" in result.stderr
    assert "techbrief preview" in result.stderr
    assert "https://discord.com/developers/applications" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "t.db").exists()  # nothing was started before the check


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("zero", "valid integer"),
        ("0", "greater than or equal to 1"),
    ],
)
async def test_a_bad_setting_names_variable_key_value_and_reason(
    tmp_path: Path, value: str, reason: str
) -> None:
    env = child_env({"DISCORD_TOKEN": TOKEN, "TECHBRIEF_FETCH__CONCURRENCY": value})
    result = await run_cli("run", env=env, cwd=tmp_path)

    assert result.code == 2, result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1, line  # one line, no traceback
    assert line.startswith("techbrief: bad setting:")
    assert "TECHBRIEF_FETCH__CONCURRENCY" in line  # where it came from
    assert "fetch.concurrency" in line  # which setting
    assert repr(value) in line  # the value
    assert reason in line  # why
    assert TOKEN not in result.output and TOKEN.rsplit(".", 1)[-1] not in result.output


async def test_the_health_port_in_use_is_a_one_line_error(
    tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "t.db")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = child_env(
            {
                "DISCORD_TOKEN": TOKEN,
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
                "TECHBRIEF_CATALOG__PATH": str(
                    write_catalog(tmp_path / "feeds.toml", "http://127.0.0.1:9/feed.xml")
                ),
                "TECHBRIEF_HTTP__PORT": str(port),
            }
        )
        result = await run_cli("run", env=env, cwd=tmp_path)

    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    assert f"127.0.0.1:{port}" in result.stderr and "TECHBRIEF_HTTP__PORT" in result.stderr
    assert TOKEN not in result.output


@pytest.mark.parametrize("command", [("run",), ("sync-commands",)])
async def test_a_token_discord_refuses_exits_2_and_says_so(
    tmp_path: Path, sqlite_template: Path, command: tuple[str, ...]
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "t.db")  # migrated: the token is the problem
    async with FakeDiscord() as fake:
        env = child_env(
            {
                "DISCORD_TOKEN": TOKEN,  # not the fake's token: GET /users/@me answers 401
                "DISCORD_API_BASE": fake.api_base,
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
                "TECHBRIEF_CATALOG__PATH": str(
                    write_catalog(tmp_path / "feeds.toml", "http://127.0.0.1:9/feed.xml")
                ),
                "TECHBRIEF_HTTP__ENABLED": "0",
            }
        )
        result = await run_cli(*command, env=env, cwd=tmp_path)
        assert {v.message for v in fake.violations} == {"missing or wrong Authorization header"}
        fake.violations.clear()  # provoked on purpose

    assert result.code == 2, result.output
    assert "Discord refused the token (DISCORD_TOKEN)" in result.stderr
    assert "Traceback" not in result.output
    assert TOKEN not in result.output and TOKEN.rsplit(".", 1)[-1] not in result.output


@pytest.mark.parametrize(
    ("database", "code", "expected"),
    [
        ("t.db", 2, "run `techbrief db upgrade` first"),  # exists once opened, but no schema
        ("a-directory", 1, "cannot open the database (DATABASE_URL)"),
    ],
    ids=["unmigrated", "unopenable"],
)
async def test_a_database_the_bot_cannot_use_stops_it_before_discord(
    tmp_path: Path, database: str, code: int, expected: str
) -> None:
    (tmp_path / "a-directory").mkdir()  # SQLite cannot open a directory as its file
    env = child_env(
        {
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",  # never reached
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / database}",
            "TECHBRIEF_CATALOG__PATH": str(
                write_catalog(tmp_path / "feeds.toml", "http://127.0.0.1:9/feed.xml")
            ),
            "TECHBRIEF_HTTP__ENABLED": "0",
        }
    )
    result = await run_cli("run", env=env, cwd=tmp_path)

    assert result.code == code, result.output
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert "logging in" not in result.output  # Discord was never contacted


async def test_a_second_run_on_one_sqlite_file_is_refused_naming_postgresql(
    tmp_path: Path,
) -> None:
    from bot.runtime.single_process import only_process

    url = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
    env = child_env(
        {
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",
            "DATABASE_URL": url,
        }
    )
    upgrade = await run_cli("db", "upgrade", env=env, cwd=tmp_path)
    assert upgrade.code == 0, upgrade.output
    with only_process(url):  # this test process plays the first `techbrief run`
        result = await run_cli("run", env=env, cwd=tmp_path)
    assert result.code == 2, result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert "already uses the SQLite database" in line and "PostgreSQL" in line
    assert str(tmp_path / "t.db") in line
    assert "Traceback" not in result.output


def test_the_run_lock_is_released_when_its_holder_ends(tmp_path: Path) -> None:
    from bot.runtime.single_process import AlreadyRunning, only_process

    url = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
    with only_process(url), pytest.raises(AlreadyRunning, match="PostgreSQL"), only_process(url):
        pass
    with only_process(url):  # free again
        pass
    with (
        only_process("postgresql+asyncpg://u@127.0.0.1/db"),
        only_process("postgresql+asyncpg://u@127.0.0.1/db"),
    ):
        pass  # no lock on PostgreSQL: many processes are its job


@pytest.mark.parametrize(
    ("how", "value"), [("flag", "worker"), ("flag", "gateway,sender"), ("env", "sender")]
)
async def test_split_roles_on_sqlite_are_refused_naming_postgresql(
    tmp_path: Path, how: str, value: str
) -> None:
    overrides = {"DISCORD_TOKEN": TOKEN, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/t.db"}
    args = ["run", "--roles", value] if how == "flag" else ["run"]
    if how == "env":
        overrides["TECHBRIEF_RUNTIME__ROLES"] = value
    result = await run_cli(*args, env=child_env(overrides), cwd=tmp_path)

    assert result.code == 2, result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "PostgreSQL" in line, line
    assert f"--roles {value}" in line
    assert TOKEN not in result.output


async def test_unknown_roles_are_refused(tmp_path: Path) -> None:
    env = child_env(
        {"DISCORD_TOKEN": TOKEN, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/t.db"}
    )
    result = await run_cli("run", "--roles", "gateway,cook", env=env, cwd=tmp_path)
    assert result.code == 2, result.output
    assert "gateway, worker, sender" in result.stderr and "Traceback" not in result.output


async def test_shard_ids_need_a_shard_count(tmp_path: Path) -> None:
    env = child_env({"DISCORD_TOKEN": TOKEN, "TECHBRIEF_DISCORD__SHARD_IDS": "0,1"})
    result = await run_cli("run", env=env, cwd=tmp_path)
    assert result.code == 2, result.output
    line = result.stderr.strip()
    assert "TECHBRIEF_DISCORD__SHARD_IDS" in line and "shard_count" in line, line
