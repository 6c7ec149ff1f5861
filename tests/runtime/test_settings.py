from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.errors import ConfigError
from bot.runtime.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def load(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    toml: str | None = None,
    dotenv: str | None = None,
) -> Settings:
    config = None
    if toml is not None:
        config = tmp_path / "settings.toml"
        config.write_text(toml)
    dot = tmp_path / ".env"
    if dotenv is not None:
        dot.write_text(dotenv)
    return load_settings(environ=env or {}, config_path=config, dotenv_path=dot)


def test_defaults(tmp_path: Path) -> None:
    s = load(tmp_path)
    assert s.discord.token is None
    assert s.fetch.connect_timeout_s == 10 and s.fetch.total_timeout_s == 20
    assert s.fetch.max_redirects == 5 and s.fetch.max_body_mb == 10
    assert s.database.url.startswith("sqlite+aiosqlite:///")


def test_example_file_is_valid_and_equals_defaults(tmp_path: Path) -> None:
    example = (ROOT / "config" / "settings.example.toml").read_text()
    assert load(tmp_path, toml=example) == Settings()


def test_layer_order_defaults_toml_dotenv_environment(tmp_path: Path) -> None:
    toml = "[fetch]\nconcurrency = 10\nper_host_concurrency = 2\nmax_redirects = 3\n"
    dotenv = "TECHBRIEF_FETCH__PER_HOST_CONCURRENCY=3\nTECHBRIEF_FETCH__MAX_REDIRECTS=4\n"
    s = load(tmp_path, toml=toml, dotenv=dotenv, env={"TECHBRIEF_FETCH__MAX_REDIRECTS": "1"})
    assert s.fetch.concurrency == 10  # toml over default
    assert s.fetch.per_host_concurrency == 3  # .env over toml
    assert s.fetch.max_redirects == 1  # environment over .env
    assert s.fetch.total_timeout_s == 20  # default untouched


def test_short_names_and_booleans(tmp_path: Path) -> None:
    s = load(
        tmp_path,
        env={
            "DATABASE_URL": "postgresql+asyncpg://u@h/db",
            "TECHBRIEF_FETCH__ALLOW_PRIVATE_NETWORKS": "1",
            "TECHBRIEF_LOG__JSON": "true",
        },
    )
    assert s.database.url == "postgresql+asyncpg://u@h/db"
    assert s.fetch.allow_private_networks is True
    assert s.log.json_output is True


def test_settings_are_immutable(tmp_path: Path) -> None:
    s = load(tmp_path)
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type is internal
        s.fetch.concurrency = 3


def test_bad_toml_value_names_file_key_value_reason(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, toml='[brief]\ndefault_time = "25:00"\n')
    msg = str(info.value)
    assert "settings.toml [brief]" in msg and "brief.default_time" in msg
    assert "'25:00'" in msg and "between 00:00 and 23:59" in msg


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, env={"TECHBRIEF_BRIEF__DEFAULT_TIMEZONE": "Mars/Olympus"})
    assert "TECHBRIEF_BRIEF__DEFAULT_TIMEZONE" in str(info.value)
    assert "IANA" in str(info.value)


def test_unknown_keys_and_sections_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        load(tmp_path, toml="[fetch]\ncolour = 1\n")
    with pytest.raises(ConfigError, match="unknown section"):
        load(tmp_path, env={"TECHBRIEF_NOPE__X": "1"})


def test_token_never_shown(tmp_path: Path) -> None:
    secret = "MTIz.secret-token-value"
    s = load(tmp_path, dotenv=f"DISCORD_TOKEN={secret}\n")
    assert s.discord.token is not None and s.discord.token.get_secret_value() == secret
    assert secret not in repr(s) and secret not in str(s)
    with pytest.raises(ConfigError) as info:
        other = tmp_path / "other"
        other.mkdir()
        load(other, toml=f'[discord]\ntoken = ["{secret}"]\n')
    assert secret not in str(info.value)


def test_missing_config_file_named_by_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such settings file"):
        load_settings(
            environ={"TECHBRIEF_CONFIG": str(tmp_path / "missing.toml")}, dotenv_path=None
        )


def test_unsupported_database_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sqlite\\+aiosqlite://"):
        load(tmp_path, env={"DATABASE_URL": "mysql://x"})


def test_mistyped_secret_is_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, env={"TECHBRIEF_DISCORD__TOKNE": "MTIz.very-secret"})
    assert "very-secret" not in str(info.value) and "unknown setting" in str(info.value)
