"""A real `wallarm-sidecar cloud` process on a free loopback port, for tests and bench."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

COMMAND = [sys.executable, "-m", "wallarm_sidecar", "cloud"]
ADMIN = "wsk_admin-token-for-the-cloud-process"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class CloudProcess:
    base: str
    admin: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin}"}

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextlib.contextmanager
def cloud_process(
    database_url: str, data_dir: Path, *, admin: str = ADMIN, start_timeout: float = 30
) -> Iterator[CloudProcess]:
    """`wallarm-sidecar cloud` over `database_url`, ready to serve; stopped on exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = data_dir / "cloud.stderr"
    env = {**os.environ, "WALLARM_CLOUD_ADMIN_TOKEN": admin}
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [
                *COMMAND,
                "--listen",
                f"127.0.0.1:{port}",
                "--data-dir",
                str(data_dir),
                "--database-url",
                database_url,
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    cloud = CloudProcess(f"http://127.0.0.1:{port}", admin, process, log)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the Cloud exited with {process.returncode}: {cloud.stderr()}")
            try:
                httpx.get(f"{cloud.base}/openapi.json", timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Cloud did not start: {cloud.stderr()}") from None
                time.sleep(0.05)
        yield cloud
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
