"""Scale-out on PostgreSQL with real `techbrief run --roles ...` processes (DESIGN section 6).

    .venv/bin/python -m bench.scale [--feeds 1000] [--channels 2000] [--parser-processes 0,1]
                                    [--skip-ingest|--skip-fanout]

1. Cold ingest: N feeds (bench.ingest's generated ~100 KB documents, served from a separate
   process on 16 loopback addresses) polled by 1, then by 2 worker processes
   (``--roles worker``), each on a fresh database. Timed from the moment the feeds become due
   (both workers already up and idle) to the moment every feed was stored successfully. Run
   once per parser pool size: the default (one parser process per CPU in every worker) and
   one per worker. With the default one worker already has both cores' worth of parsers, so
   on 2 cores a second worker cannot double anything; the pool of 1 shows what a second
   process adds. Each run reports the CPU (in cores) the workers and their parsers used and
   how busy the whole machine was, so a ratio near 1 can be told apart as saturation.
2. Fan-out: C due channels planned and sent by 2 sender processes (``--roles sender``; one
   leads, one stands by) through the fake Discord enforcing 50 requests/s globally. Reported:
   requests/s over the sending window as a share of 50, the busiest 1-second window,
   duplicates and missing channels (one header message each), 429s. The busiest window is
   sliding and stamped when the fake handles a request; the fake shares this process's event
   loop, so a stall of it bunches requests the senders spaced (a cluster of 6 within 10 ms
   after a 127 ms gap made one 52): its fixed-window limit, like Discord's, decides the 429s.

Writes bench/results/scale.json. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bench.fanout import seed as seed_channels
from bench.ingest import _serve, host_for
from bench.pg import postgres_server
from bot.core.ingest.catalog import parse_catalog
from bot.storage.engine import create_engine, session_factory
from bot.storage.feeds_repo import FeedsRepository
from bot.storage.migrate import upgrade
from bot.storage.models import Feed, Story, Subscription
from tests.e2e.process import BotProcess, child_env, free_port
from tests.fakediscord import FakeDiscord
from tests.pgserver import PostgresServer

RESULTS = Path(__file__).with_name("results") / "scale.json"
TICK = os.sysconf("SC_CLK_TCK")
MESSAGES = "POST /channels/{channel_id}/messages"
LEADER = "this process is now the sender (leader)"
TARGETS = {"share_of_limit": 0.9}


def _token() -> str:
    # discord.py only checks the shape; the fake accepts any token it was given.
    return f"MTU3NDI1Njk1Njc0NTQ0OTQ3Mw.GxE2eT.{secrets.token_urlsafe(27)}"


def write_catalog(path: Path, feeds: int, port: int) -> Path:
    lines = []
    for i in range(feeds):
        url = f"http://{host_for(i)}:{port}/feed/{i}.xml"
        lines += [
            "[[feed]]",
            f'key = "b{i}"',
            f'name = "Blog {i}"',
            f'feed_url = "{url}"',
            f'site_url = "https://blog{i}.example.com/"',
            'language = "en"',
            'color = "#336699"',
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


async def _until(
    check: Callable[[], Any], what: str, timeout: float, procs: list[BotProcess], every: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        for proc in procs:
            if not proc.running:
                raise SystemExit(
                    f"a techbrief process exited before {what}:\n{proc.output[-3000:]}"
                )
        if time.monotonic() > deadline:
            tails = "\n---\n".join(p.output[-1500:] for p in procs)
            raise SystemExit(f"{what}: not within {timeout}s\n{tails}")
        await asyncio.sleep(every)


def _env(fake: FakeDiscord, db_url: str, catalog: Path, **extra: str) -> dict[str, str]:
    return child_env(
        {
            "DISCORD_TOKEN": fake.token,
            "DISCORD_API_BASE": fake.api_base,
            "DATABASE_URL": db_url,
            "TECHBRIEF_CATALOG__PATH": str(catalog),
            "TECHBRIEF_LOG__JSON": "1",
            "TECHBRIEF_HTTP__PORT": str(free_port()),
            **extra,
        }
    )


# -- CPU accounting (Linux /proc) -------------------------------------------------------------


def cpu_seconds(pid: int, *, descendants: bool = True) -> float:
    """User+system CPU seconds of a process and (by default) its live descendants (the
    parser workers of a worker, the backends of PostgreSQL)."""
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
            if descendants:
                for task in Path(f"/proc/{p}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited between the listing and the read
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far, in ticks of all cores."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    total = sum(ticks[:8])  # guest time is already in user
    return float(total - idle), float(total)


# -- 1. cold ingest by 1 and by 2 workers ---------------------------------------------------


async def cold_ingest(
    server: PostgresServer,
    fake: FakeDiscord,
    catalog: Path,
    feeds: int,
    workers: int,
    parser_processes: int,
    feed_server_pid: int,
) -> dict[str, Any]:
    name = f"ingest{workers}p{parser_processes}"
    server.createdb(name)
    db_url = server.url(name)
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    await upgrade(engine)
    # The catalog is in the database before any worker starts, not yet due: the clock starts
    # when every worker is up and idle, so process start-up is not part of the figure.
    entries = parse_catalog(await asyncio.to_thread(catalog.read_text), str(catalog))
    await FeedsRepository(sessions).sync_catalog(entries, datetime.now(UTC))
    async with sessions.begin() as s:
        later = datetime.now(UTC) + timedelta(days=1)
        await s.execute(update(Feed).values(next_check_at=later))
    procs = [
        BotProcess(
            _env(
                fake,
                db_url,
                catalog,
                TECHBRIEF_SCHEDULER__TICK_SECONDS="0.5",
                # Smaller leases than the default 500 spread a cycle over the workers.
                TECHBRIEF_SCHEDULER__FEEDS_PER_TICK="250",
                TECHBRIEF_FETCH__ALLOW_PRIVATE_NETWORKS="true",
                TECHBRIEF_FETCH__PARSER_PROCESSES=str(parser_processes),
            ),
            args=("run", "--roles", "worker"),
        )
        for _ in range(workers)
    ]

    async def stored() -> int:
        async with sessions() as s:
            done = select(func.count()).select_from(Feed).where(Feed.last_success_at.is_not(None))
            return int((await s.execute(done)).scalar() or 0)

    try:
        for proc in procs:
            await proc.start()
        await _until(
            lambda: all(p.find_log("catalog synced") for p in procs),
            "workers up",
            120,
            procs,
            0.1,
        )
        await asyncio.sleep(1)  # past the first (empty) cycle
        async with sessions.begin() as s:
            await s.execute(update(Feed).values(next_check_at=datetime.now(UTC)))
        started = time.perf_counter()
        postmaster = int((server.root / "data" / "postmaster.pid").read_text().split()[0])
        watched = {
            "workers": [p.pid for p in procs],
            "postgres": [postmaster],
            "feed_server": [feed_server_pid],
        }

        def used() -> dict[str, float]:
            spent = {k: sum(cpu_seconds(p) for p in pids) for k, pids in watched.items()}
            # Its children are the workers and the feed server, counted above.
            spent["bench_and_fake_discord"] = cpu_seconds(os.getpid(), descendants=False)
            return spent

        cpu_before = used()
        busy_before, total_before = machine_busy()

        async def all_stored() -> bool:
            return await stored() >= feeds

        await _until(all_stored, f"{feeds} feeds stored", 900, procs, 0.1)
        took = time.perf_counter() - started
        cpu = {k: v - cpu_before[k] for k, v in used().items()}
        busy_after, total_after = machine_busy()
        async with sessions() as s:
            stories = int((await s.execute(select(func.count()).select_from(Story))).scalar() or 0)
            leased = select(Feed.lease_owner, func.count()).group_by(Feed.lease_owner)
            owners = list(await s.execute(leased))
        for proc in procs:
            await proc.stop()
    finally:
        for proc in procs:
            await proc.kill()
        await engine.dispose()
    cores = os.cpu_count() or 1
    return {
        "workers": workers,
        "parser_processes": parser_processes or cores,
        "feeds": feeds,
        "stories": stories,
        "cold_s": round(took, 2),
        "feeds_per_s": round(feeds / took, 1),
        "lease_owners_left": len([o for o, _ in owners if o]),
        # CPU used over the window, in cores: the workers (with their parser pools), the
        # PostgreSQL server, the feed server and this process; the machine's busy share
        # (of all its cores) also holds whatever else runs on it.
        "cpu_cores": {k: round(v / took, 2) for k, v in cpu.items()},
        "machine_busy_share": round((busy_after - busy_before) / (total_after - total_before), 2),
    }


# -- 2. fan-out by 2 senders ------------------------------------------------------------------


async def fanout(server: PostgresServer, catalog: Path, channels: int) -> dict[str, Any]:
    server.createdb("fanout")
    db_url = server.url("fanout")
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    await upgrade(engine)
    fake = FakeDiscord(token=_token(), global_limit=50, validate_openapi=False)
    chans = [fake.guild.add_channel(f"brief-{n}").id for n in range(channels)]
    await fake.start()
    now = datetime.now(UTC)
    await seed_channels(sessions, fake.guild.id, chans, now)
    async with sessions.begin() as s:  # not yet due: both senders come up first
        await s.execute(update(Subscription).values(next_brief_at=now + timedelta(days=1)))
    procs = [
        BotProcess(
            _env(
                fake,
                db_url,
                catalog,
                TECHBRIEF_SCHEDULER__TICK_SECONDS="1",
                TECHBRIEF_DISCORD__SEND_WORKERS="32",
                # No worker runs in this phase to summarise the seeded stories.
                TECHBRIEF_BRIEF__SUMMARY_WAIT_SECONDS="0",
            ),
            args=("run", "--roles", "sender"),
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            await proc.start()
        await _until(lambda: any(p.find_log(LEADER) for p in procs), "a leader", 120, procs, 0.1)
        before = len(fake.requests)
        async with sessions.begin() as s:
            await s.execute(
                update(Subscription).values(next_brief_at=datetime.now(UTC) - timedelta(minutes=1))
            )
        due_at = time.monotonic()

        wanted = set(chans)

        def headers() -> int:
            # One pass over the fake's messages: this runs on the fake Discord's own event
            # loop, and asking per channel (fake.messages scans them all) blocked it for
            # seconds at 2,000 channels, so requests queued and reached the fake's global
            # limit together (the 429s of the first run were that, not the senders).
            live = fake.world.messages.values()
            return len({m.channel_id for m in live if not m.deleted} & wanted)

        def quiet() -> bool:
            # Every channel has its header and nothing was asked of Discord for 3 s.
            last = fake.requests[-1].at if len(fake.requests) > before else due_at
            return headers() >= channels and time.monotonic() - last > 3

        await _until(quiet, "every channel sent", 60 + channels * 0.2, procs, 0.5)
        leaders = sum(1 for p in procs if p.find_log(LEADER))
        for proc in procs:
            await proc.stop()
    finally:
        for proc in procs:
            await proc.kill()
        await engine.dispose()
    sent = [r for r in fake.requests[before:] if r.channel_id is not None]
    first, last = sent[0].at, sent[-1].at
    window = last - first
    busiest = 0
    j = 0
    for i, req in enumerate(sent):
        while req.at - sent[j].at >= 1.0:
            j += 1
        busiest = max(busiest, i - j + 1)
    per_channel = dict.fromkeys(chans, 0)
    for req in fake.sent(MESSAGES):
        if req.channel_id in per_channel and req.status < 300 and not req.deduplicated:
            per_channel[req.channel_id] += 1
    achieved = (len(sent) - 1) / window if window > 0 else 0.0
    result = {
        "channels": channels,
        "senders": 2,
        "leaders_seen": leaders,
        "limit_rps": 50,
        "requests": len(sent),
        "first_request_after_due_s": round(first - due_at, 2),
        "send_s": round(window, 2),
        "achieved_rps": round(achieved, 2),
        "share_of_limit": round(achieved / 50, 3),
        "busiest_1s_window": busiest,
        "http_429": fake.ratelimits.count_429,
        # Header messages per channel: a brief is one header (its stories go in a thread).
        "duplicates": sum(1 for n in per_channel.values() if n > 1),
        "missing": sum(1 for n in per_channel.values() if n == 0),
    }
    await fake.stop()
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "backend": "postgresql",
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    tmp = Path(tempfile.mkdtemp(prefix="techbrief-scale-"))
    with postgres_server() as server:
        if not args.skip_ingest:
            ctx = multiprocessing.get_context("spawn")
            ready, stop = ctx.Queue(), ctx.Event()
            feed_server = ctx.Process(
                target=_serve, args=(args.feeds, args.entries, args.size_kb, ready, stop)
            )
            feed_server.start()
            fake = FakeDiscord(token=_token(), validate_openapi=False)
            try:
                port = ready.get(timeout=300)
                catalog = write_catalog(tmp / "feeds.toml", args.feeds, port)
                await fake.start()
                for pool in args.parser_processes:
                    runs = []
                    for workers in (1, 2):
                        one = await cold_ingest(
                            server, fake, catalog, args.feeds, workers, pool, feed_server.pid or 0
                        )
                        print(f"cold ingest, {workers} worker(s), pool {pool}: {one}", flush=True)
                        runs.append(one)
                    key = f"parser_processes_{pool or 'default'}"
                    result.setdefault("ingest", {})[key] = {
                        "one_worker": runs[0],
                        "two_workers": runs[1],
                        "speedup_2_over_1": round(runs[0]["cold_s"] / runs[1]["cold_s"], 2),
                        "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
                    }
            finally:
                await fake.stop()
                stop.set()
                feed_server.join(10)
        if not args.skip_fanout:
            catalog = write_catalog(tmp / "one.toml", 1, 9)  # never due: no fetching here
            result["fanout"] = await fanout(server, catalog, args.channels)
            print(f"fan-out, 2 senders: {result['fanout']}", flush=True)
    f = result.get("fanout")
    if f:
        result["targets_met"] = {
            "fanout_share_of_limit": f["share_of_limit"] >= TARGETS["share_of_limit"],
            "fanout_exactly_once": not f["duplicates"] and not f["missing"],
            "fanout_no_429": f["http_429"] == 0,
        }
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--size-kb", type=int, default=100)
    parser.add_argument("--channels", type=int, default=2000)
    parser.add_argument(
        "--parser-processes",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[0, 1],
        help="parser pool sizes per worker to compare, 0 = one per CPU (the default setting)",
    )
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
