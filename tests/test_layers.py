"""The Discord-free core must stay Discord-free: walk the imports of bot/core and bot/storage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("discord", "cogs")
CORE_DIRS = [ROOT / "bot" / "core", ROOT / "bot" / "storage"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offending(path: Path) -> list[str]:
    bad: list[str] = []
    for name in sorted(imported_modules(path)):
        top = name.split(".")[0]
        if top in FORBIDDEN or name.startswith(("bot.cli", "bot.runtime", "bot.runtime.settings")):
            bad.append(name)
    return bad


def core_files() -> list[Path]:
    return sorted(p for d in CORE_DIRS for p in d.rglob("*.py"))


def test_there_is_a_core_to_check() -> None:
    assert len(core_files()) >= 5


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_does_not_import_discord_or_runtime(path: Path) -> None:
    assert offending(path) == [], f"{path.relative_to(ROOT)} imports {offending(path)}"


def test_checker_catches_a_discord_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom discord.ext import commands\nimport cogs.help\n")
    assert offending(sample) == ["cogs.help", "discord.ext"]
