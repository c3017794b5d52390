"""The Cloud with a million hits: ingest throughput and attack-list latency, through the API.

For each database (SQLite file; PostgreSQL when its server binaries are here, started
throwaway on loopback like the tests do):

1. Seed `--hits` hits grouped into attacks (about 20 hits each, skewed: a few large
   attacks, many small), 30 days of traffic from 5,000 sources against 500 paths in 4
   node groups and 10 applications. Straight into the tables, fast (SQLite: executemany
   in one transaction; PostgreSQL: COPY), after the Alembic migrations.
2. Start the real `wallarm-sidecar cloud` process on it, register one node per group,
   and ingest: `--clients` threads, each posting `--batches` batches of `--records`
   records (1 or 2 hits each, new request ids, recent times: some join the seeded
   attacks). Prints hits stored per second (wall clock, all clients).
3. Query: `GET /api/v1/attacks` with each filter set of FILTERS, `--queries` times each,
   one client; prints p50 and p99 per filter and over all.

Each run checks itself: every ingested hit is stored once, and the database then holds
exactly seeded + ingested hits.

    PYTHONPATH=src python bench/cloud.py [--hits 1000000] [--database sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # tests.cloud: the throwaway PostgreSQL and the Cloud process

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402
from tests.cloud._postgres import PostgresServer, PostgresUnavailable, start_postgres  # noqa: E402
from tests.cloud._process import ADMIN, cloud_process  # noqa: E402

from wallarm_sidecar.cloud import Database, bootstrap_admin  # noqa: E402

T_END = 1_767_225_600.0  # 2026-01-01: the seeded traffic ends here, the ingested starts
DAYS = 30
TYPES = ("sqli", "xss", "ptrav", "rce", "xxe", "ssrf", "nosqli", "ldapi", "crlf", "scanner")
TYPE_WEIGHTS = (30, 25, 12, 8, 3, 4, 3, 2, 3, 10)
GROUPS = tuple(f"group-{n}" for n in range(4))
APPLICATIONS = tuple(f"app-{n}" for n in range(10))
HOSTS = tuple(f"shop{n}.example" for n in range(20))
SOURCES = 5000
PATHS = 500
HITS_PER_ATTACK = 20

#: label → query of GET /api/v1/attacks (a page of 100, newest first, unless said).
FILTERS: dict[str, dict[str, Any]] = {
    "newest (no filter)": {},
    "type=sqli": {"type": "sqli"},
    "node_group": {"node_group": "group-1"},
    "blocked=true": {"blocked": "true"},
    "since last day": {"since": T_END - 86400},
    "application+type": {"application": "app-3", "type": "xss"},
    "week window + group": {
        "since": T_END - 7 * 86400,
        "until": T_END - 6 * 86400,
        "node_group": "group-2",
    },
    "deep page (offset 5000)": {"offset": 5000},
}

HIT_COLUMNS = (
    "id",
    "request_id",
    "point",
    "attack_type",
    "fragment",
    "rule_id",
    "blocked",
    "time",
    "node_name",
    "node_group",
    "application",
    "client_ip",
    "method",
    "host",
    "path",
    "status",
    "mode",
    "attack_id",
    "received_at",
)
ATTACK_COLUMNS = (
    "id",
    "attack_type",
    "client_ip",
    "host",
    "path",
    "node_group",
    "application",
    "first_seen",
    "last_seen",
    "hits",
    "blocked_hits",
)


@dataclass
class PlannedAttack:
    row: tuple[Any, ...]
    times: list[float]
    blocked: bool


@dataclass
class Result:
    database: str
    seeded: int
    attacks: int
    seed_seconds: float
    ingested: int
    ingest_seconds: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    size_mb: float | None = None

    @property
    def ingest_rate(self) -> float:
        return self.ingested / self.ingest_seconds if self.ingest_seconds else 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


# -- seeding -----------------------------------------------------------------------------------
def plan_attacks(hits: int, rng: random.Random) -> list[PlannedAttack]:
    """Attacks whose hit counts add up to `hits`: skewed sizes, hits a minute apart at most."""
    count = max(1, hits // HITS_PER_ATTACK)
    weights = [1 / (rank + 1) ** 0.6 for rank in range(count)]
    scale = (hits - count) / sum(weights)
    sizes = [1 + int(w * scale) for w in weights]
    sizes[0] += hits - sum(sizes)  # the rounding remainder: the largest attack
    attacks = []
    for attack_id, size in enumerate(sizes, start=1):
        first = T_END - DAYS * 86400 + rng.random() * (DAYS * 86400 - 3600)
        times, moment = [], first
        for _ in range(size):
            times.append(moment)
            moment += rng.random() * 60
        times = [min(t, T_END - 1) for t in times]
        blocked = rng.random() < 0.6
        row = (
            attack_id,
            rng.choices(TYPES, TYPE_WEIGHTS)[0],
            f"198.51.{rng.randrange(SOURCES) // 250}.{rng.randrange(SOURCES) % 250}",
            rng.choice(HOSTS),
            f"/api/v{rng.randrange(3)}/item{rng.randrange(PATHS)}",
            rng.choice(GROUPS),
            rng.choice(APPLICATIONS),
            times[0],
            times[-1],
            size,
            size if blocked else 0,
        )
        attacks.append(PlannedAttack(row, times, blocked))
    return attacks


def hit_rows(attacks: list[PlannedAttack]) -> Iterator[tuple[Any, ...]]:
    hit_id = 0
    for attack in attacks:
        attack_id, kind, ip, host, path, group, application = attack.row[:7]
        for moment in attack.times:
            hit_id += 1
            yield (
                hit_id,
                f"seed-{hit_id:08d}",
                "uri" if hit_id % 3 else 'get_param "q"',
                kind,
                "' union select 1--" if kind == "sqli" else "<script>",
                "942100",
                attack.blocked,
                moment,
                f"pod-{hit_id % 40}",
                group,
                application,
                ip,
                "GET",
                host,
                path,
                403 if attack.blocked else 200,
                "block" if attack.blocked else "monitoring",
                attack_id,
                moment + 2.0,
            )


def chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def seed(database: Database, hits: int, seed_value: int = 7) -> tuple[int, float]:
    """`hits` hits in their attacks, straight into the tables; (attacks, seconds)."""
    rng = random.Random(seed_value)
    started = time.perf_counter()
    attacks = plan_attacks(hits, rng)
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if database.is_sqlite:
            cursor.execute("BEGIN")  # the Database leaves transactions to its callers
            _sqlite_insert(cursor, "attacks", ATTACK_COLUMNS, [a.row for a in attacks])
            for chunk in chunks(hit_rows(attacks), 50_000):
                _sqlite_insert(cursor, "hits", HIT_COLUMNS, chunk)
        else:
            _copy(cursor, "attacks", ATTACK_COLUMNS, [a.row for a in attacks])
            for chunk in chunks(hit_rows(attacks), 50_000):
                _copy(cursor, "hits", HIT_COLUMNS, chunk)
            for table in ("attacks", "hits"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return len(attacks), time.perf_counter() - started


def _sqlite_insert(cursor: Any, table: str, columns: tuple[str, ...], rows: list[Any]) -> None:
    marks = ", ".join("?" for _ in columns)
    cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _copy(cursor: Any, table: str, columns: tuple[str, ...], rows: list[Any]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    buffer.seek(0)
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    cursor.execute(statement, stream=buffer)


# -- through the API -------------------------------------------------------------------------
def ingest(base: str, *, clients: int, batches: int, records: int) -> tuple[int, float]:
    """Concurrent node batches; (hits stored, seconds). Raises if any hit is lost or doubled."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}) as admin:
        credentials = []
        for n in range(clients):
            body = {"name": f"bench-pod-{n}", "group": GROUPS[n % len(GROUPS)]}
            response = admin.post("/api/v1/nodes/register", json=body)
            response.raise_for_status()
            credentials.append(response.json()["node_credential"])
    bodies = [[_batch(n, b, records) for b in range(batches)] for n in range(clients)]
    sent = sum(len(r["hits"]) for per in bodies for body in per for r in body["records"])
    encoded = [[json.dumps(body).encode() for body in per] for per in bodies]  # not timed
    stored: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(clients + 1)

    def client(n: int) -> None:
        headers = {
            "Authorization": f"Bearer {credentials[n]}",
            "Content-Type": "application/json",
        }
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=300) as http:
                barrier.wait()
                for body in encoded[n]:
                    response = http.post("/api/v1/hits", content=body)
                    response.raise_for_status()
                    stored.append(response.json()["stored"])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"ingest failed: {errors[0]!r}")
    if sum(stored) != sent:
        raise RuntimeError(f"sent {sent} new hits, {sum(stored)} stored")
    return sent, elapsed


def _batch(client: int, batch: int, records: int) -> dict[str, Any]:
    rng = random.Random(client * 100_003 + batch)
    out = []
    for i in range(records):
        kind = rng.choices(TYPES, TYPE_WEIGHTS)[0]
        points = ["uri", 'get_param "id"'] if i % 4 == 0 else ["uri"]
        blocked = rng.random() < 0.6
        out.append(
            {
                "request_id": f"bench-{client}-{batch}-{i}",
                "time": T_END + rng.random() * 600,
                "node": f"bench-pod-{client}",
                "application": rng.choice(APPLICATIONS),
                "client_ip": f"198.51.{rng.randrange(20)}.{rng.randrange(250)}",
                "method": "POST",
                "host": rng.choice(HOSTS),
                "path": f"/api/v1/item{rng.randrange(50)}",
                "status": 403 if blocked else 200,
                "blocked": blocked,
                "mode": "block",
                "duration_ms": 1.5,
                "bytes_in": 512,
                "hits": [
                    {
                        "attack_type": kind,
                        "point": p,
                        "fragment": "1 or 1=1",
                        "rule_id": "942100",
                        "blocked": blocked,
                    }
                    for p in points
                ],
            }
        )
    return {"records": out}


def query(base: str, repeats: int) -> dict[str, list[float]]:
    """Milliseconds of each GET /attacks, per filter set."""
    latencies: dict[str, list[float]] = {}
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=300
    ) as http:
        for label, params in FILTERS.items():
            http.get("/api/v1/attacks", params=params).raise_for_status()  # warm up
            for _ in range(repeats):
                started = time.perf_counter()
                response = http.get("/api/v1/attacks", params=params)
                latencies.setdefault(label, []).append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                if label == "newest (no filter)" and len(response.json()["items"]) != 100:
                    raise RuntimeError("the attack list is not full")
    return latencies


# -- one database ------------------------------------------------------------------------------
def run_one(name: str, url: str, work: Path, args: argparse.Namespace) -> Result:
    database = Database(url)
    database.migrate()
    bootstrap_admin(database, ADMIN, io.StringIO())
    print(f"[{name}] seeding {args.hits:,} hits ...", file=sys.stderr, flush=True)
    attacks, seed_seconds = seed(database, args.hits)
    result = Result(name, args.hits, attacks, seed_seconds, 0, 0.0)
    with cloud_process(url, work / "data", admin=ADMIN, start_timeout=120) as cloud:
        print(f"[{name}] ingesting ...", file=sys.stderr, flush=True)
        result.ingested, result.ingest_seconds = ingest(
            cloud.base, clients=args.clients, batches=args.batches, records=args.records
        )
        print(f"[{name}] querying ...", file=sys.stderr, flush=True)
        result.latencies = query(cloud.base, args.queries)
    with database.engine.connect() as connection:
        total = connection.execute(text("SELECT count(*) FROM hits")).scalar_one()
        in_attacks = connection.execute(text("SELECT sum(hits) FROM attacks")).scalar_one()
        if not database.is_sqlite:
            size = "SELECT pg_database_size(current_database())"
            result.size_mb = connection.execute(text(size)).scalar_one() / 2**20
    database.dispose()
    if total != args.hits + result.ingested or in_attacks != total:
        raise RuntimeError(
            f"{total} hits stored, {in_attacks} in attacks; expected {args.hits + result.ingested}"
        )
    if database.is_sqlite:
        result.size_mb = sum(p.stat().st_size for p in work.glob("cloud.sqlite3*")) / 2**20
    return result


def run(args: argparse.Namespace) -> list[Result]:
    results = []
    wanted = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    for name in wanted:
        with tempfile.TemporaryDirectory(prefix=f"cloud-bench-{name}-") as scratch:
            work = Path(scratch)
            if name == "sqlite":
                results.append(run_one(name, f"sqlite:///{work / 'cloud.sqlite3'}", work, args))
                continue
            try:
                server: PostgresServer = start_postgres()
            except PostgresUnavailable as error:
                if args.database == "postgresql":
                    raise
                print(f"[postgresql] skipped: {error}", file=sys.stderr)
                continue
            try:
                database = server.create_database()
                results.append(run_one(name, server.url(database), work, args))
            finally:
                server.stop()
    return results


def table(results: list[Result], args: argparse.Namespace) -> str:
    lines = [
        f"Cloud bench: {args.hits:,} seeded hits; ingest {args.clients} clients x {args.batches} "
        f"batches x {args.records} records; GET /attacks x {args.queries} per filter",
        "",
        "| database | hits seeded | attacks | seed s | ingest hits/s | GET /attacks p50 ms "
        "| p99 ms | DB MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        every = [v for values in r.latencies.values() for v in values]
        size = f"{r.size_mb:.0f}" if r.size_mb is not None else "-"
        p50, p99 = statistics.median(every), percentile(every, 0.99)
        lines.append(
            f"| {r.database} | {r.seeded:,} | {r.attacks:,} | {r.seed_seconds:.1f} | "
            f"{r.ingest_rate:,.0f} | {p50:.1f} | {p99:.1f} | {size} |"
        )
    lines += ["", "| filter | " + " | ".join(f"{r.database} p50 / p99 ms" for r in results) + " |"]
    lines.append("|---|" + "---:|" * len(results))
    for label in FILTERS:
        cells = [
            f"{statistics.median(values):.1f} / {percentile(values, 0.99):.1f}"
            for values in (r.latencies[label] for r in results)
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=1_000_000, help="hits seeded before measuring")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=int, default=4, help="concurrent ingesting nodes")
    parser.add_argument("--batches", type=int, default=25, help="batches per client")
    parser.add_argument("--records", type=int, default=100, help="records per batch")
    parser.add_argument("--queries", type=int, default=50, help="GET /attacks per filter set")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results = run(args)
    print(table(results, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
