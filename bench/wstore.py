"""wstore ingest rate and memory under overload, over loopback, against the real process.

Starts `wallarm-sidecar postanalytics wstore` pinned to one CPU, then drives it from
this process (pinned to another CPU when there is one) with several connections that
each behave like the proxy's shipper: one BATCH of 512 records in flight, the next
after its ACK. Frames are encoded up front, so the sender costs little.

1. Ingest: records with `--hits` hits each for `--seconds`; prints records/s and
   hits/s from wstore's own counters, and hits per CPU-second of the wstore process
   (the one-core figure; DESIGN bar: 50,000 hits/s with batching).
2. Overload: `--overload` times the arena's worth of records into a small arena;
   prints used bytes against the arena, and the process's RSS growth (VmHWM minus the
   RSS after start-up) against the arena.

    PYTHONPATH=src python bench/wstore.py [--seconds 5] [--connections 4] [--hits 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from wallarm_sidecar.wire import (
    PROTOCOL_VERSION,
    FrameDecoder,
    FrameType,
    encode_frame,
    encode_packed_batch,
    pack_record,
)

BATCH = 512
GIB = 1024**3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def record(n: int, hits: int) -> bytes:
    return pack_record(
        request_id=f"{n:016x}{os.getpid():08x}",
        time=1_764_000_000.0 + n / 1000,
        node="shop-7d9f8b6c5d-x2x7q",
        application="shop",
        client_ip=f"10.{n % 250}.{n // 250 % 250}.{n % 7 + 1}",
        method="GET",
        host="shop.example.com",
        path=f"/api/items/{n % 5000}",
        parameters=[('get_param "q"', "string"), ('get_param "page"', "integer")],
        status=200,
        duration_ms=1.3,
        bytes_in=0,
        bytes_out=2048,
        blocked=False,
        mode="monitoring",
        hits=[("sqli", 'get_param "q"', "1' OR '1'='1", "942100")] * hits,
    )


class Wstore:
    def __init__(self, arena: float, cpu: int | None) -> None:
        self.ports = {name: free_port() for name in ("listen", "health", "metrics", "export")}
        command = [
            sys.executable,
            "-m",
            "wallarm_sidecar",
            "postanalytics",
            "wstore",
            "--arena",
            str(arena),
        ]
        for name, flag in (
            ("listen", "--listen"),
            ("health", "--health-listen"),
            ("metrics", "--metrics-listen"),
            ("export", "--export-listen"),
        ):
            command += [flag, f"127.0.0.1:{self.ports[name]}"]
        env = dict(os.environ)
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")
        self.process = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if cpu is not None:
            os.sched_setaffinity(self.process.pid, {cpu})
        deadline = time.monotonic() + 20
        while True:
            try:
                self.health()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("wstore did not start") from None
                time.sleep(0.05)

    def health(self) -> dict[str, int]:
        url = f"http://127.0.0.1:{self.ports['health']}/health"
        with urllib.request.urlopen(url, timeout=5) as response:
            document: dict[str, int] = json.loads(response.read())
            return document

    def metrics(self) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.ports['metrics']}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        return {
            line.split()[0]: float(line.split()[1])
            for line in text.splitlines()
            if line and not line.startswith("#")
        }

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_kib(self, key: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


async def sender(port: int, frames: list[bytes], session: str, stop_at: float) -> int:
    """Ship pre-encoded batches one at a time, each after the previous one's ACK."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    decoder = FrameDecoder()
    hello = {"version": PROTOCOL_VERSION, "session": session, "node": "bench", "group": "g"}
    writer.write(encode_frame(FrameType.HELLO, hello | {"application": "", "pid": 0}))
    acked = 0
    pending: list[object] = []
    try:
        for frame in [None, *frames]:
            if frame is not None:
                if time.monotonic() > stop_at:
                    break
                writer.write(frame)
            while not pending:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("wstore closed the connection")
                pending.extend(decoder.feed(data))
            reply = pending.pop(0)
            if frame is not None:
                assert getattr(reply, "type", None) is FrameType.ACK, reply
                acked += 1
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return acked


def build_frames(count: int, hits: int, offset: int) -> list[bytes]:
    records = [record(offset + n, hits) for n in range(count)]
    return [
        encode_packed_batch(seq, records[start : start + BATCH])
        for seq, start in enumerate(range(0, count, BATCH), start=1)
    ]


async def drive(
    port: int, frames: list[list[bytes]], seconds: float, *, name: str = "bench"
) -> float:
    stop_at = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(
        *(sender(port, f, f"{name}-{os.getpid()}-{i}", stop_at) for i, f in enumerate(frames))
    )
    return time.monotonic() - started


def ingest(args: argparse.Namespace, cpus: list[int]) -> None:
    wstore = Wstore(arena=args.arena, cpu=cpus[0])
    try:
        # Enough distinct batches per connection for the whole run (they are not reused:
        # a repeated seq would be a duplicate and not stored).
        per_connection = int(args.expected_rate * args.seconds / args.connections) + BATCH
        frames = [
            build_frames(per_connection, args.hits, i * per_connection)
            for i in range(args.connections)
        ]
        before, cpu_before = wstore.metrics(), wstore.cpu_seconds()
        elapsed = asyncio.run(drive(wstore.ports["listen"], frames, args.seconds))
        after, cpu_after = wstore.metrics(), wstore.cpu_seconds()
    finally:
        code = wstore.stop()
    records = after["wallarm_wstore_requests_total"] - before["wallarm_wstore_requests_total"]
    hits = after["wallarm_wstore_hits_total"] - before["wallarm_wstore_hits_total"]
    cpu = max(cpu_after - cpu_before, 1e-9)
    record_bytes = len(record(0, args.hits))
    print(
        f"ingest: {args.connections} connections, batches of {BATCH}, "
        f"{args.hits} hit(s) per record, {record_bytes} bytes per record"
    )
    print(f"  records stored      {records:,.0f} in {elapsed:.2f} s")
    print(f"  records/s           {records / elapsed:,.0f}")
    print(f"  hits/s (wall)       {hits / elapsed:,.0f}")
    print(f"  wstore CPU          {cpu:.2f} s ({cpu / elapsed:.0%} of one core)")
    print(f"  hits per CPU-second {hits / cpu:,.0f}   (bar: 50,000)")
    print(f"  evictions           {after['wallarm_wstore_evictions_total']:,.0f}")
    print(f"  exit code on SIGTERM {code}")


def overload(args: argparse.Namespace, cpus: list[int]) -> None:
    arena = args.overload_arena
    wstore = Wstore(arena=arena, cpu=cpus[0])
    budget = int(arena * GIB)
    try:
        rss_start = wstore.memory_kib("VmRSS")
        per_record = len(record(0, args.hits)) + 64
        total = int(args.overload * budget / per_record)
        per_connection = total // args.connections + 1
        used_max = 0
        sent = 0
        chunk = 50_000
        while sent < per_connection:
            count = min(chunk, per_connection - sent)
            frames = [
                build_frames(count, args.hits, i * per_connection + sent)
                for i in range(args.connections)
            ]
            # Fresh sessions per chunk: sequence numbers restart at 1.
            asyncio.run(drive(wstore.ports["listen"], frames, 3600, name=f"overload-{sent}"))
            sent += count
            used_max = max(used_max, wstore.health()["used_bytes"])
        metrics = wstore.metrics()
        rss_peak = wstore.memory_kib("VmHWM")
        rss_end = wstore.memory_kib("VmRSS")
    finally:
        code = wstore.stop()
    stored = metrics["wallarm_wstore_requests_total"]
    print(f"overload: arena {arena} GB = {budget:,} bytes, {args.overload}x its worth sent")
    evicted = metrics["wallarm_wstore_evictions_total"]
    print(f"  records stored      {stored:,.0f}, evicted {evicted:,.0f}")
    print(f"  used bytes (max)    {used_max:,} ({used_max / budget:.1%} of the arena)")
    print(f"  records held        {metrics['wallarm_wstore_records']:,.0f}")
    print(f"  RSS after start     {rss_start / 1024:.1f} MiB")
    print(
        f"  RSS peak            {rss_peak / 1024:.1f} MiB "
        f"(growth {(rss_peak - rss_start) / 1024:.1f} MiB for an arena of {budget / 2**20:.1f} MiB)"
    )
    print(f"  RSS at the end      {rss_end / 1024:.1f} MiB")
    print(f"  exit code on SIGTERM {code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--hits", type=int, default=1, help="hits per record")
    parser.add_argument("--arena", type=float, default=2.0, help="GB, for the ingest run")
    parser.add_argument("--expected-rate", type=float, default=250_000, help="records/s to prepare")
    parser.add_argument("--overload", type=float, default=3.0, help="times the arena to send")
    parser.add_argument("--overload-arena", type=float, default=0.05, help="GB")
    parser.add_argument("--skip-overload", action="store_true")
    args = parser.parse_args()
    available = sorted(os.sched_getaffinity(0))
    cpus = available if len(available) > 1 else [available[0], available[0]]
    os.sched_setaffinity(0, {cpus[1]})
    ingest(args, cpus)
    if not args.skip_overload:
        overload(args, cpus)


if __name__ == "__main__":
    main()
