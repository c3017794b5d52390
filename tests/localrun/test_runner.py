"""Pieces of the runner that need no processes: the loopback port check."""

from __future__ import annotations

import errno
import socket
from typing import Any

import pytest

from tests.localrun.test_plan import injected, options
from wallarm_sidecar.localrun import PodFailed, plan_pod
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
