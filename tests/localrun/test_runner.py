"""The runner in-process: the loopback port check and `LocalPod` from Python."""

from __future__ import annotations

import asyncio
import errno
import io
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.localrun.test_plan import injected, options
from tests.support import free_port
from wallarm_sidecar.localrun import LocalPod, PlanOptions, PodFailed, plan_pod
from wallarm_sidecar.localrun._runner import _check_ports_free


def test_ports_below_1024_without_root_are_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = plan_pod(injected(), options(network="loopback"))

    def refuse(self: socket.socket, address: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(socket.socket, "bind", refuse)
    with pytest.raises(PodFailed) as caught:
        _check_ports_free(plan)
    assert str(caught.value) == (
        "port 80 (application http) cannot be used: permission denied: ports below 1024 "
        "need root; map it with --port 80=OTHER, or use --free-ports"
    )


def test_free_ports_pass() -> None:
    ports = {}
    for name in (80, 26001, 10246, 18080):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports[name] = sock.getsockname()[1]
    _check_ports_free(plan_pod(injected(), options(network="loopback", port_map=ports)))


async def test_local_pod_from_python_with_an_exec_probe(tmp_path: Path) -> None:
    """The Python face that `demo` may use: plan, start, wait_ready, stop, in-process."""
    port = free_port()
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "api"},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "kennethreitz/httpbin",
                    "ports": [{"name": "http", "containerPort": 80}],
                    # an exec probe of our own command: mapped to this Python, with the env
                    "readinessProbe": {
                        "exec": {"command": ["wallarm-sidecar", "--version"]},
                        "periodSeconds": 1,
                    },
                }
            ]
        },
    }
    state = tmp_path / "state"
    options = PlanOptions(
        name="api",
        network="loopback",
        state_dir=str(state),
        python=sys.executable,
        base_env=dict(os.environ),
        port_map={80: port},
        loopback_reason="a test",
    )
    plan = plan_pod(pod, options)
    out = io.StringIO()
    local = LocalPod(plan, state_dir=state, out=out, keep_logs=True)
    try:
        await local.start()
        await local.wait_ready(60)
        assert local.ready_count() == (1, 1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /ip HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = await reader.read()
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200") and b'"origin": "127.0.0.1"' in answer
    finally:
        problems = await local.stop()
    assert problems == []
    assert "READY 1/1" in out.getvalue()
    assert (state / "logs" / "web.log").read_bytes()  # gunicorn's log lines
    assert not (state / "volumes").exists()


async def test_a_netns_plan_needs_a_network() -> None:
    plan = plan_pod(injected(), options())
    with pytest.raises(ValueError, match="needs a PodNetwork"):
        LocalPod(plan, state_dir=Path("/nonexistent"), out=io.StringIO())
