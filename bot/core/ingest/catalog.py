"""The source catalog, validated entry by entry.

The default catalog ships inside the package (``feeds.toml`` beside this module, read with
:mod:`importlib.resources`), so an installed ``techbrief`` finds it from any working directory
and from a wheel or zip; ``catalog.path`` names another file instead.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.core.errors import ConfigError
from bot.core.models import CatalogFeed

# Keys double as Discord choice values and `source:` search operators: keep them short and plain.
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
FIELDS = ("key", "name", "feed_url", "site_url", "language", "color")


def _http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def _entry_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "expected a [[feed]] table"
    missing = [f for f in FIELDS if f not in entry]
    if missing:
        return f"missing {', '.join(missing)}"
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        return f"unknown field(s) {', '.join(unknown)}"
    if not isinstance(entry["key"], str) or not KEY_RE.match(entry["key"]):
        return (
            "key must be 1-32 characters of a-z, 0-9, '-' or '_', starting with a letter or digit"
        )
    if not isinstance(entry["name"], str) or not 1 <= len(entry["name"].strip()) <= 100:
        return "name must be 1-100 characters"
    for field in ("feed_url", "site_url"):
        if not _http_url(entry[field]):
            return f"{field} must be an http(s) URL"
    if not isinstance(entry["language"], str) or not LANG_RE.match(entry["language"]):
        return "language must be a language tag such as en, ko or ja"
    if not isinstance(entry["color"], str) or not COLOR_RE.match(entry["color"]):
        return "color must look like #RRGGBB"
    return None


def parse_catalog(text: str, source: str) -> list[CatalogFeed]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "(file)", None, f"not valid TOML: {exc}") from None
    entries = raw.get("feed", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(source, "feed", None, "expected one or more [[feed]] tables")
    problems: list[str] = []
    feeds: list[CatalogFeed] = []
    seen_keys: set[str] = set()
    seen_urls: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        label = f"entry #{index}"
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            label += f" (key {entry['key']!r})"
        problem = _entry_problem(entry)
        if problem is None and entry["key"] in seen_keys:
            problem = "duplicate key"
        if problem is None and entry["feed_url"] in seen_urls:
            problem = "duplicate feed_url"
        if problem:
            problems.append(f"{label}: {problem}")
            continue
        seen_keys.add(entry["key"])
        seen_urls.add(entry["feed_url"])
        feeds.append(
            CatalogFeed(
                key=entry["key"],
                name=entry["name"].strip(),
                feed_url=entry["feed_url"],
                site_url=entry["site_url"],
                language=entry["language"],
                color=int(entry["color"][1:], 16),
            )
        )
    if problems:
        raise ConfigError(source, "[[feed]]", None, "; ".join(problems))
    return feeds


BUILT_IN = "feeds.toml"
# How the built-in catalog is named in errors and logs (there is no path a user could open).
BUILT_IN_LABEL = "techbrief's built-in catalog (bot/core/ingest/feeds.toml)"


def load_catalog(path: Path | None = None) -> list[CatalogFeed]:
    """The catalog in ``path``, or the one shipped with techbrief when ``path`` is None."""
    if path is None:
        text = (
            resources.files(__package__ or __name__).joinpath(BUILT_IN).read_text(encoding="utf-8")
        )
        return parse_catalog(text, BUILT_IN_LABEL)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "(file)", None, f"cannot be read: {exc.strerror}") from None
    return parse_catalog(text, str(path))
