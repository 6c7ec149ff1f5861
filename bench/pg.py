"""A throw-away PostgreSQL for benchmarks, started the way the tests start theirs.

Reuses tests/pgserver.py (initdb + pg_ctl from the machine's binaries, fsync off, loopback
only), so a benchmark on PostgreSQL needs nothing a test run does not already need.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tests.pgserver import PostgresServer, find_pg_bin


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A fresh server (``createdb`` and ``url`` for databases on it), stopped after."""
    bindir = find_pg_bin()
    if bindir is None:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found; install postgresql")
    server = PostgresServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def postgres(database: str = "bench") -> Iterator[str]:
    """A fresh server with one empty database; yields its SQLAlchemy URL, stops it after."""
    with postgres_server() as server:
        server.createdb(database)
        yield server.url(database)
