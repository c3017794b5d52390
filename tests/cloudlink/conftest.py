"""A real `wallarm-sidecar cloud` process on loopback, and an admin's view of it."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import free_port
from wallarm_sidecar.cloudlink import CloudEndpoint

ADMIN = "wsk_admin-token-for-the-cloudlink-tests"


@dataclass
class CloudProcess:
    """The Cloud as a child process; `stop()` and `start()` again keep its port and data."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    admin: str = ADMIN
    tls: tuple[Path, Path] | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> CloudEndpoint:
        return CloudEndpoint("127.0.0.1", self.port, use_ssl=self.tls is not None, ca_verify=False)

    @property
    def env(self) -> dict[str, str]:
        """What a node gets to find this Cloud (WALLARM_API_*)."""
        return {
            "WALLARM_API_HOST": "127.0.0.1",
            "WALLARM_API_PORT": str(self.port),
            "WALLARM_API_USE_SSL": "true" if self.tls else "false",
            "WALLARM_API_CA_VERIFY": "false",
        }

    def start(self) -> CloudProcess:
        command = [
            sys.executable,
            "-m",
            "wallarm_sidecar",
            "cloud",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--data-dir",
            str(self.data_dir),
        ]
        if self.tls:
            command += ["--tls-cert-file", str(self.tls[0]), "--tls-key-file", str(self.tls[1])]
        env = {**os.environ, "WALLARM_CLOUD_ADMIN_TOKEN": self.admin}
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, self.process.communicate()[1].decode()
            try:
                if self.get("/api/v1/tokens").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the Cloud did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    # -- the admin's calls ------------------------------------------------------------------
    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        scheme = "https" if self.tls else "http"
        return httpx.request(
            method,
            f"{scheme}://127.0.0.1:{self.port}{path}",
            headers={"Authorization": f"Bearer {token or self.admin}"},
            verify=False,
            timeout=10,
            **kwargs,
        )

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> Any:
        return self.call("GET", path, token, **kwargs)

    def token(self, usage: str, group: str | None = None) -> str:
        body: dict[str, Any] = {"usage": usage}
        if group:
            body["group"] = group
        response = self.call("POST", "/api/v1/tokens", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["token"])

    def nodes(self, group: str | None = None) -> list[dict[str, Any]]:
        params = {"group": group} if group else {}
        response = self.get("/api/v1/nodes", params=params)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    def set_rules(self, *rules: dict[str, Any]) -> None:
        response = self.call("PUT", "/api/v1/settings", json={"rules": list(rules)})
        assert response.status_code == 200, response.text

    def add_ip(self, list_: str, ip: str, **extra: Any) -> int:
        response = self.call("POST", "/api/v1/ip-lists", json={"list": list_, "ip": ip, **extra})
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def revoke_node(self, node_id: int) -> None:
        response = self.call("POST", f"/api/v1/nodes/{node_id}/revoke")
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def shared_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProcess]:
    """One Cloud for a module's tests that do not stop it (it takes a second or two to start)."""
    cloud = CloudProcess(tmp_path_factory.mktemp("cloud"))
    try:
        yield cloud.start()
    finally:
        cloud.stop()


@pytest.fixture
def own_cloud(tmp_path: Path) -> Iterator[CloudProcess]:
    """A Cloud of the test's own, not started yet (the test may stop and restart it)."""
    cloud = CloudProcess(tmp_path / "cloud")
    try:
        yield cloud
    finally:
        cloud.stop()


class _EchoHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"app saw {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def app_port() -> Iterator[int]:
    """An application for proxies to stand in front of: 200 to every GET."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def eventually(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"did not happen in time: {what}"
        time.sleep(0.1)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the node's variables, plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WALLARM_", "NGINX_")) and key != "POD_NAMESPACE"
    }
    env.update(extra)
    return env


@dataclass
class Command:
    """A `wallarm-sidecar` child process, stopped (and reaped) by the fixture."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]

    def port(self, name: str) -> int:
        return int(self.env[name].rpartition(":")[2])

    def status(self) -> dict[str, Any]:
        code, body = http_get(self.port("NGINX_STATUS_PORT"), "/wallarm-status")
        assert code == 200
        return dict(json.loads(body))

    def metrics(self) -> str:
        code, body = http_get(self.port("NGINX_WALLARM_METRICS_PORT"), "/wallarm-metrics")
        assert code == 200
        return body.decode()

    def get(self, path: str) -> int:
        return http_get(self.port("NGINX_LISTEN_PORT"), path)[0]

    def wait_ready(self, timeout: float = 30.0) -> Command:
        def ready() -> bool:
            assert self.process.poll() is None, self.output()
            try:
                return http_get(self.port("NGINX_STATUS_PORT"), "/healthz", 1.0)[0] == 200
            except OSError:
                return False

        eventually(ready, timeout, "the proxy became ready")
        return self

    def output(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
        out, err = self.process.communicate(timeout=20)
        return (out + err).decode(errors="replace")


@pytest.fixture
def run_command() -> Iterator[Callable[..., Command]]:
    started: list[Command] = []

    def run(command: str, env: dict[str, str]) -> Command:
        process = subprocess.Popen(
            [sys.executable, "-m", "wallarm_sidecar", command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        started.append(Command(process, env))
        return started[-1]

    yield run
    for command in started:
        if command.process.poll() is None:
            command.process.terminate()
            try:
                command.process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                command.process.kill()
                command.process.communicate(timeout=10)
