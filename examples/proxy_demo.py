"""The README's main job until `wallarm-sidecar demo` exists.

Starts a sample application, `wallarm-sidecar postanalytics wstore` and
`wallarm-sidecar proxy` in front of the app; sends the documented test attack
(`GET /etc/passwd`) in monitoring mode (passed and recorded) and in block mode
(answered 403), and prints the records wstore stored, read from its export
endpoint as the jobs container will. Everything started is stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import msgpack

from wallarm_sidecar.wire import RequestRecord


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def sample_app(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A tiny JSON app: it answers every request with what it received."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            length = 0
            for header in head.split(b"\r\n")[1:]:
                name, _, value = header.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            body = json.dumps({"app": "sample", "request": line}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


class Wstore:
    """`wallarm-sidecar postanalytics wstore` as a process, read through /export."""

    def __init__(self) -> None:
        self.port, self.health, self.metrics, self.export = (free_port() for _ in range(4))
        self.cursor = 0
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wallarm_sidecar",
                "postanalytics",
                "wstore",
                "--listen",
                f"127.0.0.1:{self.port}",
                "--health-listen",
                f"127.0.0.1:{self.health}",
                "--metrics-listen",
                f"127.0.0.1:{self.metrics}",
                "--export-listen",
                f"127.0.0.1:{self.export}",
                "--arena",
                "0.05",
            ],
            stderr=subprocess.DEVNULL,
        )

    def read(self) -> list[RequestRecord]:
        """Records stored since the last read."""
        url = f"http://127.0.0.1:{self.export}/export?cursor={self.cursor}"
        with urllib.request.urlopen(url, timeout=5) as response:
            document = msgpack.unpackb(response.read(), raw=False)
        self.cursor = document["cursor"]
        return [RequestRecord.from_wire(raw) for raw in document["records"]]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


def get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Host": "localhost"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


async def run_mode(mode: str, app_port: int, wstore: Wstore) -> bool:
    listen, status, metrics = free_port(), free_port(), free_port()
    state = tempfile.mkdtemp(prefix="wallarm-demo-")
    env = dict(
        os.environ,
        WALLARM_MODE=mode,
        NGINX_LISTEN_PORT=f"127.0.0.1:{listen}",
        NGINX_PROXY_PASS_PORT=str(app_port),
        NGINX_STATUS_PORT=f"127.0.0.1:{status}",
        NGINX_WALLARM_METRICS_PORT=f"127.0.0.1:{metrics}",
        NGINX_WORKER_PROCESSES="1",
        WALLARM_WSTORE_HOST="127.0.0.1",
        WALLARM_WSTORE_PORT=str(wstore.port),
        WALLARM_NODE_DIR=state,
        WALLARM_ACL_DIR=state,
        WALLARM_ACCESS_LOG="off",
    )
    print(f"\n== wallarm-sidecar proxy, mode {mode}: :{listen} -> sample app :{app_port}")
    process = subprocess.Popen(
        [sys.executable, "-m", "wallarm_sidecar", "proxy"], env=env, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if (await asyncio.to_thread(get, f"http://127.0.0.1:{status}/healthz"))[0] == 200:
                    break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            print("   the proxy did not become ready")
            return False
        code, _ = await asyncio.to_thread(get, f"http://127.0.0.1:{listen}/products?page=2")
        print(f"   GET /products?page=2 -> {code}")
        code, body = await asyncio.to_thread(get, f"http://127.0.0.1:{listen}/etc/passwd")
        print(f"   GET /etc/passwd      -> {code} {'(passed to the app)' if code == 200 else ''}")
        if code == 403:
            print("   block page says:", body.decode().split("<code>")[1].split("</code>")[0])
        records: list[RequestRecord] = []
        for _ in range(50):
            records += await asyncio.to_thread(wstore.read)
            if len(records) >= 2:
                break
            await asyncio.sleep(0.1)
        print(f"   wstore stored {len(records)} records for these requests")
        detected = False
        for record in records:
            for hit in record.hits:
                detected = True
                print(
                    f"   detected: {hit.attack_type} at {hit.point} "
                    f"fragment {hit.fragment!r} blocked={hit.blocked} "
                    f"(request {record.request_id}, node {record.node})"
                )
        await asyncio.sleep(0.5)
        _, doc = await asyncio.to_thread(get, f"http://127.0.0.1:{status}/wallarm-status")
        counters = json.loads(doc)
        print(
            "   /wallarm-status: "
            + ", ".join(f"{k}={counters[k]}" for k in ("requests", "attacks", "blocked"))
        )
        expected = 200 if mode == "monitoring" else 403
        return detected and code == expected
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 30)


async def main() -> int:
    app = await asyncio.start_server(sample_app, "127.0.0.1", 0)
    app_port = app.sockets[0].getsockname()[1]
    wstore = Wstore()
    print(f"sample app on 127.0.0.1:{app_port}; postanalytics wstore on 127.0.0.1:{wstore.port}")
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if get(f"http://127.0.0.1:{wstore.health}/health")[0] == 200:
                    break
            except OSError:
                await asyncio.sleep(0.1)
        ok = await run_mode("monitoring", app_port, wstore)
        ok = await run_mode("block", app_port, wstore) and ok
    finally:
        app.close()
        await asyncio.to_thread(wstore.stop)
    print("\nresult:", "the test attack was detected in both modes" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
