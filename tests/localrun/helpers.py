"""`wallarm-sidecar localrun` as a child process, its output read line by line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from wallarm_sidecar.injector import InjectionSettings, inject_yaml

FIXTURE = Path(__file__).with_name("httpbin-deployment.yaml")


def inject_fixture(directory: Path, schema: str = "single", *, native: bool = False) -> Path:
    """The documentation's Deployment through the real injector, written to a file."""
    values = {"config": {"injectionStrategy": {"schema": schema, "nativeSidecar": native}}}
    text, _ = inject_yaml(FIXTURE.read_text(), InjectionSettings.from_values(values))
    path = directory / "injected.yaml"
    path.write_text(text)
    return path


def write_pod(directory: Path, pod: dict[str, Any]) -> Path:
    path = directory / "pod.yaml"
    path.write_text(yaml.safe_dump(pod))
    return path


class Localrun:
    """The command running in its own session; `stop()` sends SIGTERM like Ctrl-C would."""

    def __init__(self, *args: str) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wallarm_sidecar", "localrun", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def index(self, text: str) -> int:
        """The position of the first line holding `text` (StopIteration if none)."""
        with self._changed:
            return next(i for i, line in enumerate(self.lines) if text in line)

    def wait_for(self, text: str, timeout: float = 90) -> None:
        """Until a line contains `text`; fails with the output if it exits or times out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(text in line for line in self.lines):
                remaining = deadline - time.monotonic()
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"localrun exited before {text!r}:\n{self.output}")
                if remaining <= 0:
                    raise AssertionError(f"no {text!r} within {timeout}s:\n{self.output}")
                self._changed.wait(min(remaining, 0.5))

    def wait_exit(self, timeout: float = 90) -> int:
        code = self.process.wait(timeout)
        self._reader.join(10)
        return code

    def stop(self, timeout: float = 90) -> int:
        """SIGTERM, as Ctrl-C would; the exit code once localrun has cleaned up."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def clean_up(self) -> None:
        """A test's clean-up after a failure: SIGTERM (localrun removes its pod), SIGKILL
        only if that does not end it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)
        if self.process.stdout is not None:
            self._reader.join(10)
            self.process.stdout.close()


def state(state_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((state_dir / "pod.json").read_text())
    return result


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wallarm_status(
    host: str, port: int, *, requests: int, attacks: int, timeout: float = 10
) -> dict[str, Any]:
    """The proxy's /wallarm-status once it counts `requests` and `attacks`: it sums its
    workers' counters, each reported about every second, so one may lag the other."""
    deadline = time.monotonic() + timeout
    while True:
        document: dict[str, Any] = json.loads(get(f"http://{host}:{port}/wallarm-status")[1])
        done = document["requests"] >= requests and document["attacks"] >= attacks
        if done or time.monotonic() > deadline:
            return document
        time.sleep(0.2)


def group_alive(pid: int) -> bool:
    """Is any process of the process group `pid` (a session leader's) still there?"""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True
