"""Search benchmark: full-text index vs a LIKE scan, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.search                   # 1,000,000 stories (the target)
    .venv/bin/python -m bench.search --stories 100000  # a quick run

Generates stories from a Zipf-distributed vocabulary (common English, real engineering terms,
a long tail of rare words, and about 5% Korean or Japanese stories), loads them with batched
inserts (SQLite executemany, PostgreSQL COPY) into a database migrated to head, builds the index
in one go (the timed ``index_build_s``), then times 200 mixed queries through SearchService
(parse + rank + fetch + snippets: what a user waits for) and, for comparison, the same kind of
query as a LIKE scan straight on the driver. Writes bench/results/search.json.

Every story is linked to its feed in ``story_keys`` (what makes it visible: search only returns
stories of feeds the asking server may see). Most feeds are shared (catalog/OPML); every tenth
is a custom feed of one of three servers. Queries are asked as those servers in turn
(``guild_id=``), as real traffic is, and the LIKE baseline applies the same visibility rule.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bot.core.search import ParsedQuery, parse_query, searchable_text
from bot.core.search.service import SearchService
from bot.storage.engine import create_engine, session_factory
from bot.storage.feed_links import SHARED
from bot.storage.migrate import SEARCH_INDEXES, upgrade
from tests.pgserver import PostgresServer, find_pg_bin

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
RESULTS = Path(__file__).with_name("results") / "search.json"
FEEDS = 500
BATCH = 20_000
# The servers asking; every CUSTOM_EVERY-th feed is a custom feed of one of them (10%).
GUILDS = (1_000_000_000_000_000_001, 1_000_000_000_000_000_002, 1_000_000_000_000_000_003)
CUSTOM_EVERY = 10


def _words(text: str) -> list[str]:
    return text.split()


COMMON = _words(
    "the of and to in a is that for it as with was on be by this are we at from or an have "
    "not but which you all can one has more their also when there how what new about our "
    "they use its into other these time first some than just like only make because many "
    "each used way while then most now well even where work after over both through before "
    "any same data system team service user code build run test change need first every "
    "without between number problem better small large part across real good"
)
TECH = _words(
    "kubernetes postgres postgresql mysql redis kafka spark flink hadoop airflow dbt "
    "snowflake bigquery clickhouse cassandra dynamodb elasticsearch opensearch lucene rust "
    "golang python java kotlin scala swift typescript javascript react graphql grpc rest api "
    "latency throughput availability reliability observability tracing logging metrics "
    "prometheus grafana opentelemetry incident postmortem outage failover replication "
    "sharding partitioning consensus raft paxos quorum caching cdn edge serverless lambda "
    "container docker helm terraform ansible autoscaling scheduler orchestration pipeline "
    "streaming batch etl warehouse lakehouse iceberg parquet arrow vector embedding llm "
    "transformer inference training gpu cuda tensor pytorch tensorflow recommendation ranking "
    "search index query optimizer planner compiler runtime garbage collector memory leak "
    "profiling flamegraph benchmark regression canary rollout deployment ci cd monorepo "
    "microservices monolith migration refactoring architecture design pattern abstraction "
    "encryption tls certificate authentication authorization oauth saml zero trust "
    "vulnerability security privacy compliance gdpr audit fraud detection anomaly forecasting "
    "experimentation ab testing causal inference bandit personalization feed notification "
    "mobile android ios frontend backend database storage filesystem ssd disk network tcp "
    "quic http dns load balancer proxy envoy istio mesh sidecar ebpf kernel linux "
    "virtualization firecracker wasm webassembly cost efficiency capacity planning "
    "sustainability carbon energy accessibility localization internationalization"
)
KOREAN = _words(
    "쿠버네티스 비용 최적화 분산 시스템 데이터 검색 배포 모니터링 성능 개선 장애 대응 "
    "플랫폼 서비스 개발 추천 모델 학습 파이프라인 클러스터 네트워크 보안 인증 로그 지표"
)
KOREAN_PARTICLES = ("", "", "을", "를", "의", "에서", "과", "은", "는", "이")
JAPANESE = _words(
    "分散 システム 設計 データ 検索 機械学習 推薦 基盤 運用 改善 障害 対応 開発 "
    "品質 性能 監視 認証 配信 移行 自動化 効率 分析 基盤刷新 可観測性"
)
JAPANESE_PARTICLES = ("の", "を", "に", "は", "と", "で", "")


@dataclass(frozen=True)
class Vocabulary:
    words: list[str]
    cum_weights: list[float]

    @classmethod
    def build(cls, rng: random.Random, size: int = 30_000) -> Vocabulary:
        syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]
        tail: set[str] = set()
        while len(tail) < size - len(COMMON) - len(TECH):
            word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
            if word not in COMMON and word not in TECH:
                tail.add(word)
        words = [*COMMON, *TECH, *sorted(tail)]
        total, cum = 0.0, []
        for rank in range(len(words)):
            total += 1.0 / (rank + 8) ** 1.05  # Zipf: a few very common words, a long tail
            cum.append(total)
        return cls(words=words, cum_weights=cum)

    def text(self, rng: random.Random, n: int) -> str:
        return " ".join(rng.choices(self.words, cum_weights=self.cum_weights, k=n))


def cjk_text(rng: random.Random, n: int, language: str) -> str:
    if language == "ko":
        return " ".join(rng.choice(KOREAN) + rng.choice(KOREAN_PARTICLES) for _ in range(n))
    return "".join(rng.choice(JAPANESE) + rng.choice(JAPANESE_PARTICLES) for _ in range(n))


Row = tuple[Any, ...]
COLUMNS = _words(
    "id feed_id canonical_url url title summary content_text author language "
    "published_at first_seen_at updated_at content_hash search_title search_body"
)
KEY_COLUMNS = _words("feed_id key story_id first_seen_at")


def story_keys(batch: list[Row]) -> list[Row]:
    """One ``story_keys`` row per story: its own feed, keyed by its canonical URL."""
    return [(r[1], r[2], r[0], r[10]) for r in batch]


def generate(vocab: Vocabulary, stories: int, seed: int) -> Iterator[list[Row]]:
    """Deterministic batches of story rows (same seed, same stories on both backends)."""
    # Stories arrive roughly in publish order over five years (ids are arrival order),
    # with a few days of jitter, as a feed reader's archive does.
    start = NOW - timedelta(days=5 * 365)
    span = (NOW - start).total_seconds() - 3 * 86400
    for first in range(1, stories + 1, BATCH):
        rng = random.Random(seed * 1_000_003 + first)
        batch: list[Row] = []
        for story_id in range(first, min(first + BATCH, stories + 1)):
            if rng.random() < 0.05:
                language = rng.choice(("ko", "ja"))
                title, summary = cjk_text(rng, 4, language), cjk_text(rng, 14, language)
                # Korean and Japanese posts quote English terms too.
                content = cjk_text(rng, 40, language) + " " + vocab.text(rng, 20)
            else:
                title, summary = vocab.text(rng, rng.randint(5, 10)), vocab.text(rng, 30)
                content, language = vocab.text(rng, rng.randint(70, 130)), "en"
            offset = span * story_id / stories + rng.uniform(0, 3 * 86400)
            published = start + timedelta(seconds=offset)
            batch.append(
                (
                    story_id,
                    rng.randint(1, FEEDS),
                    f"https://blog.example/{story_id}",
                    f"https://blog.example/{story_id}?utm_source=rss",
                    title.capitalize(),
                    summary,
                    content,
                    f"Author {rng.randint(1, 2000)}",
                    language,
                    published,
                    published,
                    published,
                    f"{story_id:064x}",
                    searchable_text(title),
                    searchable_text(summary + "\n" + content),
                )
            )
        yield batch


def make_queries(vocab: Vocabulary, n: int, seed: int) -> list[str]:
    """A mix like people type: mostly one or two technical words, some phrases, filters."""
    rng = random.Random(seed)
    tech = TECH
    tail = vocab.words[len(COMMON) + len(TECH) : len(COMMON) + len(TECH) + 3000]
    out: list[str] = []
    for i in range(n):
        kind = i % 10
        if kind in (0, 1, 2):
            q = rng.choice(tech)
        elif kind in (3, 4):
            q = f"{rng.choice(tech)} {rng.choice(tech)}"
        elif kind == 5:
            q = f'"{rng.choice(COMMON[20:])} {rng.choice(tech)}"'
        elif kind == 6:
            q = f"{rng.choice(tech)} source:feed{rng.randint(1, FEEDS)}"
        elif kind == 7:
            q = f"{rng.choice(tech)} after:{rng.choice(['30d', '3m', '1y'])} -{rng.choice(tech)}"
        elif kind == 8:
            q = rng.choice(KOREAN + JAPANESE)
        else:
            q = f"{rng.choice(tail)} {rng.choice(tech)}" if rng.random() < 0.5 else rng.choice(tail)
        out.append(q)
    return out


# --- LIKE baseline ---------------------------------------------------------------------------


def like_sql(parsed: ParsedQuery, dialect: str, guild_id: int) -> tuple[str, list[Any]]:
    """The same search without an index: every word a substring of title, summary or text,
    visible to ``guild_id`` by the same rule as the real search."""
    shared = ", ".join("?" * len(SHARED))
    where: list[str] = [
        "EXISTS (SELECT 1 FROM story_keys AS k WHERE k.story_id = stories.id AND k.feed_id IN "
        f"(SELECT f.id FROM feeds AS f WHERE f.origin IN ({shared}) "
        "OR f.id IN (SELECT fl.feed_id FROM feed_links AS fl WHERE fl.guild_id = ?)))"
    ]
    params: list[Any] = [*SHARED, guild_id]
    for term in parsed.terms:
        needle = f"%{term.text.lower().strip(chr(34))}%"
        where.append("(lower(title) LIKE ? OR lower(summary) LIKE ? OR lower(content_text) LIKE ?)")
        params += [needle] * 3
    for term in parsed.excluded:
        needle = f"%{term.text.lower()}%"
        where.append(
            "NOT (lower(title) LIKE ? OR lower(summary) LIKE ? OR lower(content_text) LIKE ?)"
        )
        params += [needle] * 3
    if parsed.sources:
        where.append("feed_id IN (SELECT id FROM feeds WHERE key = ?)")
        params.append(parsed.sources[0])
    if parsed.after:
        where.append("published_at >= ?")
        params.append(parsed.after.replace(tzinfo=None) if dialect == "sqlite" else parsed.after)
    # Ranked like the real search (title matches first, then newest), which is what makes
    # a LIKE search read every row: the newest 5 alone could stop early.
    title = f"%{parsed.terms[0].text.lower()}%" if parsed.terms else "%"
    sql = (
        f"SELECT id FROM stories WHERE {' AND '.join(where) or '1=1'} "
        "ORDER BY (lower(title) LIKE ?) DESC, published_at DESC, id DESC LIMIT 5"
    )
    params.append(title)
    if dialect == "postgresql":
        for i in range(1, len(params) + 1):
            sql = sql.replace("?", f"${i}", 1)
    return sql, params


# --- measuring -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def asker(i: int) -> int:
    """The server asking the i-th query: the three take turns."""
    return GUILDS[i % len(GUILDS)]


async def time_service(
    url: str, queries: list[str], warmup: list[str]
) -> tuple[list[float], list[int]]:
    """Milliseconds per query, one after another, after a warm-up with other queries, each
    asked as a server; and how many hits each returned (all zero means a broken setup)."""
    engine = create_engine(url)
    service = SearchService(session_factory(engine), clock=lambda: NOW)
    try:
        for i, q in enumerate(warmup):
            await service.search(q, guild_id=asker(i))
        times, hits = [], []
        for i, q in enumerate(queries):
            t0 = time.perf_counter()
            page = await service.search(q, guild_id=asker(i))
            times.append((time.perf_counter() - t0) * 1000)
            hits.append(len(page.hits))
        return times, hits
    finally:
        await engine.dispose()


def feed_rows() -> list[Row]:
    """Shared feeds (catalog, some OPML) and, every CUSTOM_EVERY-th, a server's custom feed."""
    rows: list[Row] = []
    for i in range(1, FEEDS + 1):
        custom = i % CUSTOM_EVERY == 0
        origin = "custom" if custom else (SHARED[1] if i % 7 == 0 else SHARED[0])  # some OPML
        guild = GUILDS[(i // CUSTOM_EVERY) % len(GUILDS)] if custom else None
        rows.append(
            (
                i,
                f"feed{i}",
                f"https://feed{i}.example/rss",
                f"Feed {i}",
                origin,
                guild,
                True,
                NOW,
                NOW,
                0,
                False,
            )
        )
    return rows


def link_rows() -> list[Row]:
    """The custom feeds' followers (feed_links): each custom feed's own server."""
    return [(r[0], r[5], NOW) for r in feed_rows() if r[5] is not None]


LINK_COLUMNS = _words("feed_id guild_id created_at")
FEED_COLUMNS = _words(
    "id key url title origin added_by_guild_id active created_at next_check_at error_count gone"
)


# --- SQLite ----------------------------------------------------------------------------------


async def bench_sqlite(
    workdir: Path,
    vocab: Vocabulary,
    args: argparse.Namespace,
    queries: list[str],
    warmup: list[str],
) -> dict[str, Any]:
    path = workdir / "search-bench.db"
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()

    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")  # a benchmark load; the app keeps NORMAL
    # Load without the per-row trigger and build the index once afterwards (timed).
    trigger_sql = db.execute(
        "SELECT sql FROM sqlite_master WHERE type='trigger' AND name='stories_fts_ai'"
    ).fetchone()[0]
    db.execute("DROP TRIGGER stories_fts_ai")
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    with db:
        marks = ", ".join("?" * len(FEED_COLUMNS))
        db.executemany(
            f"INSERT INTO feeds ({', '.join(FEED_COLUMNS)}) VALUES ({marks})",
            [
                tuple(v.strftime(fmt) if isinstance(v, datetime) else v for v in r)
                for r in feed_rows()
            ],
        )
        db.executemany(
            "INSERT INTO feed_links (feed_id, guild_id, created_at) VALUES (?, ?, ?)",
            [(f, g, when.strftime(fmt)) for f, g, when in link_rows()],
        )
    t0 = time.perf_counter()
    insert = f"INSERT INTO stories ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    insert_keys = (
        f"INSERT INTO story_keys ({', '.join(KEY_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(KEY_COLUMNS))})"
    )
    for batch in generate(vocab, args.stories, args.seed):
        rows = [
            tuple(
                v.astimezone(UTC).replace(tzinfo=None).strftime(fmt)
                if isinstance(v, datetime)
                else v
                for v in r
            )
            for r in batch
        ]
        with db:
            db.executemany(insert, rows)
            db.executemany(insert_keys, story_keys(rows))
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with db:
        db.execute("INSERT INTO stories_fts(stories_fts) VALUES ('rebuild')")
        db.execute(trigger_sql)
    build_s = time.perf_counter() - t0
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    fts_bytes = db.execute(
        "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'stories_fts%'"
    ).fetchone()[0]
    size_mb = path.stat().st_size / 2**20

    times, hits = await time_service(url, queries, warmup)
    like_times = []
    for i, q in enumerate(queries[: args.like_queries]):
        sql, params = like_sql(parse_query(q, now=NOW), "sqlite", asker(i))
        t0 = time.perf_counter()
        db.execute(sql, params).fetchall()
        like_times.append((time.perf_counter() - t0) * 1000)
    db.close()
    return summarize(queries, times, hits, like_times, load_s, build_s, size_mb, fts_bytes / 2**20)


# --- PostgreSQL ------------------------------------------------------------------------------


async def bench_postgres(
    vocab: Vocabulary, args: argparse.Namespace, queries: list[str], warmup: list[str]
) -> dict[str, Any]:
    bindir = find_pg_bin()
    if bindir is None:
        raise SystemExit("PostgreSQL binaries not found (install postgresql)")
    server = PostgresServer(bindir)
    server.start()
    try:
        await tune_postgres(server, bindir)
        server.createdb("bench")
        url = server.url("bench")
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
        conn = await asyncpg.connect(
            host="127.0.0.1", port=server.port, user="postgres", database="bench"
        )
        # Big match sets must not turn the bitmap lossy (a lossy page rechecks every tsvector).
        await conn.execute("ALTER DATABASE bench SET work_mem = '64MB'")
        await conn.execute("SET maintenance_work_mem = '1GB'")
        # The search indexes (words, phrase pairs) are built once after loading, timed.
        index_sqls = [
            r[0]
            for r in await conn.fetch(
                "SELECT indexdef FROM pg_indexes WHERE indexname = ANY($1::text[])",
                sorted(SEARCH_INDEXES),
            )
        ]
        for name in SEARCH_INDEXES:
            await conn.execute(f"DROP INDEX {name}")
        await conn.copy_records_to_table("feeds", records=feed_rows(), columns=FEED_COLUMNS)
        await conn.copy_records_to_table("feed_links", records=link_rows(), columns=LINK_COLUMNS)
        t0 = time.perf_counter()
        for batch in generate(vocab, args.stories, args.seed):
            await conn.copy_records_to_table("stories", records=batch, columns=COLUMNS)
            await conn.copy_records_to_table(
                "story_keys", records=story_keys(batch), columns=KEY_COLUMNS
            )
        load_s = time.perf_counter() - t0  # includes computing the generated columns
        t0 = time.perf_counter()
        for index_sql in index_sqls:
            await conn.execute(index_sql)
        build_s = time.perf_counter() - t0
        await conn.execute("VACUUM ANALYZE stories")
        await conn.execute("VACUUM ANALYZE story_keys")
        await conn.execute("VACUUM ANALYZE feeds")
        size_mb = await conn.fetchval("SELECT pg_database_size('bench')") / 2**20
        index_mb = (
            await conn.fetchval(
                "SELECT sum(pg_relation_size(c.oid))::bigint FROM pg_class AS c "
                "WHERE c.relname = ANY($1::text[])",
                sorted(SEARCH_INDEXES),
            )
            / 2**20
        )

        await prewarm(conn)
        times, hits = await time_service(url, queries, warmup)
        like_times = []
        for i, q in enumerate(queries[: args.like_queries]):
            sql, params = like_sql(parse_query(q, now=NOW), "postgresql", asker(i))
            t0 = time.perf_counter()
            await conn.fetch(sql, *params)
            like_times.append((time.perf_counter() - t0) * 1000)
        await conn.close()
        return summarize(queries, times, hits, like_times, load_s, build_s, size_mb, index_mb)
    finally:
        server.stop()


def query_kind(query: str) -> str:
    if "source:" in query:
        return "word+source"
    if "after:" in query:
        return "word+date+exclusion"
    if query.startswith('"'):
        return "phrase"
    if not query.isascii():
        return "cjk"
    return "two words" if " " in query else "one word"


async def tune_postgres(server: PostgresServer, bindir: Path) -> None:
    """Production-like memory: the test server's 128 MB shared_buffers would measure the
    kernel's page cache instead. A quarter of the machine's memory (at most 8 GB) and the
    rest as cache, the usual advice and what a 1M-story deployment would set."""
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres")
    try:
        await conn.execute(f"ALTER SYSTEM SET shared_buffers = '{min(memory_mb // 4, 8192)}MB'")
        await conn.execute(f"ALTER SYSTEM SET effective_cache_size = '{memory_mb * 3 // 4}MB'")
    finally:
        await conn.close()
    await asyncio.to_thread(restart_postgres, server, bindir)


async def prewarm(conn: asyncpg.Connection) -> None:
    """Load stories, story_keys and feeds, with their indexes and TOAST, into shared_buffers
    (pg_prewarm, shipped with PostgreSQL): a running bot's server holds what search reads in
    memory, not what was cold-read or evicted while the indexes were built minutes before.
    In the order of least to most important, as later loads may evict earlier ones."""
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    await conn.fetch("""
        WITH t AS (SELECT oid, reltoastrelid FROM pg_class
                   WHERE relname IN ('feeds', 'story_keys', 'stories')),
        r AS (SELECT oid FROM t UNION ALL SELECT reltoastrelid FROM t WHERE reltoastrelid <> 0)
        SELECT pg_prewarm(rel) FROM (
            SELECT i.indexrelid AS rel, 1 AS o FROM pg_index AS i JOIN r ON i.indrelid = r.oid
            UNION ALL SELECT oid, 0 FROM r
        ) AS everything ORDER BY o
    """)


def restart_postgres(server: PostgresServer, bindir: Path) -> None:
    data = str(server.root / "data")
    log = str(server.root / "server.log")  # else the postmaster holds our pipes open
    command = server._cmd(
        str(bindir / "pg_ctl"), "-D", data, "-l", log, "-m", "fast", "-w", "restart"
    )
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise SystemExit(f"pg_ctl restart failed: {run.stderr}")


def summarize(
    queries: list[str],
    times: list[float],
    hits: list[int],
    like_times: list[float],
    load_s: float,
    build_s: float,
    size_mb: float,
    index_mb: float,
) -> dict[str, Any]:
    p95 = percentile(times, 95)
    like_p95 = percentile(like_times, 95)
    if not any(hits):
        # Every search came back empty: the stories are not visible (no story_keys?), and
        # the timings would measure nothing.
        raise SystemExit("no query found anything: the benchmark data is not searchable")
    return {
        "queries_with_hits": sum(1 for n in hits if n),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(p95, 2),
        "p99_ms": round(percentile(times, 99), 2),
        "max_ms": round(max(times), 2),
        "like_p50_ms": round(statistics.median(like_times), 1),
        "like_p95_ms": round(like_p95, 1),
        "like_queries": len(like_times),
        "speedup": round(like_p95 / p95, 1),
        "load_s": round(load_s, 1),
        "index_build_s": round(build_s, 1),
        "db_size_mb": round(size_mb, 1),
        "index_size_mb": round(index_mb, 1),
        "by_kind_p95_ms": {
            kind: round(
                percentile(
                    [t for t, q in zip(times, queries, strict=True) if query_kind(q) == kind], 95
                ),
                1,
            )
            for kind in sorted({query_kind(q) for q in queries})
        },
        "slowest": [
            [q, round(t, 1)] for t, q in sorted(zip(times, queries, strict=True), reverse=True)[:5]
        ],
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    vocab = Vocabulary.build(random.Random(args.seed))
    queries = make_queries(vocab, args.queries, args.seed + 1)
    warmup = make_queries(vocab, 30, args.seed + 2)
    result: dict[str, Any] = {
        "stories": args.stories,
        "queries": len(queries),
        "measured": "SearchService.search end to end (limit 5, with snippets); LIKE on the driver",
        "cpus": os.cpu_count(),
        "audience": (
            f"guild_id= one of {len(GUILDS)} servers in turn; "
            f"{FEEDS // CUSTOM_EVERY} of {FEEDS} feeds are custom (split among them)"
        ),
    }
    workdir = Path(tempfile.mkdtemp(prefix="techbrief-bench-", dir=args.workdir))
    if "sqlite" in args.backends:
        print(f"sqlite: {args.stories} stories ...", flush=True)
        result["sqlite"] = await bench_sqlite(workdir, vocab, args, queries, warmup)
        print(json.dumps(result["sqlite"]), flush=True)
        for f in await asyncio.to_thread(lambda: list(workdir.iterdir())):
            f.unlink()
    if "postgresql" in args.backends:
        print(f"postgresql: {args.stories} stories ...", flush=True)
        result["postgresql"] = await bench_postgres(vocab, args, queries, warmup)
        print(json.dumps(result["postgresql"]), flush=True)
    await asyncio.to_thread(workdir.rmdir)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--stories", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--like-queries",
        type=int,
        default=20,
        help="LIKE scans to time (they take seconds each at 1M stories)",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", default=None, help="where the SQLite file goes")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    args.backends = set(args.backends.split(","))
    result = asyncio.run(main_async(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
