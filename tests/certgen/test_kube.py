"""The API client against the local stand-in: TLS, token, errors, retries with backoff."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.certgen.apiserver import Fault, StandInApiServer
from wallarm_sidecar.certgen import (
    CertgenError,
    KubeApiError,
    KubeClient,
    KubeConnection,
    KubeUnreachable,
    in_cluster_server,
    secrets_path,
)

PATH = secrets_path("wallarm", "webhook-cert")


class FakeTime:
    """A clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def _client(api: StandInApiServer, clock: FakeTime | None = None, **connection: Any) -> KubeClient:
    time = clock or FakeTime()
    settings: dict[str, Any] = {
        "server": api.url,
        "token_file": api.token_file,
        "ca_file": api.ca_file,
        **connection,
    }
    return KubeClient(KubeConnection(**settings), sleep=time.sleep, clock=time.clock)


def _seed(api: StandInApiServer) -> None:
    api.secrets["wallarm", "webhook-cert"] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "webhook-cert", "namespace": "wallarm", "resourceVersion": "1"},
        "data": {},
    }


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_request_carries_the_token_and_verifies_the_server(apiserver: StandInApiServer) -> None:
    _seed(apiserver)
    assert _client(apiserver).request("GET", PATH)["metadata"]["name"] == "webhook-cert"
    (request,) = apiserver.requests
    assert request.headers["authorization"] == "Bearer stand-in-token"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("wallarm-sidecar-certgen/")


def test_the_token_file_is_read_for_every_request(apiserver: StandInApiServer) -> None:
    _seed(apiserver)
    client = _client(apiserver)
    client.request("GET", PATH)
    apiserver.token = "rotated"
    apiserver.token_file.write_text("rotated")
    client.request("GET", PATH)


def test_two_503_then_success_are_retried_with_backoff(apiserver: StandInApiServer) -> None:
    _seed(apiserver)
    apiserver.faults.append(Fault("GET", PATH, 503, times=2))
    time = FakeTime()
    assert _client(apiserver, time).request("GET", PATH)["kind"] == "Secret"
    assert time.sleeps == [0.5, 1.0]
    assert len(apiserver.requests) == 3


def test_persistent_5xx_gives_up_after_the_retry_budget(apiserver: StandInApiServer) -> None:
    apiserver.faults.append(Fault("GET", PATH, 500, times=1000, message="etcd is down"))
    time = FakeTime()
    with pytest.raises(KubeApiError) as caught:
        _client(apiserver, time, retry_for=10.0).request("GET", PATH, what="secret x")
    assert caught.value.status == 500
    assert "etcd is down" in str(caught.value) and "gave up after 10s" in str(caught.value)
    assert sum(time.sleeps) <= 10.0
    assert time.sleeps[:4] == [0.5, 1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("status", "words"),
    [
        pytest.param(401, ["401", "token"], id="401"),
        pytest.param(403, ["403", "Role", "cannot get resource"], id="403"),
        pytest.param(404, ["404", "not found"], id="404"),
        pytest.param(409, ["409", "exists already"], id="409"),
    ],
)
def test_client_errors_fail_at_once_in_one_line(
    apiserver: StandInApiServer, status: int, words: list[str]
) -> None:
    message = 'secrets "webhook-cert" is forbidden: User "x" cannot get resource "secrets"'
    apiserver.faults.append(Fault("GET", PATH, status, message=message))
    time = FakeTime()
    with pytest.raises(KubeApiError) as caught:
        _client(apiserver, time).request("GET", PATH, what="secret wallarm/webhook-cert")
    text = str(caught.value)
    assert caught.value.status == status and "\n" not in text
    assert text.startswith("GET secret wallarm/webhook-cert: ")
    for word in words:
        assert word in text
    assert time.sleeps == []


def test_a_wrong_token_is_401(apiserver: StandInApiServer, tmp_path: Path) -> None:
    (tmp_path / "wrong").write_text("wrong")
    with pytest.raises(KubeApiError, match="401 Unauthorized: the API server refused"):
        _client(apiserver, token_file=tmp_path / "wrong").request("GET", PATH)


def test_an_unreachable_server_is_retried_then_named(apiserver: StandInApiServer) -> None:
    time = FakeTime()
    client = _client(apiserver, time, server=f"https://127.0.0.1:{_closed_port()}")
    with pytest.raises(KubeUnreachable, match="cannot reach the Kubernetes API at https://127"):
        client.request("GET", PATH)
    assert time.sleeps[:5] == [0.5, 1.0, 2.0, 4.0, 5.0]
    assert 25.0 <= sum(time.sleeps) <= 30.0


def test_an_untrusted_server_fails_at_once(apiserver: StandInApiServer, tmp_path: Path) -> None:
    time = FakeTime()
    with pytest.raises(KubeUnreachable, match="not trusted"):
        _client(apiserver, time, ca_file=None).request("GET", PATH)
    assert time.sleeps == []


def test_insecure_skip_tls_verify_needs_no_ca(apiserver: StandInApiServer) -> None:
    _seed(apiserver)
    client = _client(apiserver, ca_file=None, insecure_skip_tls_verify=True)
    assert client.request("GET", PATH)["kind"] == "Secret"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"server": "http://127.0.0.1:1"}, "must be an https:// URL", id="http"),
        pytest.param({"ca_file": Path("/nonexistent/ca.crt")}, "cannot load the API", id="no-ca"),
    ],
)
def test_bad_connection_settings(
    apiserver: StandInApiServer, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(CertgenError, match=message):
        _client(apiserver, **change)


def test_a_missing_token_file_says_what_to_set(apiserver: StandInApiServer) -> None:
    client = _client(apiserver, token_file=Path("/nonexistent/token"))
    with pytest.raises(CertgenError, match="--token-file"):
        client.request("GET", PATH)


@pytest.mark.parametrize(
    ("environ", "server"),
    [
        pytest.param(
            {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"},
            "https://10.96.0.1:443",
            id="v4",
        ),
        pytest.param(
            {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"},
            "https://[fd00::1]:6443",
            id="v6",
        ),
        pytest.param({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "https://10.0.0.1:443", id="no-port"),
        pytest.param({}, None, id="not-in-a-pod"),
    ],
)
def test_in_cluster_server(environ: dict[str, str], server: str | None) -> None:
    assert in_cluster_server(environ) == server


def _tcp_server(answer: bytes) -> tuple[socket.socket, threading.Thread]:
    """Accept connections, send `answer` (maybe nothing), close: not an apiserver."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    listener.settimeout(0.05)

    def serve() -> None:
        while listener.fileno() != -1:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(5)
            with connection:
                connection.recv(4096)
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize(
    ("answer", "retried", "message"),
    [
        pytest.param(b"", True, "cannot reach the Kubernetes API", id="cut-during-handshake"),
        pytest.param(
            b"HTTP/1.1 400 Bad Request\r\n\r\n", False, "TLS with the API server", id="plain-http"
        ),
    ],
)
def test_tls_failures(
    apiserver: StandInApiServer, answer: bytes, retried: bool, message: str
) -> None:
    listener, thread = _tcp_server(answer)
    try:
        time = FakeTime()
        port = listener.getsockname()[1]
        client = _client(apiserver, time, server=f"https://127.0.0.1:{port}", retry_for=2.0)
        with pytest.raises(KubeUnreachable, match=message):
            client.request("GET", PATH)
        assert bool(time.sleeps) is retried
    finally:
        listener.close()
        thread.join(5)
