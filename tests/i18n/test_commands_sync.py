"""`sync-commands` through real discord.py: every command carries ko and ja localisations,
each within Discord's rules (the fake Discord checks every field of the payload)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.botharness import running_bot
from tests.fakediscord import FakeDiscord
from tests.fakediscord import limits as discord_limits

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

LOCALES = ("ko", "ja")


def _sync_body(fake: FakeDiscord) -> list[dict[str, Any]]:
    puts = [r for r in fake.requests if r.method == "PUT" and r.path.endswith("/commands")]
    assert puts, "no command sync reached the fake Discord"
    body = puts[-1].body
    assert isinstance(body, list)
    return body


def _walk(options: list[dict[str, Any]], where: str) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for opt in options:
        here = f"{where} {opt['name']}"
        found.append((here, opt))
        found += _walk(opt.get("options") or [], here)
    return found


async def test_sync_payload_localises_every_command_option_and_choice(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, sqlite_url, tmp_path, migrate=True):
        body = _sync_body(fake_discord)
    assert not discord_limits.check_command_list(body)
    names = {c["name"] for c in body}
    assert {
        "help",
        "brief",
        "search",
        "bookmark",
        "share",
        "Bookmark story",
        "Share story",
    } <= names
    menus = {"Bookmark story": "글 북마크하기", "Share story": "글 공유하기"}
    checked = choices = 0
    for cmd in body:
        if cmd.get("type", 1) != 1:
            # The message menu has a free-text name and no description: its name is localised.
            assert set(cmd["name_localizations"]) >= set(LOCALES), cmd["name"]
            assert cmd["name_localizations"]["ko"] == menus.pop(cmd["name"])
            continue
        for where, obj in [(f"/{cmd['name']}", cmd), *_walk(cmd.get("options") or [], "")]:
            localised = obj.get("description_localizations") or {}
            assert set(localised) >= set(LOCALES), f"{where}: {localised}"
            for locale in LOCALES:
                assert localised[locale] != obj["description"], f"{where} [{locale}]"
            checked += 1
            for choice in obj.get("choices") or []:
                assert set(choice.get("name_localizations") or {}) >= set(LOCALES), choice
                choices += 1
    assert checked > 40 and choices >= 10
    assert not menus, f"menus not synced: {menus}"
    brief = next(c for c in body if c["name"] == "brief")
    setup = next(o for o in brief["options"] if o["name"] == "setup")
    every = next(o for o in setup["options"] if o["name"] == "every")
    weekly = next(c for c in every["choices"] if c["value"] == "weekly")
    assert weekly["name_localizations"]["ko"] == "매주"
    assert weekly["name_localizations"]["ja"] == "毎週"
    # Slash command and option names stay English (bot.runtime.i18n explains why).
    assert "name_localizations" not in brief or not brief["name_localizations"]


def test_fake_discord_rejects_bad_localisations() -> None:
    """The validation above can fail: an upper-case, too long or unknown-locale entry."""
    cmd = {
        "name": "help",
        "description": "Help",
        "name_localizations": {"ko": "Help Me"},
        "description_localizations": {"ja": "x" * 101, "kr": "도움말"},
        "options": [
            {
                "type": 3,
                "name": "q",
                "description": "query",
                "choices": [{"name": "a", "value": "a", "name_localizations": {"ko": ""}}],
            }
        ],
    }
    problems = discord_limits.check_command(cmd)
    assert any("name_localizations[ko]" in p for p in problems)
    assert any("description_localizations[ja]" in p for p in problems)
    assert any("'kr' is not a Discord locale" in p for p in problems)
    assert any("choices[0].name_localizations[ko]" in p for p in problems)
