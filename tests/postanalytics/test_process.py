"""`wallarm-sidecar postanalytics wstore` as a process: the chart's args, health, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from tests.postanalytics.conftest import packed
from tests.support import free_port
from wallarm_sidecar.wire import Frame, FrameDecoder, FrameType, encode_frame, encode_packed_batch


def test_serves_until_sigterm_then_exits_0() -> None:
    listen, health, metrics, export = (free_port() for _ in range(4))
    env = dict(os.environ, WALLARM_WSTORE_ARENA="0.05")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wallarm_sidecar",
            "postanalytics",
            "wstore",
            "--listen",
            f"127.0.0.1:{listen}",
            "--health-listen",
            f"127.0.0.1:{health}",
            "--metrics-listen",
            f"127.0.0.1:{metrics}",
            "--export-listen",
            f"127.0.0.1:{export}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{health}/health", timeout=2) as r:
                    document = json.loads(r.read())
                    break
            except OSError:
                assert time.monotonic() < deadline, "wstore did not become healthy"
                time.sleep(0.05)
        assert document["arena_bytes"] == int(0.05 * 1024**3)
        with socket.create_connection(("127.0.0.1", listen), timeout=5) as sock:
            hello = {"version": 1, "session": "p", "node": "n", "group": "g", "pid": 1}
            sock.sendall(encode_frame(FrameType.HELLO, hello | {"application": ""}))
            sock.sendall(encode_packed_batch(1, [packed("a"), packed("b")]))
            decoder, frames = FrameDecoder(), list[Frame]()
            while len(frames) < 2:
                frames += decoder.feed(sock.recv(65536))
            assert frames[1].payload == {"seq": 1, "stored": 2}
            process.send_signal(signal.SIGTERM)
            assert process.wait(10) == 0
            assert sock.recv(65536) == b""  # our connection was closed
        output = process.stdout.read().decode() if process.stdout else ""
        assert "stopping" in output and "2 records stored" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
