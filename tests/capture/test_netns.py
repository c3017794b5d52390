"""init-iptables for real, as root, in a network namespace standing in for a pod.

A veth pair joins the host to the "pod"; inside it run an application on :8080,
the proxy on :26001, and `wallarm-sidecar init-iptables`. Requests from the host
to the pod IP on the application port must go through the proxy; the proxy's own
requests to 127.0.0.1:8080 must not loop. Both iptables back ends are exercised.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wallarm_sidecar.capture import RULE_COMMENT

pytestmark = pytest.mark.root

if os.geteuid() != 0:  # CI runs as root: there this module always runs
    if os.environ.get("CI"):
        raise RuntimeError("the network-namespace tests need root, and CI runs as root")
    pytest.skip("needs root (network namespaces and iptables)", allow_module_level=True)

APP = textwrap.dedent(
    """
    import http.server
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_GET(self):
            body = ("app:" + self.path + " via " + self.client_address[0]).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    http.server.ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
    """
)


@dataclass
class Pod:
    namespace: str
    pod_ip: str
    host_ip: str

    def run(self, *command: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.namespace, *command],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            **kwargs,  # type: ignore[arg-type]
        )

    def start(self, *command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, *command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def pod() -> Iterator[Pod]:
    token = secrets.token_hex(3)
    namespace = f"wsc-{token}"
    host_if, pod_if = f"wsh{token}", f"wsp{token}"
    octet = int(token[:2], 16) % 200 + 20
    # 198.18.0.0/15 is set aside for benchmarking: nothing real lives there.
    host_ip, pod_ip = f"198.18.{octet}.1", f"198.18.{octet}.2"
    try:
        _ip("netns", "add", namespace)
        _ip("link", "add", host_if, "type", "veth", "peer", "name", pod_if)
        _ip("link", "set", pod_if, "netns", namespace)
        _ip("addr", "add", f"{host_ip}/24", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("netns", "exec", namespace, "ip", "addr", "add", f"{pod_ip}/24", "dev", pod_if)
        _ip("netns", "exec", namespace, "ip", "link", "set", pod_if, "up")
        _ip("netns", "exec", namespace, "ip", "link", "set", "lo", "up")
        yield Pod(namespace, pod_ip, host_ip)
    finally:
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, check=False)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_traffic_to_the_app_port_goes_through_the_proxy(
    pod: Pod, backend: str, tmp_path: Path
) -> None:
    app_script = tmp_path / "app.py"
    app_script.write_text(APP)
    env = dict(
        os.environ,
        WALLARM_MODE="block",
        NGINX_LISTEN_PORT="26001",
        NGINX_PROXY_PASS_PORT="8080",
        NGINX_STATUS_PORT="10246",
        NGINX_WALLARM_METRICS_PORT="18080",
        NGINX_WORKER_PROCESSES="1",
        WALLARM_WSTORE_PORT="3313",
        WALLARM_NODE_DIR=str(tmp_path),
        WALLARM_ACL_DIR=str(tmp_path),
        WALLARM_ACCESS_LOG="off",
        POD_IP=pod.pod_ip,
        WALLARM_IPTABLES_BACKEND=backend,
    )
    processes = [
        pod.start(sys.executable, str(app_script), env=env),
        pod.start(sys.executable, "-m", "wallarm_sidecar", "proxy", env=env),
    ]
    try:
        wait_for(f"http://{pod.pod_ip}:10246/healthz")
        wait_for(f"http://{pod.pod_ip}:8080/before")
        # Before the rule, the app port is the app itself: an attack goes straight in.
        assert get(f"http://{pod.pod_ip}:8080/etc/passwd")[0] == 200
        for _ in range(2):  # installing twice leaves one rule
            result = pod.run(sys.executable, "-m", "wallarm_sidecar", "init-iptables", env=env)
            assert result.returncode == 0, result.stderr
        save = pod.run(f"iptables-{backend}-save", "-t", "nat").stdout
        assert save.count(RULE_COMMENT) == 1
        # Now the proxy answers on the app port: the attack is blocked ...
        status, body = get(f"http://{pod.pod_ip}:8080/etc/passwd")
        assert status == 403 and "Request blocked" in body
        # ... and clean requests and kubelet probes reach the app through the proxy,
        # which talks to it on 127.0.0.1 (no loop through the rule).
        status, body = get(f"http://{pod.pod_ip}:8080/healthz", {"User-Agent": "kube-probe/1.30"})
        assert (status, body) == (200, "app:/healthz via 127.0.0.1")
        time.sleep(1.0)
        document = json.loads(get(f"http://{pod.pod_ip}:10246/wallarm-status")[1])
        assert document["requests"] == 2 and document["blocked"] == 1
        assert document["attacks"] == 1  # the probe is not an attack
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def test_bad_settings_exit_2(pod: Pod) -> None:
    env = dict(os.environ, NGINX_PROXY_PASS_PORT="26001", NGINX_LISTEN_PORT="26001")
    result = pod.run(sys.executable, "-m", "wallarm_sidecar", "init-iptables", env=env)
    assert result.returncode == 2 and "equals the listen port" in result.stderr
