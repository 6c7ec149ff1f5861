"""Idle memory of one all-roles `techbrief run` holding a big archive (DESIGN section 8).

    .venv/bin/python -m bench.memory [--stories 1000000] [--feeds 10000] [--idle 30]

Seeds a migrated SQLite file directly with SQL (feeds as OPML imports, not due for a day, so
the idle process fetches nothing; one story key per story; the search index built once after
the load, as a real archive has it), starts `techbrief run` (all roles) against the fake
Discord, waits until it is up (gateway READY, catalog synced), then samples its RSS once a
second while it idles. Reported: RSS at the end of the idle window and its maximum, the
process's peak RSS since start (VmHWM, start-up included), the parser workers' RSS
separately (they are child processes), and the PSS of the whole tree. Target: RSS <= 150 MB.
Writes bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.scale import write_catalog
from bot.storage.engine import create_engine
from bot.storage.migrate import upgrade
from tests.e2e.process import BotProcess, child_env, free_port
from tests.fakediscord import FakeDiscord

RESULTS = Path(__file__).with_name("results") / "memory.json"
TARGET_MB = 150.0
FMT = "%Y-%m-%d %H:%M:%S.%f"
BATCH = 50_000
WORDS = (  # noqa: SIM905
    "kubernetes postgres kafka latency throughput cache replication sharding consensus raft "
    "pipeline streaming batch warehouse inference training gpu ranking search index query "
    "compiler runtime memory profiling benchmark deployment canary rollout monorepo service "
    "observability tracing metrics incident outage failover autoscaling scheduler network"
).split()


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _pss_kb(pid: int) -> int:
    """Proportional set size: shared pages split between the processes sharing them, so the
    main process and its forked parser workers add up without counting shared pages twice."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(c) for c in text)
    return found


def seed(path: Path, stories: int, feeds: int, guild: int, channels: list[int]) -> None:
    """Feeds, stories and keys with executemany, the FTS trigger off during the load."""
    now = datetime.now(UTC).replace(tzinfo=None)
    later = (now + timedelta(days=1)).strftime(FMT)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")  # a benchmark load; the app keeps NORMAL
    trigger = db.execute(
        "SELECT sql FROM sqlite_master WHERE type='trigger' AND name='stories_fts_ai'"
    ).fetchone()[0]
    db.execute("DROP TRIGGER stories_fts_ai")
    stamp = now.strftime(FMT)
    with db:
        db.executemany(
            "INSERT INTO feeds (id, key, url, title, origin, active, created_at, next_check_at,"
            " error_count, gone, unusable_key_kinds)"
            " VALUES (?, ?, ?, ?, 'opml', 1, ?, ?, 0, 0, '')",
            [
                (i, f"f{i}", f"https://feed{i}.example/rss", f"Feed {i}", stamp, later)
                for i in range(1, feeds + 1)
            ],
        )
        db.execute(
            "INSERT INTO guilds (id, name, joined_at) VALUES (?, 'bench', ?)", (guild, stamp)
        )
        db.executemany(
            "INSERT INTO subscriptions (guild_id, channel_id, mode, timezone, brief_time, every,"
            " watermark, next_brief_at, all_sources, created_at, updated_at)"
            " VALUES (?, ?, 'brief', 'UTC', '09:00', 'daily', ?, ?, 1, ?, ?)",
            [(guild, c, stories, later, stamp, stamp) for c in channels],
        )
    rng = random.Random(7)
    start = now - timedelta(days=5 * 365)
    step = (now - start) / max(1, stories)
    insert = (
        "INSERT INTO stories (id, feed_id, canonical_url, url, title, summary, content_text,"
        " author, language, published_at, first_seen_at, updated_at, content_hash, backfill,"
        " search_title, search_body) VALUES (?, ?, ?, ?, ?, ?, '', ?, 'en', ?, ?, ?, ?, 0, ?, ?)"
    )
    for first in range(1, stories + 1, BATCH):
        rows, keys = [], []
        for sid in range(first, min(first + BATCH, stories + 1)):
            when = (start + step * sid).strftime(FMT)
            title = " ".join(rng.choices(WORDS, k=7)).capitalize()
            summary = " ".join(rng.choices(WORDS, k=30))
            url = f"https://blog.example/{sid}"
            feed = 1 + sid % feeds
            rows.append(
                (sid, feed, url, url, title, summary, f"Author {sid % 997}", when, when, when,
                 f"{sid:064x}", title.lower(), summary)
            )  # fmt: skip
            keys.append((feed, url, sid, when))
        with db:
            db.executemany(insert, rows)
            db.executemany(
                "INSERT INTO story_keys (feed_id, key, story_id, first_seen_at)"
                " VALUES (?, ?, ?, ?)",
                keys,
            )
    with db:
        db.execute("INSERT INTO stories_fts(stories_fts) VALUES ('rebuild')")
        db.execute(trigger)
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="techbrief-memory-"))
    path = tmp / "memory.db"
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    fake = FakeDiscord(token=f"MTU3NDI1Njk1Njc0NTQ0OTQ3Mw.GxE2eT.{secrets.token_urlsafe(27)}")
    channels = [fake.guild.add_channel(f"brief-{c}").id for c in range(args.channels)]
    t0 = time.perf_counter()
    await asyncio.to_thread(seed, path, args.stories, args.feeds, fake.guild.id, channels)
    seed_s = time.perf_counter() - t0
    print(f"seeded {args.stories} stories, {args.feeds} feeds in {seed_s:.0f}s", flush=True)
    await fake.start()
    env = child_env(
        {
            "DISCORD_TOKEN": fake.token,
            "DISCORD_API_BASE": fake.api_base,
            "DATABASE_URL": url,
            "TECHBRIEF_CATALOG__PATH": str(write_catalog(tmp / "feeds.toml", 1, 9)),
            "TECHBRIEF_LOG__JSON": "1",
            "TECHBRIEF_HTTP__PORT": str(free_port()),
            "TECHBRIEF_SCHEDULER__TICK_SECONDS": "5",
        }
    )
    proc = BotProcess(env)
    samples: list[float] = []
    try:
        started = time.monotonic()
        await proc.start()
        await proc.wait_for(
            lambda: fake.recorder.gateway.connections > 0 and bool(proc.find_log("catalog synced")),
            "gateway connected and catalog synced",
            timeout=180,
        )
        up_s = time.monotonic() - started
        for _ in range(args.idle):
            await asyncio.sleep(1)
            samples.append(_status_kb(proc.pid, "VmRSS") / 1024)
        peak = _status_kb(proc.pid, "VmHWM") / 1024
        kids = _children(proc.pid)
        children = [_status_kb(c, "VmRSS") / 1024 for c in kids]
        pss_total = sum(_pss_kb(p) for p in [proc.pid, *kids]) / 1024
        assert proc.running, proc.output[-3000:]
        await proc.stop()
    finally:
        await proc.kill()
        await fake.stop()
    rss = samples[-1]
    return {
        "stories": args.stories,
        "feeds": args.feeds,
        "channels": args.channels,
        "backend": "sqlite",
        "db_mb": round(path.stat().st_size / 2**20, 1),
        "seed_s": round(seed_s, 1),
        "startup_s": round(up_s, 1),
        "idle_s": args.idle,
        "rss_mb": round(rss, 1),
        "rss_idle_max_mb": round(max(samples), 1),
        "peak_rss_since_start_mb": round(peak, 1),
        "child_processes_rss_mb": [round(c, 1) for c in children],
        # The whole process tree without double-counted shared pages (the target is the
        # main process's RSS; this says what the tree costs the machine).
        "pss_with_children_mb": round(pss_total, 1),
        "target_rss_mb": TARGET_MB,
        "target_met": rss <= TARGET_MB,
        "python": sys.version.split()[0],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=1_000_000)
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--idle", type=int, default=30, help="seconds of idling sampled")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:26} {value}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
