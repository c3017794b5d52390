"""The export path of postanalytics: wstore -> jobs -> Cloud, with real processes.

1. In process: `ExportMachine.page_read` (decode, behavioural detections, Cloud JSON,
   batching) over pages of 1,000 records: records/s of jobs' own work, no I/O.
2. End to end: starts `wallarm-sidecar postanalytics wstore`, `wallarm-sidecar cloud`
   (SQLite) and `wallarm-sidecar postanalytics jobs`, ships `--records` records (one in
   `--hit-share` with a hit) into wstore, and times until jobs has committed the last
   one; prints hits/s into the Cloud and the CPU seconds each process spent.

    PYTHONPATH=src python bench/postanalytics_export.py [--records 20000] [--hit-share 4]

The figures are printed, not asserted: no test depends on the machine's speed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import msgpack

from wallarm_sidecar.postanalytics import (
    BehaviourEngine,
    CommitCursor,
    ExportMachine,
    ExportPage,
    PostHits,
)
from wallarm_sidecar.wire import (
    PROTOCOL_VERSION,
    FrameDecoder,
    FrameType,
    encode_frame,
    encode_packed_batch,
    pack_record,
)

ADMIN = "wsk_bench-admin-token-postanalytics-export"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def record(n: int, hit_share: int) -> bytes:
    return pack_record(
        request_id=f"bench-{n:09d}",
        time=1_764_000_000.0 + n / 1000,
        node="shop-7d9f8b6c5d-x2x7q",
        application="shop",
        client_ip=f"10.{n % 250}.{n // 250 % 250}.{n % 7 + 1}",
        method="GET" if n % 5 else "POST",
        host="shop.example.com",
        path=f"/api/v1/products/{n % 977}/reviews",
        parameters=[('get_param "page"', "integer"), ("header USER-AGENT", "string")],
        status=200,
        duration_ms=3.2,
        bytes_in=0,
        bytes_out=1834,
        blocked=False,
        mode="monitoring",
        hits=[("sqli", 'get_param "q"', "1' or '1'='1", "942100")] if n % hit_share == 0 else [],
    )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).close()
    except OSError:
        return False
    return True


def wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not reachable(url):
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not come up")
        time.sleep(0.1)


def in_process(records: int, hit_share: int) -> None:
    raw = [msgpack.unpackb(record(n, hit_share), raw=False) for n in range(records)]
    machine = ExportMachine(
        delays=lambda: itertools.repeat(0.0), behaviour=BehaviourEngine(), page_limit=1000
    )
    started = time.process_time()
    for start in range(0, records, 1000):
        chunk = raw[start : start + 1000]
        machine.page_read(
            ExportPage(
                first=start + 1, cursor=start + len(chunk), missed=0, records=chunk, instance="x"
            ),
            0.0,
        )
        while True:
            action = machine.next_action(0.0)
            if isinstance(action, PostHits):
                machine.posted(len(action.records), 0, 0.0)
            elif isinstance(action, CommitCursor):
                machine.committed(0.0)
            else:
                break
    spent = time.process_time() - started
    print(
        f"in process: {records / spent:,.0f} records/s through page_read + batching "
        f"(1 in {hit_share} with a hit, detections on)"
    )


def send(port: int, frames: list[bytes]) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        decoder = FrameDecoder()
        hello = {
            "version": PROTOCOL_VERSION,
            "session": "bench",
            "node": "n",
            "group": "g",
            "application": "",
            "pid": os.getpid(),
        }
        sock.sendall(encode_frame(FrameType.HELLO, hello))
        expected = 1 + len(frames)
        for frame in frames:
            sock.sendall(frame)
        got = 0
        while got < expected:
            got += len(decoder.feed(sock.recv(65536)))


def end_to_end(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ports = {
            name: free_port() for name in ("wstore", "export", "health", "metrics", "cloud", "jobs")
        }
        base = [sys.executable, "-m", "wallarm_sidecar"]
        quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        env = {**os.environ, "WALLARM_CLOUD_ADMIN_TOKEN": ADMIN}
        processes = {
            "wstore": subprocess.Popen(
                [
                    *base,
                    "postanalytics",
                    "wstore",
                    "--listen",
                    f"127.0.0.1:{ports['wstore']}",
                    "--export-listen",
                    f"127.0.0.1:{ports['export']}",
                    "--health-listen",
                    f"127.0.0.1:{ports['health']}",
                    "--metrics-listen",
                    f"127.0.0.1:{ports['metrics']}",
                ],
                **quiet,
            ),
            "cloud": subprocess.Popen(
                [*base, "cloud", "--listen", f"127.0.0.1:{ports['cloud']}", "--data-dir", tmp],
                env=env,
                **quiet,
            ),
        }
        try:
            wait_for(f"http://127.0.0.1:{ports['health']}/health", 20)
            wait_for(f"http://127.0.0.1:{ports['cloud']}/openapi.json", 30)
            frames = [
                encode_packed_batch(
                    seq,
                    [
                        record(n, args.hit_share)
                        for n in range(start, min(start + 512, args.records))
                    ],
                )
                for seq, start in enumerate(range(0, args.records, 512), 1)
            ]
            send(ports["wstore"], frames)
            jobs_env = {
                **os.environ,
                "WALLARM_API_HOST": "127.0.0.1",
                "WALLARM_API_PORT": str(ports["cloud"]),
                "WALLARM_API_USE_SSL": "false",
                "WALLARM_API_TOKEN": ADMIN,
                "WALLARM_NODE_NAME": "bench",
            }
            before = {name: cpu_seconds(p.pid) for name, p in processes.items()}
            started = time.monotonic()
            processes["jobs"] = subprocess.Popen(
                [
                    *base,
                    "postanalytics",
                    "jobs",
                    "--wstore-export",
                    f"127.0.0.1:{ports['export']}",
                    "--health-listen",
                    f"127.0.0.1:{ports['jobs']}",
                    "--node-dir",
                    tmp,
                ],
                env=jobs_env,
                **quiet,
            )
            before["jobs"] = 0.0
            cursor_url = f"http://127.0.0.1:{ports['export']}/export/cursor"
            while True:
                with urllib.request.urlopen(cursor_url, timeout=5) as answer:
                    if json.loads(answer.read())["export_cursor"] >= args.records:
                        break
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            spent = {name: cpu_seconds(p.pid) - before[name] for name, p in processes.items()}
            hits = args.records // args.hit_share + (1 if args.records % args.hit_share else 0)
            print(
                f"end to end: {args.records:,} records ({hits:,} with a hit) exported in "
                f"{elapsed:.1f}s (with jobs' start-up): {hits / elapsed:,.0f} hits/s into "
                f"the Cloud, {args.records / elapsed:,.0f} records/s read"
            )
            print("CPU seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in spent.items()))
        finally:
            for process in processes.values():
                process.send_signal(signal.SIGTERM)
            for process in processes.values():
                process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--hit-share", type=int, default=4, help="one record in N has a hit")
    args = parser.parse_args()
    in_process(args.records, args.hit_share)
    end_to_end(args)


if __name__ == "__main__":
    main()
