"""The layer rules of DESIGN section 2, checked on the source: walk every import of bot/ and cogs/.

Every import counts, wherever it stands: at the top, inside a function (lazy) or under
``if TYPE_CHECKING:``, because each of them is a dependency a reader has to follow.

- ``bot/core`` and ``bot/storage`` import neither ``discord`` nor ``cogs`` nor the runtime,
  the CLI or its commands.
- ``bot/storage`` takes only domain types from ``bot/core``: every core module it imports must
  itself be free of storage (so never a service).
- Everything in ``bot/core`` is pure of storage except the services named in ``SERVICES``;
  "pure" follows imports transitively, including the package ``__init__`` each import runs.
- No two modules import each other, directly or in a longer circle.
- No module is longer than 600 lines (migrations excepted: they are history, not design).
- Nothing in tests/ or bench/ imports a module that does not exist (tests move with code).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE_FORBIDDEN = ("discord", "cogs", "bot.runtime", "bot.commands", "bot.cli")
MAX_LINES = 600

# The modules of bot/core that may use the database: they are the services the composition
# root wires. Everything else in bot/core is pure (no storage, directly or through imports).
SERVICES = frozenset(
    {
        "bot.core.bookmarks.service",
        "bot.core.briefs.planning",
        "bot.core.ingest.feed_service",
        "bot.core.ingest.refresher",
        "bot.core.ingest.story_writer",
        "bot.core.search.service",
        "bot.core.share.service",
        "bot.core.summarize.service",
    }
)


def imports_of(source: str, module: str, *, is_package: bool = False) -> list[tuple[str, ...]]:
    """Every import in ``source``: ``(name,)`` for ``import name``, ``(base, name)`` for
    ``from base import name`` (relative bases made absolute)."""
    found: list[tuple[str, ...]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((alias.name,) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.extend((base, alias.name) for alias in node.names)
    return found


def imported_names(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module name an import in ``source`` names (``from a import b``: both a and a.b)."""
    names: set[str] = set()
    for parts in imports_of(source, module, is_package=is_package):
        names.update({parts[0], ".".join(parts)})
    return names


def in_layer(module: str, *layers: str) -> bool:
    return any(module == layer or module.startswith(layer + ".") for layer in layers)


def ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


class Project:
    """The import graph of a set of modules, given as {module name: (source, is package)}."""

    def __init__(self, sources: dict[str, tuple[str, bool]]) -> None:
        self.modules = sorted(sources)
        self.names = {
            m: imported_names(src, m, is_package=pkg) for m, (src, pkg) in sources.items()
        }
        known = set(sources)

        def resolve(parts: tuple[str, ...]) -> str | None:
            # `from pkg import module` depends on the module; `from pkg import name`, on pkg.
            name = ".".join(parts) if ".".join(parts) in known else parts[0]
            while name and name not in known:
                name = name.rpartition(".")[0]
            return name or None

        self.deps = {
            m: sorted(
                {
                    r
                    for parts in imports_of(src, m, is_package=pkg)
                    if (r := resolve(parts)) is not None and r != m
                }
            )
            for m, (src, pkg) in sources.items()
        }

    @classmethod
    def from_tree(cls, root: Path, *dirs: str) -> Project:
        sources = {}
        for path in sorted(p for d in dirs for p in (root / d).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if package else parts)
            sources[name] = (path.read_text(encoding="utf-8"), package)
        return cls(sources)

    def closure(self, module: str) -> set[str]:
        """Everything importing ``module`` runs: its imports, theirs, and each one's packages."""
        seen: set[str] = set()
        todo = [module, *ancestors(module)]
        while todo:
            current = todo.pop()
            if current in seen or current not in self.deps:
                continue
            seen.add(current)
            for dep in self.deps[current]:
                todo.extend([dep, *ancestors(dep)])
        seen.discard(module)
        return seen

    def storage_reached(self, module: str) -> list[str]:
        return sorted(m for m in self.closure(module) if in_layer(m, "bot.storage"))

    def cycles(self) -> list[list[str]]:
        """Strongly connected components of more than one module (Tarjan's algorithm)."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        found: list[list[str]] = []

        def visit(node: str) -> None:
            index[node] = low[node] = len(index)
            stack.append(node)
            on_stack.add(node)
            for nxt in self.deps[node]:
                if nxt not in index:
                    visit(nxt)
                    low[node] = min(low[node], low[nxt])
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

        for module in self.modules:
            if module not in index:
                visit(module)
        return found

    def layer(self, *layers: str) -> list[str]:
        return [m for m in self.modules if in_layer(m, *layers)]


PROJECT = Project.from_tree(ROOT, "bot", "cogs")


def forbidden(module: str, project: Project = PROJECT) -> list[str]:
    return sorted(n for n in project.names[module] if in_layer(n, *CORE_FORBIDDEN))


# -- the rules ---------------------------------------------------------------------------------


def test_there_is_a_core_to_check() -> None:
    assert len(PROJECT.layer("bot.core")) >= 40
    assert set(PROJECT.modules) >= SERVICES, "a named service no longer exists"


@pytest.mark.parametrize("module", PROJECT.layer("bot.core", "bot.storage"))
def test_core_and_storage_import_no_discord_runtime_or_cli(module: str) -> None:
    assert forbidden(module) == [], f"{module} imports {forbidden(module)}"


@pytest.mark.parametrize("module", PROJECT.layer("bot.storage"))
def test_storage_takes_only_domain_types_from_core(module: str) -> None:
    for dep in PROJECT.deps[module]:
        if in_layer(dep, "bot.core"):
            reached = PROJECT.storage_reached(dep)
            assert not reached, f"{module} imports {dep}, which is not pure (runs {reached})"


@pytest.mark.parametrize("module", sorted(set(PROJECT.layer("bot.core")) - SERVICES))
def test_core_modules_other_than_services_import_no_storage(module: str) -> None:
    reached = PROJECT.storage_reached(module)
    assert not reached, f"{module} must be pure, but importing it runs {reached}"


def test_no_import_circles() -> None:
    assert PROJECT.cycles() == []


@pytest.mark.parametrize("module", [m for m in PROJECT.modules if ".migrations" not in m])
def test_no_module_is_longer_than_600_lines(module: str) -> None:
    path = ROOT.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module}: {lines} lines; split it along its seams"


def test_tests_and_benchmarks_import_only_modules_that_exist() -> None:
    missing = []
    for path in sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if in_layer(name, "bot", "cogs") and importlib.util.find_spec(name) is None:
                    missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert missing == []


# -- the checker itself must be able to fail ---------------------------------------------------

SAMPLE = {
    "bot.core.a": ("from bot.core import b\n", False),
    "bot.core.b": ("import bot.core.c\n", False),
    "bot.core.c": (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import bot.core.a\n",
        False,
    ),
    "bot.core.d": ("def later():\n    from bot.storage.x import Y\n", False),
    "bot.core.pkg": ("from bot.core.pkg.inner import z\nfrom bot.core import d\n", True),
    "bot.core.pkg.inner": ("from . import sibling\n", False),
    "bot.core.pkg.sibling": ("", False),
    "bot.core.e": ("from .pkg.sibling import thing\n", False),
    "bot.storage.x": ("from discord.ext import commands\nimport cogs.help\n", False),
}


def test_checker_finds_circles_including_type_checking_imports() -> None:
    project = Project(SAMPLE)
    assert project.cycles() == [["bot.core.a", "bot.core.b", "bot.core.c"]]
    assert project.deps["bot.core.pkg.inner"] == ["bot.core.pkg.sibling"]


def test_checker_follows_lazy_imports_and_package_inits_to_storage() -> None:
    project = Project(SAMPLE)
    # e imports only an empty module, but its package's __init__ imports d, which uses storage.
    assert project.storage_reached("bot.core.e") == ["bot.storage.x"]
    assert project.storage_reached("bot.core.a") == []


def test_checker_catches_forbidden_imports() -> None:
    assert forbidden("bot.storage.x", Project(SAMPLE)) == [
        "cogs.help",
        "discord.ext",
        "discord.ext.commands",
    ]
