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
    checked = choices = named = 0
    for cmd in body:
        if cmd.get("type", 1) != 1:
            # The message menu has a free-text name and no description: its name is localised.
            assert set(cmd["name_localizations"]) >= set(LOCALES), cmd["name"]
            assert cmd["name_localizations"]["ko"] == menus.pop(cmd["name"])
            continue
        for where, obj in [(f"/{cmd['name']}", cmd), *_walk(cmd.get("options") or [], "")]:
            # Every command, group, subcommand and option name, valid by Discord's rule.
            names_here = obj.get("name_localizations") or {}
            assert set(names_here) >= set(LOCALES), f"{where}: name_localizations {names_here}"
            for locale in LOCALES:
                assert names_here[locale] != obj["name"], f"{where} [{locale}]"
                assert discord_limits.valid_chat_input_name(names_here[locale]), where
            named += 1
            localised = obj.get("description_localizations") or {}
            assert set(localised) >= set(LOCALES), f"{where}: {localised}"
            for locale in LOCALES:
                assert localised[locale] != obj["description"], f"{where} [{locale}]"
            checked += 1
            for choice in obj.get("choices") or []:
                assert set(choice.get("name_localizations") or {}) >= set(LOCALES), choice
                choices += 1
    assert checked > 40 and choices >= 10 and named == checked
    assert not menus, f"menus not synced: {menus}"
    brief = next(c for c in body if c["name"] == "brief")
    setup = next(o for o in brief["options"] if o["name"] == "setup")
    every = next(o for o in setup["options"] if o["name"] == "every")
    weekly = next(c for c in every["choices"] if c["value"] == "weekly")
    assert weekly["name_localizations"]["ko"] == "매주"
    assert weekly["name_localizations"]["ja"] == "毎週"
    # "/brief setup" is two levels in every language: "/브리핑 설정", "/ダイジェスト 設定".
    assert brief["name_localizations"] == {"ko": "브리핑", "ja": "ダイジェスト"}
    assert setup["name_localizations"] == {"ko": "설정", "ja": "設定"}
    search = next(c for c in body if c["name"] == "search")
    assert search["name_localizations"] == {"ko": "검색", "ja": "検索"}
    query = next(o for o in search["options"] if o["name"] == "query")
    assert query["name_localizations"] == {"ko": "검색어", "ja": "検索語"}
    bookmark = next(c for c in body if c["name"] == "bookmark")
    assert bookmark["name_localizations"] == {"ko": "북마크", "ja": "ブックマーク"}


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


def test_fake_discord_rejects_bad_and_colliding_name_localisations() -> None:
    """A localised name with a space, an upper-case letter or a character outside Discord's
    rule is refused, and so is one equal to a sibling's name in that locale (its
    localisation, or its default name where it has none)."""

    def option(name: str, **names: str) -> dict[str, Any]:
        return {"type": 3, "name": name, "description": "d", "name_localizations": names}

    options: list[dict[str, Any]] = [
        option("query", ko="검색어", ja="検索語"),
        option("source", ko="검색어", ja="ソース"),  # ko collides with query's
        option("after", ja="day"),  # ja collides with "day", which has no ja name
        option("before", ko="이전 날짜", ja="以前"),  # a space
        option("tag", ko="Tag", ja="タグ・名"),  # upper case; "・" is punctuation
        {"type": 3, "name": "day", "description": "d"},
    ]
    cmd = {
        "name": "search",
        "description": "Search",
        "name_localizations": {"ko": "검색", "ja": "検索"},
        "options": options,
    }
    problems = discord_limits.check_command(cmd)
    assert any("'검색어' of 'source' collides with sibling 'query'" in p for p in problems)
    assert any("[ja] 'day' of 'day' collides with sibling 'after'" in p for p in problems)
    assert any("name_localizations[ko] '이전 날짜'" in p for p in problems)
    assert any("name_localizations[ko] 'Tag'" in p for p in problems)
    assert any("name_localizations[ja] 'タグ・名'" in p for p in problems)
    assert len(problems) == 5, problems
    # Top-level commands are siblings too.
    other = {"name": "find", "description": "Find", "name_localizations": {"ja": "検索"}}
    problems = discord_limits.check_command_list([cmd, other])
    assert any("commands: name_localizations[ja] '検索' of 'find'" in p for p in problems)
    fine = {**cmd, "options": options[:1]}
    assert not discord_limits.check_command_list([fine])
