"""`CloudClient` and friends against a real Cloud process, and against hostile servers."""

from __future__ import annotations

import datetime
import json
import random
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloudlink.conftest import ADMIN, CloudProcess
from tests.support import free_port
from wallarm_sidecar._options import ConfigError
from wallarm_sidecar.certgen import generate_bundle
from wallarm_sidecar.cloudlink import (
    CloudClient,
    CloudEndpoint,
    CloudError,
    CredentialRejected,
    NodeRegistration,
    backoff_delays,
    load_registration,
    save_registration,
)
from wallarm_sidecar.injector import mint_scoped_credential
from wallarm_sidecar.proxy import IpLists, NodeModeRules


# -- the endpoint -------------------------------------------------------------------------
def test_endpoint_defaults_are_the_public_cloud() -> None:
    assert CloudEndpoint.from_env({}) == CloudEndpoint("api.wallarm.com", 443, True, True)


def test_endpoint_reads_the_four_variables(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    env = {
        "WALLARM_API_HOST": "[::1]",
        "WALLARM_API_PORT": "8080",
        "WALLARM_API_USE_SSL": "false",
        "WALLARM_API_CA_VERIFY": str(bundle),
    }
    endpoint = CloudEndpoint.from_env(env)
    assert endpoint == CloudEndpoint("::1", 8080, False, str(bundle))
    assert endpoint.url == "http://[::1]:8080"
    assert CloudEndpoint.from_env({"WALLARM_API_CA_VERIFY": "False"}).ca_verify is False


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("WALLARM_API_HOST", "https://api.example", "without a scheme"),
        ("WALLARM_API_HOST", "api.example/evil", "host name"),
        ("WALLARM_API_HOST", "a b", "host name"),
        ("WALLARM_API_PORT", "0", "1-65535"),
        ("WALLARM_API_PORT", "443x", "1-65535"),
        ("WALLARM_API_USE_SSL", "maybe", "on or off"),
        ("WALLARM_API_CA_VERIFY", "/no/such/bundle.pem", "CA bundle"),
    ],
)
def test_a_bad_endpoint_variable_is_one_line_naming_it(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        CloudEndpoint.from_env({name: value})
    message = str(caught.value)
    assert name in message and repr(value) in message and says in message
    assert "\n" not in message


# -- backoff ------------------------------------------------------------------------------
def test_backoff_grows_exponentially_up_to_the_cap_with_full_jitter() -> None:
    delays = backoff_delays(0.5, 8.0, random.Random(7))
    taken = [next(delays) for _ in range(200)]
    ceilings = [min(8.0, 0.5 * 2**n) for n in range(200)]
    assert all(0.0 <= d <= c for d, c in zip(taken, ceilings, strict=True))
    late = taken[10:]
    assert max(late) > 6.0 and min(late) < 2.0  # jitter spreads over the whole range
    assert sum(late) / len(late) == pytest.approx(4.0, rel=0.25)
    again = backoff_delays(0.5, 8.0, random.Random(7))
    assert [next(again) for _ in range(200)] == taken
    with pytest.raises(ValueError):
        next(backoff_delays(0, 1, random.Random()))


# -- the saved registration -------------------------------------------------------------------
REGISTRATION = NodeRegistration(7, "pod-1", "shop", "default", "pod-1", "wsn_secret")


def test_registration_is_saved_atomically_private_and_read_back(tmp_path: Path) -> None:
    directory = tmp_path / "wallarm"
    assert load_registration(directory) is None
    path = save_registration(directory, REGISTRATION)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_registration(directory) == REGISTRATION
    assert [p.name for p in directory.iterdir()] == [path.name]  # no temporary left behind
    assert "wsn_secret" not in repr(REGISTRATION)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[]",
        b'{"node_id": "7"}',
        b'{"node_id": 7, "name": "x"}',
        b'{"node_id": 7, "name": "x", "node_credential": "wsn_a\\r\\nX-Evil: 1"}',
        b"\xff\xfe",
    ],
)
def test_an_unusable_registration_file_is_ignored(tmp_path: Path, content: bytes) -> None:
    save_registration(tmp_path, REGISTRATION)
    (tmp_path / "node-registration.json").write_bytes(content)
    assert load_registration(tmp_path) is None


# -- against the real Cloud -----------------------------------------------------------------------
@pytest.fixture
def admin(shared_cloud: CloudProcess) -> Iterator[CloudClient]:
    with CloudClient(shared_cloud.endpoint, ADMIN) as client:
        yield client


def test_register_with_an_api_token_and_a_group(
    shared_cloud: CloudProcess, admin: CloudClient
) -> None:
    registration = admin.register("api-pod", group="api-group", namespace="shop", pod="api-pod")
    assert registration.name == "api-pod" and registration.group == "api-group"
    assert registration.namespace == "shop" and registration.node_credential.startswith("wsn_")
    again = admin.register("api-pod", group="api-group", namespace="shop", pod="api-pod")
    assert again.node_id == registration.node_id  # one node per pod
    assert again.node_credential != registration.node_credential
    assert [n["name"] for n in shared_cloud.nodes("api-group")] == ["api-pod"]


def test_register_with_a_node_token_goes_into_its_group(shared_cloud: CloudProcess) -> None:
    token = shared_cloud.token("node", group="token-group")
    with CloudClient(shared_cloud.endpoint, token) as client:
        registration = client.register("token-pod")
        assert registration.group == "token-group"
        with pytest.raises(CredentialRejected) as caught:
            client.register("token-pod", group="another-group")
    assert caught.value.status == 403 and "token-group" in str(caught.value)


def test_register_with_a_scoped_credential_from_the_injector(shared_cloud: CloudProcess) -> None:
    credential = mint_scoped_credential(ADMIN, "scoped-group", "payments", issued_at=1700000000)
    with CloudClient(shared_cloud.endpoint, credential) as client:
        registration = client.register("scoped-pod", namespace="ignored", pod="scoped-pod")
        with pytest.raises(CredentialRejected):
            client.node_config()  # it registers, and does nothing else
    assert (registration.group, registration.namespace) == ("scoped-group", "payments")
    forged = mint_scoped_credential("wsk_not-the-deployment-token", "scoped-group", "payments")
    with CloudClient(shared_cloud.endpoint, forged) as client, pytest.raises(CredentialRejected):
        client.register("forged-pod")


def test_node_config_is_what_the_proxy_reads_and_marks_the_node_seen(
    shared_cloud: CloudProcess, admin: CloudClient
) -> None:
    registration = admin.register("config-pod", group="config-group")
    shared_cloud.set_rules(
        {"node_group": "config-group", "mode": "block"},
        {"node_group": None, "application": "shop", "mode": "monitoring"},
    )
    shared_cloud.add_ip("deny", "203.0.113.7")
    before = {n["name"]: n["last_seen"] for n in shared_cloud.nodes("config-group")}
    with CloudClient(shared_cloud.endpoint, registration.node_credential) as node:
        answer = node.node_config()
        with pytest.raises(CredentialRejected):
            node.node_config(group="another-group")
    rules = NodeModeRules.from_document(answer["node_config"])
    assert str(rules.mode) == "block" and str(rules.mode_for("shop")) == "monitoring"
    lists = IpLists.from_document(answer["ip_lists"])
    assert lists.lookup("203.0.113.7", "", 0.0).name == "DENY"
    after = {n["name"]: n["last_seen"] for n in shared_cloud.nodes("config-group")}
    assert after["config-pod"] > before["config-pod"]
    assert admin.node_config(group="config-group")["node_config"]["mode"] == "block"


def test_post_hits_stores_once_and_counts_duplicates(admin: CloudClient) -> None:
    registration = admin.register("hits-pod", group="hits-group")
    record = {
        "request_id": "cloudlink-test-1",
        "time": 1767225600.5,
        "node": "hits-pod",
        "client_ip": "198.51.100.9",
        "method": "GET",
        "host": "app.example",
        "path": "/etc/passwd",
        "status": 404,
        "blocked": False,
        "mode": "monitoring",
        "hits": [{"attack_type": "ptrav", "point": "uri", "fragment": "../", "rule_id": "1"}],
    }
    with CloudClient(admin.endpoint, registration.node_credential) as node:
        assert node.post_hits([record]) == (1, 0)
        assert node.post_hits([record]) == (0, 1)
        with pytest.raises(CloudError) as caught:
            node.post_hits([{"request_id": "no other fields"}])
    assert caught.value.status == 422 and not caught.value.retryable
    assert "Field required" in str(caught.value)


def test_request_json_reaches_other_endpoints_with_or_without_the_prefix(
    admin: CloudClient,
) -> None:
    entry = admin.request_json("POST", "/ip-lists", {"list": "gray", "ip": "192.0.2.0/24"})
    assert entry["ip"] == "192.0.2.0/24"
    page = admin.request_json("GET", "/api/v1/ip-lists", query={"list": "gray"})
    assert entry["id"] in [item["id"] for item in page["items"]]
    assert admin.request_json("DELETE", f"ip-lists/{entry['id']}") is None
    with pytest.raises(CloudError) as caught:
        admin.request_json("DELETE", f"/ip-lists/{entry['id']}")
    assert caught.value.status == 404 and not caught.value.retryable
    with pytest.raises(CloudError):
        admin.request_json("POST", "/ip-lists", {"bad": float("nan")})


def test_one_keep_alive_connection_serves_many_calls(admin: CloudClient) -> None:
    admin.request_json("GET", "/tokens")
    first = admin._connection
    for _ in range(5):
        admin.request_json("GET", "/tokens")
    assert first is not None and admin._connection is first


def test_unknown_and_forbidden_credentials_are_rejected(shared_cloud: CloudProcess) -> None:
    unknown = CloudClient(shared_cloud.endpoint, "wsk_unknown")
    with unknown as client, pytest.raises(CredentialRejected) as caught:
        client.node_config()
    assert caught.value.status == 401 and not caught.value.retryable
    read_only = shared_cloud.token("read-only")
    with (
        CloudClient(shared_cloud.endpoint, read_only) as client,
        pytest.raises(CredentialRejected) as caught,
    ):
        client.register("ro-pod")
    assert caught.value.status == 403


def test_https_with_a_ca_bundle_with_verification_off_and_refused_otherwise(
    own_cloud: CloudProcess, tmp_path: Path
) -> None:
    bundle = generate_bundle(["127.0.0.1"], now=datetime.datetime.now(datetime.UTC))
    (tmp_path / "tls.crt").write_bytes(bundle.cert)
    (tmp_path / "tls.key").write_bytes(bundle.key)
    (tmp_path / "ca.pem").write_bytes(bundle.ca)
    own_cloud.tls = (tmp_path / "tls.crt", tmp_path / "tls.key")
    own_cloud.start()
    port = own_cloud.port
    for verify in (str(tmp_path / "ca.pem"), False):
        endpoint = CloudEndpoint("127.0.0.1", port, use_ssl=True, ca_verify=verify)
        with CloudClient(endpoint, ADMIN) as client:
            assert client.register("tls-pod").group == "defaultSidecarGroup"
    verifying = CloudClient(CloudEndpoint("127.0.0.1", port, True, True), ADMIN)
    with verifying as client, pytest.raises(CloudError) as caught:
        client.register("tls-pod")
    assert caught.value.retryable and "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


# -- a Cloud that is away, or hostile ------------------------------------------------------------
def test_nobody_listening_is_a_retryable_error() -> None:
    away = CloudClient(CloudEndpoint("127.0.0.1", free_port(), False, False), "t")
    with away as client, pytest.raises(CloudError) as caught:
        client.node_config()
    assert caught.value.retryable and caught.value.status is None
    assert not isinstance(caught.value, CredentialRejected)


class ScriptedServer:
    """Answers each connection's requests with the next scripted bytes; None closes."""

    def __init__(self, answers: list[bytes | None], *, close_after_each: bool = False) -> None:
        self.answers = answers
        self.close_after_each = close_after_each
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with sock:
                while self.answers:
                    if not sock.recv(65536):
                        break
                    answer = self.answers.pop(0)
                    if answer is None:
                        break
                    sock.sendall(answer)
                    if self.close_after_each:
                        break

    def client(self, timeout: float = 5.0, max_response: int = 4096) -> CloudClient:
        endpoint = CloudEndpoint("127.0.0.1", self.port, False, False)
        return CloudClient(endpoint, "t", timeout, max_response=max_response)

    def close(self) -> None:
        self.listener.close()


def _answer(status: str, body: bytes, *extra: bytes) -> bytes:
    head = b"HTTP/1.1 " + status.encode() + b"\r\nContent-Length: %d\r\n" % len(body)
    return head + b"".join(extra) + b"\r\n" + body


@pytest.mark.parametrize(
    ("answer", "says", "retryable"),
    [
        (_answer("200 OK", b"{not json"), "not JSON", True),
        (_answer("200 OK", b"[" * 2000 + b"]" * 2000), "not JSON", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n{}", "larger", True),
        (_answer("200 OK", b"x" * 5000), "larger", True),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1400\r\n" + b"x" * 5120,
            "larger",
            True,
        ),
        (_answer("200 OK", b'{"node_config": {}}'), "ip_lists missing", True),
        (
            _answer("500 Oops", b'{"detail": "database \\u0000 down\\n"}'),
            "HTTP 500 Oops: database",
            True,
        ),
        (_answer("429 Slow Down", b""), "429", True),
        (_answer("302 Found", b"", b"Location: http://elsewhere\r\n"), "302", False),
        (b"SMTP ready\r\n\r\n", "127.0.0.1", True),
        (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 200 + b"\r\n", "127.0.0.1", True),
        (None, "127.0.0.1", True),
    ],
    ids=[
        "malformed-json",
        "deeply-nested",
        "declared-too-large",
        "too-large",
        "chunked-too-large",
        "wrong-shape",
        "server-error",
        "rate-limited",
        "redirect",
        "not-http",
        "too-many-headers",
        "closed",
    ],
)
def test_hostile_answers_are_cloud_errors(answer: bytes | None, says: str, retryable: bool) -> None:
    server = ScriptedServer([answer])
    try:
        with server.client() as client, pytest.raises(CloudError) as caught:
            client.node_config()
    finally:
        server.close()
    assert says in str(caught.value) and caught.value.retryable is retryable
    assert all(c.isprintable() for c in str(caught.value))


def test_a_silent_server_times_out() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        endpoint = CloudEndpoint("127.0.0.1", listener.getsockname()[1], False, False)
        with CloudClient(endpoint, "t", timeout=0.3) as client, pytest.raises(CloudError) as caught:
            client.node_config()
    finally:
        listener.close()
    assert "no answer within 0.3s" in str(caught.value) and caught.value.retryable


def test_a_connection_closed_while_idle_is_reopened_once() -> None:
    body = json.dumps({"node_config": {}, "ip_lists": {}}).encode()
    server = ScriptedServer([_answer("200 OK", body)] * 3, close_after_each=True)
    try:
        with server.client() as client:
            for _ in range(3):
                assert client.node_config() == {"node_config": {}, "ip_lists": {}}
    finally:
        server.close()
    assert server.connections == 3


def test_a_credential_that_could_split_headers_is_refused() -> None:
    endpoint = CloudEndpoint("127.0.0.1", 1, False, False)
    for bad in ("", "a b", "a\r\nX-Evil: 1"):
        with pytest.raises(ValueError):
            CloudClient(endpoint, bad)
