"""Running `techbrief` as a separate process, the way `make run` does, against local fakes.

Every child gets a scrubbed environment: a developer's own DISCORD_TOKEN, DATABASE_URL or
TECHBRIEF_* variables must not leak into (or rescue) a test. Only 127.0.0.1 is ever used.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
_OWN_VARIABLES = ("DISCORD_TOKEN", "DISCORD_API_BASE", "DATABASE_URL")


def free_port() -> int:
    """A TCP port nobody listens on right now (bound and released on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(overrides: Mapping[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _OWN_VARIABLES and not k.startswith("TECHBRIEF_")
    }
    # The package is importable from the repository even when the child's cwd is elsewhere.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


@dataclass
class Finished:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


async def run_cli(
    *args: str, env: Mapping[str, str], cwd: Path = REPO_ROOT, timeout: float = 30.0
) -> Finished:
    """`python -m bot ARGS` to completion."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(
            f"techbrief {' '.join(args)} did not finish within {timeout}s"
        ) from None
    assert proc.returncode is not None
    return Finished(args, proc.returncode, out.decode(), err.decode())


@dataclass
class BotProcess:
    """A long-running `techbrief run`; its output is collected line by line as it comes."""

    env: dict[str, str]
    cwd: Path = REPO_ROOT
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    exit_code: int | None = None
    stop_seconds: float | None = None
    args: tuple[str, ...] = ("run",)
    _proc: asyncio.subprocess.Process | None = None
    _readers: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *self.args,
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._readers = [
            asyncio.create_task(self._pump(self._proc.stdout, self.stdout)),
            asyncio.create_task(self._pump(self._proc.stderr, self.stderr)),
        ]

    @staticmethod
    async def _pump(stream: asyncio.StreamReader, into: list[str]) -> None:
        async for raw in stream:
            into.append(raw.decode(errors="replace").rstrip("\n"))

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def output(self) -> str:
        return "\n".join(self.stdout + self.stderr)

    def logs(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (TECHBRIEF_LOG__JSON=1)."""
        entries = []
        for line in self.stderr:
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    entries.append(entry)
        return entries

    def find_log(self, msg: str, **fields: object) -> dict[str, Any] | None:
        for entry in self.logs():
            if entry.get("msg") == msg and all(entry.get(k) == v for k, v in fields.items()):
                return entry
        return None

    async def wait_for(
        self, predicate: Callable[[], bool], what: str, timeout: float = 10.0
    ) -> None:
        """Poll a cheap in-memory condition; fail with the process's output on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if not self.running:
                raise AssertionError(
                    f"techbrief run exited ({self._proc and self._proc.returncode}) before "
                    f"{what}:\n{self.output[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} within {timeout}s:\n{self.output[-4000:]}")
            await asyncio.sleep(0.02)

    async def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM once, then wait for the exit (idempotent: later calls return the result)."""
        assert self._proc is not None
        if self.exit_code is None:
            started = time.monotonic()
            if self._proc.returncode is None:
                self._proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._proc.wait(), timeout)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
            self.stop_seconds = time.monotonic() - started
            await asyncio.gather(*self._readers)
            assert self._proc.returncode is not None
            self.exit_code = self._proc.returncode
        return self.exit_code

    async def kill(self) -> None:
        """Last-resort cleanup for a test that failed before stopping the bot."""
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
        for task in self._readers:
            task.cancel()


def write_catalog(path: Path, feed_url: str) -> Path:
    """A one-feed catalog whose feed lives on the tests' local feed server."""
    path.write_text(
        "[[feed]]\n"
        'key = "local"\n'
        'name = "Local test blog"\n'
        f'feed_url = "{feed_url}"\n'
        f'site_url = "{feed_url.rsplit("/", 1)[0]}/"\n'
        'language = "en"\n'
        'color = "#336699"\n',
        encoding="utf-8",
    )
    return path
