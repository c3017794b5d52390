"""Real processes for the jobs and appstructure tests: wstore, the Cloud, jobs, appstructure,
a record sender, and a deliberately bad Cloud in front of the real one."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support import free_port
from wallarm_sidecar.wire import (
    PROTOCOL_VERSION,
    FrameDecoder,
    FrameType,
    encode_frame,
    encode_packed_batch,
    pack_record,
)

ADMIN = "wsk_admin-token-for-the-postanalytics-export-tests"
T0 = 1_767_225_600.0


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def get_json(url: str, token: str | None = None, timeout: float = 5.0) -> Any:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


def reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1.0).close()
    except OSError:
        return False
    return True


@dataclass
class Processes:
    """Started processes, killed at the end of the test even when it failed."""

    running: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: Path = Path()

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "wallarm_sidecar", *args],
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.running.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@dataclass
class Wstore:
    port: int
    export_port: int
    health_port: int

    @property
    def cursor(self) -> dict[str, Any]:
        result: dict[str, Any] = get_json(f"http://127.0.0.1:{self.export_port}/export/cursor")
        return result


def start_wstore(processes: Processes, arena: str = "0.01", ports: Wstore | None = None) -> Wstore:
    """A wstore process (on the ports of `ports` when given: a restart)."""
    wstore = ports or Wstore(free_port(), free_port(), free_port())
    processes.start(
        "wstore",
        [
            "postanalytics",
            "wstore",
            "--listen",
            f"127.0.0.1:{wstore.port}",
            "--export-listen",
            f"127.0.0.1:{wstore.export_port}",
            "--health-listen",
            f"127.0.0.1:{wstore.health_port}",
            "--metrics-listen",
            f"127.0.0.1:{free_port()}",
            "--arena",
            arena,
        ],
        {},
    )
    wait_until(
        lambda: reachable(f"http://127.0.0.1:{wstore.health_port}/health"), 20, "wstore health"
    )
    return wstore


def start_cloud(processes: Processes, data_dir: Path) -> str:
    port = free_port()
    processes.start(
        "cloud",
        ["cloud", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir)],
        {"WALLARM_CLOUD_ADMIN_TOKEN": ADMIN},
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: reachable(url + "/openapi.json"), 30, "the Cloud")
    return url


def cloud_env(url: str, **extra: str) -> dict[str, str]:
    host_port = url.removeprefix("http://")
    host, _, port = host_port.rpartition(":")
    return {
        "WALLARM_API_HOST": host,
        "WALLARM_API_PORT": port,
        "WALLARM_API_USE_SSL": "false",
        "WALLARM_API_TOKEN": ADMIN,
        "WALLARM_NODE_NAME": "postanalytics-0",
        "WALLARM_LABELS": "group=defaultSidecarGroup",
        **extra,
    }


def start_jobs(
    processes: Processes, wstore: Wstore, cloud_url: str, node_dir: Path, *extra: str
) -> int:
    """Returns the health port."""
    health = free_port()
    processes.start(
        "jobs",
        [
            "postanalytics",
            "jobs",
            "--wstore-export",
            f"127.0.0.1:{wstore.export_port}",
            "--health-listen",
            f"127.0.0.1:{health}",
            "--node-dir",
            str(node_dir),
            "--export-interval",
            "0.05s",
            "--retry-base",
            "0.05s",
            "--retry-max",
            "0.3s",
            "--cloud-timeout",
            "1s",
            *extra,
        ],
        cloud_env(cloud_url),
    )
    wait_until(lambda: reachable(f"http://127.0.0.1:{health}/health"), 20, "jobs health")
    return health


def record(seq: int, *, hits: int = 1, path: str | None = None, **changes: Any) -> bytes:
    """Record number `seq` (its request id says so): wstore numbers them the same when
    one sender sends them in order into an empty store."""
    values: dict[str, Any] = {
        "request_id": f"r-{seq}",
        "time": T0 + seq * 0.001,
        "node": "pod-1",
        "application": "shop",
        "client_ip": f"198.51.100.{seq % 200 + 1}",
        "method": "GET",
        "host": "shop.local",
        "path": path or f"/api/items/{seq}",
        "parameters": [('get_param "q"', "string")],
        "status": 200,
        "duration_ms": 1.0,
        "bytes_in": 0,
        "bytes_out": 10,
        "blocked": False,
        "mode": "monitoring",
        "hits": [("sqli", f'get_param "q{i}"', "' or 1=1--", "942100") for i in range(hits)],
    }
    values.update(changes)
    return pack_record(**values)


def send(port: int, records: list[bytes], session: str = "test-sender") -> None:
    """Ship records over the record protocol, one acknowledged batch after another."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        decoder = FrameDecoder()

        def frame() -> Any:
            while True:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("wstore closed the connection")
                frames = decoder.feed(data)
                if frames:
                    return frames[0]

        hello = {"version": PROTOCOL_VERSION, "session": session, "node": "pod-1"}
        hello |= {"group": "g", "application": "shop", "pid": 1}
        sock.sendall(encode_frame(FrameType.HELLO, hello))
        assert frame().type == FrameType.HELLO_ACK
        for seq, start in enumerate(range(0, len(records), 500), 1):
            sock.sendall(encode_packed_batch(seq, records[start : start + 500]))
            ack = frame()
            assert ack.type == FrameType.ACK, ack


def cloud_hits(url: str) -> Counter[tuple[str, str]]:
    """(request id, point) of every hit the Cloud stored, with how often."""
    found: Counter[tuple[str, str]] = Counter()
    offset: int | None = 0
    while offset is not None:
        page = get_json(f"{url}/api/v1/hits?limit=500&offset={offset}", ADMIN)
        found.update((hit["request_id"], hit["point"]) for hit in page["items"])
        offset = page["next_offset"]
    return found


class BadCloud:
    """An HTTP Cloud stand-in in front of the real Cloud that misbehaves on POST /hits.

    Each POST /hits takes the next mode of `plan` (then `ok`):
    `ok` forward and relay; `500` answer 500 without forwarding; `lost-ack` forward,
    then answer 500 (the Cloud stored it, jobs does not know); `stall` forward, then
    answer nothing for longer than jobs waits; `stall-before` wait without forwarding;
    `reset` forward, then close without an answer; `duplicate` forward twice, relay the
    second answer; `hold` forward, then wait until `release` is set; `double-answer`
    forward, then write the answer twice on the kept-alive connection; `short-answer`
    answer 200 with counts that do not match the batch, without forwarding.
    Before forwarding, it checks that wstore has not committed any record of the batch
    (the cursor moves only after the Cloud acknowledged).
    """

    def __init__(self, upstream: str, wstore: Wstore, plan: list[str]) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.wstore = wstore
        self.plan: Iterator[str] = iter(plan)
        self.lock = threading.Lock()
        self.modes: list[str] = []
        self.forwarded = 0
        self.violations: list[str] = []
        self.release = threading.Event()
        self.held = threading.Event()
        self.port = free_port()
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.relay(self, b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path.startswith("/api/v1/hits"):
                    outer.misbehave(self, body)
                else:
                    outer.relay(self, body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Connections are refused from now on (until `start`)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.upstream, timeout=30)
        try:
            headers = {
                key: value
                for key, value in handler.headers.items()
                if key.lower() in ("authorization", "content-type")
            }
            connection.request(handler.command, handler.path, body=body or None, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.read()
        finally:
            connection.close()

    def relay(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        status, data = self.forward(handler, body)
        self.answer(handler, status, data)

    def answer(self, handler: BaseHTTPRequestHandler, status: int, data: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def check_cursor(self, body: bytes) -> None:
        seqs = [int(item["request_id"].rsplit("-", 1)[1]) for item in json.loads(body)["records"]]
        cursor = self.wstore.cursor["export_cursor"]
        if seqs and cursor >= min(seqs):
            self.violations.append(f"cursor {cursor} committed before r-{min(seqs)} was acked")

    def misbehave(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self.lock:
            mode = next(self.plan, "ok")
            self.modes.append(mode)
        self.check_cursor(body)
        if mode == "500":
            self.answer(handler, 500, b'{"detail": "down for maintenance"}')
            return
        if mode == "short-answer":
            self.answer(handler, 200, b'{"stored": 1, "duplicates": 0}')
            return
        if mode == "stall-before":
            time.sleep(2.5)
            handler.close_connection = True
            return
        status, data = self.forward(handler, body)
        with self.lock:
            self.forwarded += 1
        if mode == "duplicate":
            status, data = self.forward(handler, body)
        if mode == "lost-ack":
            self.answer(handler, 500, b'{"detail": "lost"}')
        elif mode == "stall":
            time.sleep(2.5)
            handler.close_connection = True
        elif mode == "reset":
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
        elif mode == "double-answer":
            self.answer(handler, status, data)
            self.answer(handler, status, data)
        elif mode == "hold":
            self.held.set()
            self.release.wait(30)
            handler.close_connection = True
        else:
            self.answer(handler, status, data)
