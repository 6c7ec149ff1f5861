"""One `techbrief run` per SQLite file.

SQLite has no leases across machines and no advisory locks, and two processes would both
connect every shard, poll every feed and send every brief. So on SQLite the process that
runs the bot holds an exclusive lock on a file beside the database for its whole life; a
second one is refused at start with a reason that names PostgreSQL, the backend for many
processes. The lock is the kernel's (flock), so a killed process never leaves it behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url


class AlreadyRunning(Exception):
    """Another process holds this SQLite database."""


def sqlite_file(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for other backends and in-memory databases."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".run-lock")


@contextlib.contextmanager
def only_process(database_url: str) -> Iterator[None]:
    """Hold the database's run lock while the block runs; AlreadyRunning if taken."""
    database = sqlite_file(database_url)
    if database is None:
        yield
        return
    path = lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise AlreadyRunning(
                f"another `techbrief run` (pid {holder}) already uses the SQLite database "
                f"{database}; SQLite serves one process. To run several processes, use "
                "PostgreSQL (DATABASE_URL=postgresql+asyncpg://…)."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
