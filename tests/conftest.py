"""Shared fixtures: every storage test runs on SQLite AND on a real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage.engine import create_engine, session_factory
from bot.storage.migrate import upgrade
from tests.botharness import Clock
from tests.pgserver import PostgresServer, PostgresUnavailable, find_pg_bin

# The fake Discord's fixture (`fake_discord`) for every test that drives the bot.
pytest_plugins = ["tests.fakediscord.fixtures"]

BACKENDS = ["sqlite", "postgresql"]


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    bindir = find_pg_bin()
    if bindir is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) not found"
        if _under_ci():
            pytest.fail(f"{reason}: CI must run the PostgreSQL tests (.ci/run installs them)")
        pytest.skip(f"{reason}; install postgresql to run these tests")
    server = PostgresServer(bindir)
    try:
        server.start()
    except PostgresUnavailable as exc:
        if _under_ci():
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def pg_template(pg_server: PostgresServer) -> str:
    """A migrated template database; each test clones it (much faster than migrating)."""
    conn = await asyncpg.connect(host="127.0.0.1", port=pg_server.port, user="postgres")
    try:
        await conn.execute("CREATE DATABASE techbrief_template")
    finally:
        await conn.close()
    engine = create_engine(pg_server.url("techbrief_template"))
    await upgrade(engine)
    await engine.dispose()
    return "techbrief_template"


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    async with engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    await engine.dispose()
    return path


def _fresh_pg_database(server: PostgresServer, template: str) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    server.createdb(name, template=template)
    return server.url(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgresql":
        request.applymarker(pytest.mark.postgres)
    return name


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of the parametrized backend, private to one test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "techbrief.db"
        shutil.copyfile(template, target)
        return f"sqlite+aiosqlite:///{target}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    name: str = request.getfixturevalue("pg_template")
    return _fresh_pg_database(server, name)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


class _PostgresTally:
    """Counts what happened to the PostgreSQL-backed tests, so CI can insist they ran."""

    def __init__(self) -> None:
        self.passed = 0
        self.skipped = 0
        self.failed = 0


_TALLY = _PostgresTally()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "postgres" not in report.keywords:
        return
    if report.when == "call" and report.passed:
        _TALLY.passed += 1
    elif report.skipped:
        _TALLY.skipped += 1
    elif report.failed:
        _TALLY.failed += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(
        f"PostgreSQL-backed tests: {_TALLY.passed} passed, {_TALLY.skipped} skipped, "
        f"{_TALLY.failed} failed"
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _under_ci() and (_TALLY.skipped or (session.testscollected and not _TALLY.passed)):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An SQLite file for end-to-end tests (the harness migrates it)."""
    return f"sqlite+aiosqlite:///{tmp_path}/bot.db"


@pytest.fixture
def clock() -> Clock:
    """The injectable clock the bot runs on: 07:00 UTC, 08:00 in Berlin, on a Sunday."""
    return Clock(datetime(2026, 11, 22, 7, 0, tzinfo=UTC))


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated PostgreSQL database, for tests about PostgreSQL-only behaviour."""
    server: PostgresServer = request.getfixturevalue("pg_server")
    name: str = request.getfixturevalue("pg_template")
    return _fresh_pg_database(server, name)
