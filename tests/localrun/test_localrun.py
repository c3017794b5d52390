"""`wallarm-sidecar localrun` end to end: the documentation's httpbin Deployment, injected by
the real injector, run as processes; a benign request and the documented attack sent to
the pod; the proxy's counters read; nothing left behind.

The network-namespace test needs root (CI runs as root, and there it must run); the
loopback tests run for anyone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.localrun.helpers import (
    Localrun,
    get,
    group_alive,
    inject_fixture,
    state,
    wallarm_status,
    write_pod,
)
from tests.support import free_port
from wallarm_sidecar.capture import RULE_COMMENT

IS_ROOT = os.geteuid() == 0


@pytest.fixture
def runs() -> Iterator[list[Localrun]]:
    started: list[Localrun] = []
    yield started
    for run in started:
        run.clean_up()


def netns_list() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def assert_cleaned_up(run: Localrun, pod: dict[str, object], state_dir: Path) -> None:
    assert "stopped and cleaned up" in run.output
    pids = pod["pids"]
    assert isinstance(pids, dict) and pids
    for name, pid in pids.items():
        assert not group_alive(pid), f"{name} (process group {pid}) is still running"
    assert not (state_dir / "volumes").exists()
    assert (state_dir / "logs").is_dir()  # a given --state-dir keeps the logs
    if pod["netns"]:
        assert pod["netns"] not in netns_list()
        link = subprocess.run(["ip", "link", "show", str(pod["veth"])], capture_output=True)
        assert link.returncode != 0, f"veth {pod['veth']} is still there"


def exercise_pod(host: str, port: int, status: tuple[str, int]) -> dict[str, object]:
    """A benign request and the documented attack; returns the proxy's status document."""
    code, body = get(f"http://{host}:{port}/get?show_env=1")
    assert code == 200, body
    answer = json.loads(body)
    assert answer["url"].endswith("/get?show_env=1")  # httpbin itself answered
    code, _ = get(f"http://{host}:{port}/etc/passwd")
    assert code == 404  # monitoring mode: passed to httpbin, which has no such page
    document = wallarm_status(*status, requests=2, attacks=1)
    assert document["requests"] == 2 and document["attacks"] == 1, document
    assert document["blocked"] == 0 and document["mode"] == "monitoring"
    return document


@pytest.mark.root
def test_the_injected_deployment_in_a_network_namespace(
    tmp_path: Path, runs: list[Localrun]
) -> None:
    if not IS_ROOT:
        if os.environ.get("CI"):
            raise AssertionError("this test needs root, and CI runs as root")
        pytest.skip("needs root (network namespaces and iptables)")
    state_dir = tmp_path / "state"
    manifest = inject_fixture(tmp_path)
    run = Localrun("-f", str(manifest), "--state-dir", str(state_dir), "--grace-period", "10")
    runs.append(run)
    run.wait_for("running; Ctrl-C stops the pod")
    assert "READY 2/2" in run.output
    pod = state(state_dir)
    assert pod["network"] == "netns" and pod["netns"] in netns_list()
    assert f"send traffic to http://{pod['pod_ip']}:80/ (the application port;" in run.output
    # the app port of the pod IP: iptables sends it to the proxy
    assert pod["traffic"] == [pod["pod_ip"], 80]
    saved = subprocess.run(
        ["ip", "netns", "exec", pod["netns"], "iptables-save", "-t", "nat"],
        capture_output=True,
        text=True,
    ).stdout
    assert saved.count(RULE_COMMENT) == 1, saved
    assert "init container sidecar-init-iptables completed" in run.output
    exercise_pod(pod["pod_ip"], 80, tuple(pod["status"]))  # type: ignore[arg-type]
    assert run.stop() == 0, run.output
    assert_cleaned_up(run, pod, state_dir)


@pytest.mark.parametrize(
    ("schema", "native"), [("single", False), ("split", False), ("single", True)]
)
def test_the_injected_deployment_on_loopback(
    schema: str, native: bool, tmp_path: Path, runs: list[Localrun]
) -> None:
    state_dir = tmp_path / "state"
    manifest = inject_fixture(tmp_path, schema, native=native)
    ready = "READY 2/2" if schema == "single" else "READY 3/3"
    run = Localrun("-f", str(manifest), "--state-dir", str(state_dir), "--no-netns", "--free-ports")
    runs.append(run)
    run.wait_for(ready)
    assert "no network namespace: --no-netns was given" in run.output
    assert "sidecar-init-iptables skipped" in run.output
    run.wait_for("running; Ctrl-C stops the pod")
    pod = state(state_dir)
    host, port = pod["traffic"]
    assert host == "127.0.0.1" and port not in (80, 26001)  # the proxy port, remapped
    assert f"send traffic to http://127.0.0.1:{port}/ (the proxy port;" in run.output
    document = exercise_pod(host, port, tuple(pod["status"]))
    assert document["workers"] >= 1
    assert run.stop() == 0, run.output
    assert_cleaned_up(run, pod, state_dir)


def test_a_failing_init_container_fails_the_pod(tmp_path: Path, runs: list[Localrun]) -> None:
    pod_spec = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "broken"},
        "spec": {
            "initContainers": [
                {"name": "setup", "image": "any", "command": ["wallarm-sidecar", "inject"]}
            ],
            "containers": [{"name": "app", "image": "kennethreitz/httpbin"}],
        },
    }
    state_dir = tmp_path / "state"
    run = Localrun("-f", str(write_pod(tmp_path, pod_spec)), "--state-dir", str(state_dir))
    runs.append(run)
    assert run.wait_exit() == 1
    assert "init container setup failed with exit code 2" in run.output
    assert "-f FILE (or - for stdin) is required" in run.output  # its output tail
    assert "started app" not in run.output
    assert_cleaned_up(run, state(state_dir), state_dir)


def test_a_dying_container_is_reported(tmp_path: Path, runs: list[Localrun]) -> None:
    pod_spec = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "dies"},
        "spec": {
            "containers": [
                {
                    "name": "proxy",
                    "image": "any",
                    "command": ["wallarm-sidecar", "proxy"],
                    "env": [{"name": "WALLARM_MODE", "value": "sometimes"}],
                }
            ],
        },
    }
    state_dir = tmp_path / "state"
    run = Localrun(
        "-f", str(write_pod(tmp_path, pod_spec)), "--state-dir", str(state_dir), "--no-netns"
    )
    runs.append(run)
    assert run.wait_exit() == 1
    assert "container proxy exited with code 2" in run.output
    assert "WALLARM_MODE='sometimes'" in run.output
    assert_cleaned_up(run, state(state_dir), state_dir)


def test_a_taken_port_on_loopback_is_a_clear_error(tmp_path: Path, runs: list[Localrun]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        manifest = inject_fixture(tmp_path)
        run = Localrun("-f", str(manifest), "--no-netns", "--free-ports", "--port", f"10246={port}")
        runs.append(run)
        assert run.wait_exit() == 1
    assert f"port {port} (sidecar-proxy status) cannot be used: it is in use" in run.output
    assert "--port 10246=OTHER" in run.output
    assert "started" not in run.output


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        pytest.param([], 2, "-f FILE (or - for stdin) is required", id="no-file"),
        pytest.param(["-f", "/nonexistent.yaml"], 2, "No such file", id="missing-file"),
        pytest.param(["--port", "80:8080"], 2, "must be CONTAINER=HOST", id="bad-port"),
        pytest.param(["--ready-timeout", "soon"], 2, "number of seconds", id="bad-timeout"),
    ],
)
def test_bad_usage_exits_2(
    arguments: list[str], code: int, message: str, tmp_path: Path, runs: list[Localrun]
) -> None:
    if arguments[:1] not in (["-f"], []):
        arguments = ["-f", str(inject_fixture(tmp_path)), *arguments]
    run = Localrun(*arguments)
    runs.append(run)
    assert run.wait_exit() == code
    assert message in run.output


def test_an_unknown_image_exits_1_naming_it(tmp_path: Path, runs: list[Localrun]) -> None:
    pod_spec = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
    }
    run = Localrun("-f", str(write_pod(tmp_path, pod_spec)), "--no-netns")
    runs.append(run)
    assert run.wait_exit() == 1
    assert "Pod/web: container 'web': image 'nginx:1.27' has no local mapping" in run.output


def test_a_pod_that_never_gets_ready_times_out(tmp_path: Path, runs: list[Localrun]) -> None:
    pod_spec = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "sulky"},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "kennethreitz/httpbin",
                    "ports": [{"name": "http", "containerPort": 80}],
                    "readinessProbe": {"httpGet": {"path": "/status/503", "port": "http"}},
                }
            ]
        },
    }
    state_dir = tmp_path / "state"
    manifest = write_pod(tmp_path, pod_spec)
    run = Localrun(
        "-f", str(manifest), "--state-dir", str(state_dir), "--no-netns", "--free-ports",
        "--ready-timeout", "3",
    )  # fmt: skip
    runs.append(run)
    assert run.wait_exit() == 1
    assert "READY 0/1 (not ready: app)" in run.output
    assert "pod failed: not ready after 3s (0/1)" in run.output
    assert "GET /status/503" in run.output  # the app's access log: the probe reached it
    assert_cleaned_up(run, state(state_dir), state_dir)


def test_sigterm_during_the_start_cleans_up(tmp_path: Path, runs: list[Localrun]) -> None:
    """An init container that never ends (a proxy): SIGTERM must still stop everything."""
    pod_spec = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "stuck"},
        "spec": {
            "initContainers": [
                {
                    "name": "forever",
                    "image": "any",
                    "command": ["wallarm-sidecar", "proxy"],
                    "env": [
                        {"name": variable, "value": f"127.0.0.1:{free_port()}"}
                        for variable in (
                            "NGINX_LISTEN_PORT",
                            "NGINX_STATUS_PORT",
                            "NGINX_WALLARM_METRICS_PORT",
                        )
                    ],
                }
            ],
            "containers": [{"name": "app", "image": "kennethreitz/httpbin"}],
        },
    }
    state_dir = tmp_path / "state"
    run = Localrun("-f", str(write_pod(tmp_path, pod_spec)), "--state-dir", str(state_dir))
    runs.append(run)
    run.wait_for("started forever")
    assert run.stop() == 0, run.output
    assert "interrupted" in run.output and "started app" not in run.output
    assert_cleaned_up(run, state(state_dir), state_dir)


def test_killing_localrun_takes_its_processes_along(tmp_path: Path, runs: list[Localrun]) -> None:
    """SIGKILL leaves localrun no time to clean up: its children still go (parent-death
    signal), so no orphaned app or proxy keeps a port."""
    state_dir = tmp_path / "state"
    manifest = inject_fixture(tmp_path)
    run = Localrun(
        "-f", str(manifest), "--state-dir", str(state_dir), "--no-netns", "--free-ports"
    )  # fmt: skip
    runs.append(run)
    run.wait_for("READY 2/2")
    pids = state(state_dir)["pids"]
    os.kill(run.process.pid, signal.SIGKILL)
    run.wait_exit()
    deadline = time.monotonic() + 60
    while any(group_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [name for name, pid in pids.items() if group_alive(pid)]
    assert not alive, f"still running after localrun was killed: {alive}"
