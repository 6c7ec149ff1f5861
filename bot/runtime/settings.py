"""Settings: defaults < TOML file < .env < environment, validated once into a frozen object.

Every value remembers where it came from, so a bad one stops start-up with the file (or
variable), the key, the value and the reason. The Discord token is a ``SecretStr``: it never
shows in a repr, a log line or an error message.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from bot.core.errors import ConfigError

ENV_PREFIX = "TECHBRIEF_"
CONFIG_ENV = "TECHBRIEF_CONFIG"
DEFAULT_CONFIG = Path("config/settings.toml")
# Variables that are settings but, by convention, carry no prefix.
SHORT_ENV = {
    "DISCORD_TOKEN": ("discord", "token"),
    "DISCORD_API_BASE": ("discord", "api_base"),
    "DATABASE_URL": ("database", "url"),
}
SECRET_KEYS = {("discord", "token"), ("summary", "llm_api_key")}


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DiscordSettings(_Section):
    token: SecretStr | None = None
    api_base: str = "https://discord.com/api/v10"
    sync_commands_on_start: bool = False
    sync_guild_id: int | None = None
    shard_count: int | None = Field(default=None, ge=1)
    # The shards this process connects (a gateway process of several); None: all of them.
    shard_ids: tuple[int, ...] | None = None
    # With the pacer's burst of 2 (bot.runtime.pacer), at most rate + 2 requests leave in any
    # second; 47 leaves one of Discord's 50 for the jitter between leaving and arriving.
    rest_rate_per_s: float = Field(default=47, gt=0, le=48)
    send_workers: int = Field(default=16, ge=1, le=256)

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://discord.com/api/v10")
        return v.rstrip("/")

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _split_shards(cls, v: Any) -> Any:
        return _comma_list(v)

    @field_validator("shard_ids")
    @classmethod
    def _shards_in_range(
        cls, v: tuple[int, ...] | None, info: ValidationInfo
    ) -> tuple[int, ...] | None:
        if v is None:
            return None
        count = info.data.get("shard_count")
        if count is None:
            raise ValueError("needs discord.shard_count (TECHBRIEF_DISCORD__SHARD_COUNT) as well")
        if not v:
            raise ValueError("must name at least one shard, e.g. 0,1")
        bad = [i for i in v if not 0 <= i < count]
        if bad:
            raise ValueError(f"shard ids must be 0 to {count - 1} (shard_count {count}): {bad}")
        return tuple(sorted(set(v)))


Role = Literal["gateway", "worker", "sender"]
ROLES: tuple[Role, ...] = ("gateway", "worker", "sender")


def _comma_list(v: Any) -> Any:
    """'a, b' from an environment variable as ['a', 'b']; lists from TOML pass through."""
    if isinstance(v, str):
        return [part.strip() for part in v.split(",") if part.strip()]
    return v


class RuntimeSettings(_Section):
    # What this process does: gateway (shards, interactions), worker (feeds, summaries),
    # sender (plans briefs, delivers the outbox). Split roles need PostgreSQL.
    roles: tuple[Role, ...] = ROLES

    @field_validator("roles", mode="before")
    @classmethod
    def _split_roles(cls, v: Any) -> Any:
        return _comma_list(v)

    @field_validator("roles")
    @classmethod
    def _some_roles(cls, v: tuple[Role, ...]) -> tuple[Role, ...]:
        if not v:
            raise ValueError("name at least one of gateway, worker, sender")
        return tuple(r for r in ROLES if r in v)  # one order, no repeats


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///data/techbrief.db"
    echo: bool = False
    pool_size: int = Field(default=5, ge=1, le=100)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    @field_validator("url")
    @classmethod
    def _supported(cls, v: str) -> str:
        if not v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg:// "
                "(the async drivers techbrief ships with)"
            )
        return v


class FetchSettings(_Section):
    user_agent: str = "techbrief/0.1 (+{contact_url})"
    contact_url: str = "https://github.com/techbrief/techbrief"
    connect_timeout_s: float = Field(default=10.0, gt=0, le=120)
    total_timeout_s: float = Field(default=20.0, gt=0, le=600)
    max_body_mb: float = Field(default=10.0, gt=0, le=512)
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=64, ge=1, le=1024)
    per_host_concurrency: int = Field(default=4, ge=1, le=64)
    allow_private_networks: bool = False
    parser_processes: int = Field(default=0, ge=0, le=64)  # 0: one per CPU
    min_interval_minutes: float = Field(default=15, gt=0)
    max_interval_hours: float = Field(default=24, gt=0)

    @property
    def user_agent_header(self) -> str:
        return self.user_agent.replace("{contact_url}", self.contact_url)


class SchedulerSettings(_Section):
    tick_seconds: float = Field(default=30, gt=0, le=3600)
    lease_seconds: float = Field(default=300, gt=0)
    # Inside Discord's nonce window (a few minutes), so a resend after a takeover is deduped.
    delivery_lease_seconds: float = Field(default=90, ge=10, le=240)
    feeds_per_tick: int = Field(default=500, ge=1)


class BriefSettings(_Section):
    default_time: str = "09:00"
    default_timezone: str = "UTC"
    per_source_cap: int = Field(default=5, ge=1, le=25)
    post_when_empty: bool = False
    # A due brief (or realtime post) whose stories are still being summarised waits this long
    # for them, then goes out with what exists; 0 never waits.
    summary_wait_seconds: float = Field(default=60, ge=0, le=3600)

    @field_validator("default_time")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        parse_hhmm(v)
        return v

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone name (e.g. Europe/Berlin)") from None
        return v


class RetentionSettings(_Section):
    story_days: int = Field(default=365, ge=1)


class SummarySettings(_Section):
    method: Literal["extractive", "llm"] = "extractive"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(default=30, gt=0)
    llm_daily_token_budget: int = Field(default=200_000, ge=0)
    teaser_fetch: bool = True
    teaser_min_words: int = Field(default=120, ge=0)
    teaser_daily_budget: int = Field(default=500, ge=0)


class SearchSettings(_Section):
    cooldown_seconds: float = Field(default=3, ge=0)
    max_query_chars: int = Field(default=200, ge=10)


class BookmarkSettings(_Section):
    per_user_cap: int = Field(default=5000, ge=1)


class ShareSettings(_Section):
    # Per user, between shares (/share and the Share story menu); 0 turns it off.
    cooldown_seconds: float = Field(default=30, ge=0)


class HttpSettings(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)


class LogSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_output: bool = Field(default=False, alias="json")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class CatalogSettings(_Section):
    # None: the catalog shipped inside the package (found from any working directory).
    path: str | None = None

    @field_validator("path")
    @classmethod
    def _empty_is_built_in(cls, v: str | None) -> str | None:
        return v.strip() or None if v is not None else None

    @property
    def file(self) -> Path | None:
        """The catalog file to read, or None for the built-in one."""
        return Path(self.path) if self.path else None


class Settings(_Section):
    discord: DiscordSettings = DiscordSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    database: DatabaseSettings = DatabaseSettings()
    fetch: FetchSettings = FetchSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    brief: BriefSettings = BriefSettings()
    retention: RetentionSettings = RetentionSettings()
    summary: SummarySettings = SummarySettings()
    search: SearchSettings = SearchSettings()
    bookmarks: BookmarkSettings = BookmarkSettings()
    share: ShareSettings = ShareSettings()
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()
    catalog: CatalogSettings = CatalogSettings()


def parse_hhmm(value: str) -> tuple[int, int]:
    """'09:00' -> (9, 0); a clear ValueError otherwise."""
    parts = value.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError("must be a time as HH:MM, e.g. 09:00")
    hour, minute = int(parts[0]), int(parts[1])
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError("must be a time between 00:00 and 23:59")
    return hour, minute


_Layer = dict[str, dict[str, Any]]
_Origin = dict[tuple[str, str], str]


def _put(data: _Layer, origin: _Origin, section: str, key: str, value: Any, source: str) -> None:
    if section not in Settings.model_fields:
        raise ConfigError(source, section, None, f"unknown section [{section}]")
    data.setdefault(section, {})[key] = value
    origin[(section, key)] = source


def _from_toml(path: Path, data: _Layer, origin: _Origin) -> None:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "(file)", None, f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(str(path), "(file)", None, f"cannot be read: {exc.strerror}") from None
    for section, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(str(path), section, table, "expected a [section] table")
        for key, value in table.items():
            _put(data, origin, section, key, value, f"{path} [{section}]")


def _from_variables(
    env: Mapping[str, str | None], source: str, data: _Layer, origin: _Origin
) -> None:
    for name, value in env.items():
        if value is None:
            continue
        if name in SHORT_ENV:
            section, key = SHORT_ENV[name]
            if value == "":
                continue
            _put(data, origin, section, key, value, f"{source} {name}")
        elif name.startswith(ENV_PREFIX) and name != CONFIG_ENV:
            rest = name[len(ENV_PREFIX) :]
            section, sep, key = rest.partition("__")
            if not sep or not key:
                raise ConfigError(
                    f"{source} {name}", name, None, "expected TECHBRIEF_<SECTION>__<KEY>"
                )
            _put(data, origin, section.lower(), key.lower(), value, f"{source} {name}")


def _looks_secret(key: str) -> bool:
    """A mistyped secret (TECHBRIEF_DISCORD__TOKNE) must not be echoed in an error either."""
    lowered = key.lower()
    return any(word in lowered for word in ("tok", "secret", "key", "pass"))


def load_settings(
    *,
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
    dotenv_path: Path | None = Path(".env"),
) -> Settings:
    """Build the settings from all layers; raises ConfigError naming the culprit."""
    env = dict(os.environ if environ is None else environ)
    data: _Layer = {}
    origin: _Origin = {}
    path = config_path or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    if path is not None and not path.is_file():
        raise ConfigError(CONFIG_ENV, "(file)", str(path), "no such settings file")
    path = path or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    if path is not None:
        _from_toml(path, data, origin)
    if dotenv_path is not None and dotenv_path.is_file():
        _from_variables(dotenv_values(dotenv_path), str(dotenv_path), data, origin)
    _from_variables(env, "environment", data, origin)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        section = loc[0] if loc else "(settings)"
        key = loc[1] if len(loc) > 1 else ""
        source = origin.get((section, key), "defaults")
        value = err.get("input")
        if (section, key) in SECRET_KEYS or _looks_secret(key):
            value = "***"
        reason = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "unknown setting"
        raise ConfigError(source, f"{section}.{key}" if key else section, value, reason) from None
