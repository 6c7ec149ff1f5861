"""A throw-away PostgreSQL server for the test session, started from the machine's binaries.

initdb refuses to run as root, so under root the server runs as the `postgres` (or `nobody`)
user; it listens only on 127.0.0.1 and a socket inside its own temporary directory.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def find_pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="techbrief-pg-")))
    port: int = field(default_factory=free_port)
    user: str | None = None

    def _cmd(self, *args: str) -> list[str]:
        if os.geteuid() == 0 and self.user:
            return ["runuser", "-u", self.user, "--", *args]
        return list(args)

    def start(self) -> None:
        if os.geteuid() == 0:
            for candidate in ("postgres", "nobody"):
                try:
                    entry = pwd.getpwnam(candidate)
                except KeyError:
                    continue
                self.user = candidate
                os.chown(self.root, entry.pw_uid, entry.pw_gid)
                break
            else:
                raise PostgresUnavailable(
                    "running as root and no unprivileged user to run PostgreSQL"
                )
        data = self.root / "data"
        run = subprocess.run(
            self._cmd(
                str(self.bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {run.stderr.strip() or run.stdout.strip()}")
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        run = subprocess.run(
            self._cmd(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise PostgresUnavailable(f"pg_ctl start failed: {run.stderr.strip()}\n{log}")

    def stop(self) -> None:
        subprocess.run(
            self._cmd(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "fast",
                "-w",
                "stop",
            ),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def createdb(self, name: str, *, template: str | None = None) -> None:
        args = [
            str(self.bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
        ]
        if template:
            args += ["-T", template]
        run = subprocess.run([*args, name], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise PostgresUnavailable(f"createdb {name} failed: {run.stderr.strip()}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"
