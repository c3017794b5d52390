"""The webhook server over real TLS: round trips, 400s, metrics, logs, reload, refusals."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonpatch
import pytest
from cryptography import x509

from tests.injector.helpers import admission_review, pod, validate
from tests.injector.tls import write_self_signed
from wallarm_sidecar.cli import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Controller:
    port: int
    cert: Path
    key: Path
    log: Path
    process: subprocess.Popen[bytes]

    def client_context(self) -> ssl.SSLContext:
        # Trust whatever certificate is current (it is its own CA).
        return ssl.create_default_context(cafile=str(self.cert))

    def connect(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            "localhost", self.port, context=self.client_context(), timeout=10
        )

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


def _post(connection: http.client.HTTPSConnection, body: bytes) -> tuple[int, bytes]:
    connection.request(
        "POST", "/inject?timeout=10s", body=body, headers={"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    return response.status, response.read()


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    running = _start(tmp_path_factory.mktemp("controller"))
    yield running
    running.process.terminate()
    running.process.wait(timeout=10)


def _start(directory: Path) -> Controller:
    cert, key, log = directory / "tls.crt", directory / "tls.key", directory / "log.jsonl"
    write_self_signed(cert, key)
    config = directory / "config.yaml"
    config.write_text(
        "wallarm:\n  mode: block\n  api: {host: api.example.test, nodeGroup: shop}\n"
        "wstore: {host: rel-postanalytics.wallarm.svc, port: 3313}\n"
    )
    port = _free_port()
    env = {**os.environ, "WALLARM_API_TOKEN": "org-token", "WALLARM_TLS_RELOAD_INTERVAL": "100ms"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wallarm_sidecar",
                "controller",
                "--listen",
                f"127.0.0.1:{port}",
                "--tls-cert-file",
                str(cert),
                "--tls-key-file",
                str(key),
                "--config",
                str(config),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    running = Controller(port, cert, key, log, process)
    deadline = time.monotonic() + 20
    while True:
        try:
            connection = running.connect()
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise RuntimeError(f"controller did not start: {log.read_text()}") from None
            time.sleep(0.05)
    return running


def test_sigterm_stops_it_promptly_despite_an_idle_keep_alive_connection(tmp_path: Path) -> None:
    running = _start(tmp_path)
    connection = running.connect()
    connection.request("GET", "/healthz")
    assert connection.getresponse().read() == b"ok\n"
    started = time.monotonic()
    running.process.terminate()
    try:
        running.process.wait(timeout=10)
    finally:
        running.process.kill()
        connection.close()
    assert time.monotonic() - started < 5


def test_admission_round_trip_over_tls(controller: Controller) -> None:
    review = admission_review(pod(), namespace="shop")
    connection = controller.connect()
    status, body = _post(connection, json.dumps(review).encode())
    assert status == 200
    answer = json.loads(body)
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert response["uid"] == review["request"]["uid"] and response["allowed"] is True
    assert response["patchType"] == "JSONPatch"
    patched = jsonpatch.apply_patch(
        review["request"]["object"], json.loads(base64.b64decode(response["patch"]))
    )
    proxy = patched["spec"]["containers"][-1]
    environment = {e["name"]: e.get("value") for e in proxy["env"]}
    assert environment["WALLARM_MODE"] == "block"
    assert environment["WALLARM_WSTORE_HOST"] == "rel-postanalytics.wallarm.svc"
    assert environment["WALLARM_API_HOST"] == "api.example.test"
    assert environment["WALLARM_LABELS"] == "group=shop"
    assert "org-token" not in body.decode()
    del patched["status"]
    validate(patched)


def test_malformed_bodies_get_400_and_the_connection_keeps_serving(controller: Controller) -> None:
    connection = controller.connect()
    for bad in (
        b"not json",
        b"[]",
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}',
    ):
        status, body = _post(connection, bad)
        assert status == 400 and b"malformed AdmissionReview" in body
    status, _ = _post(connection, json.dumps(admission_review(pod(), uid="after-400")).encode())
    assert status == 200


def test_denied_skipped_and_dry_run(controller: Controller) -> None:
    connection = controller.connect()
    denied = admission_review(
        pod(annotations={"sidecar.wallarm.io/nginx-listen-port": "8080"}), uid="denied-1"
    )
    response = json.loads(_post(connection, json.dumps(denied).encode())[1])["response"]
    assert (
        response["allowed"] is False and "nginx-listen-port='8080'" in response["status"]["message"]
    )
    skipped = admission_review(pod(labels={"app": "x"}), uid="skipped-1")
    assert json.loads(_post(connection, json.dumps(skipped).encode())[1])["response"] == {
        "uid": "skipped-1",
        "allowed": True,
    }
    dry = admission_review(pod(), uid="dry-1", dry_run=True)
    assert "patch" in json.loads(_post(connection, json.dumps(dry).encode())[1])["response"]
    time.sleep(0.1)
    lines = {
        line.get("uid"): line for line in controller.log_lines() if line.get("event") == "admission"
    }
    assert (
        lines["denied-1"]["decision"] == "denied"
        and lines["denied-1"]["reason"] == "invalid-annotation"
    )
    assert lines["skipped-1"]["decision"] == "skipped"
    assert lines["dry-1"]["dry_run"] is True
    for line in lines.values():
        assert {"uid", "namespace", "owner", "decision", "reason", "duration_ms"} <= set(line)
    assert lines["dry-1"]["namespace"] == "shop" and lines["dry-1"]["owner"] == "Pod/web"


def test_metrics_count_reviews_by_decision_and_reason(controller: Controller) -> None:
    connection = controller.connect()
    _post(connection, json.dumps(admission_review(pod(), uid="m-1")).encode())
    _post(connection, b"{")
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    assert 'wallarm_sidecar_admission_reviews_total{decision="injected",reason="injected"}' in text
    assert 'wallarm_sidecar_admission_reviews_total{decision="errors",reason="malformed"}' in text
    assert "wallarm_sidecar_admission_duration_seconds_bucket" in text


def test_unknown_paths_and_methods(controller: Controller) -> None:
    connection = controller.connect()
    connection.request("GET", "/inject")
    response = connection.getresponse()
    assert (response.status, response.read()) == (405, b"POST an AdmissionReview\n")
    connection.request("GET", "/nope")
    assert connection.getresponse().status == 404


def _served_serial(controller: Controller) -> int:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", controller.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return int(x509.load_der_x509_certificate(der).serial_number)


def test_the_certificate_is_reloaded_when_its_files_change(controller: Controller) -> None:
    before = _served_serial(controller)
    serial = write_self_signed(controller.cert, controller.key)
    assert serial != before
    deadline = time.monotonic() + 10
    while _served_serial(controller) != serial:
        assert time.monotonic() < deadline, "the new certificate was not served"
        time.sleep(0.05)
    connection = controller.connect()  # verifies against the new certificate
    assert (
        _post(connection, json.dumps(admission_review(pod(), uid="after-reload")).encode())[0]
        == 200
    )
    assert any(line.get("event") == "certificate" for line in controller.log_lines())


# -- start-up refusals (in-process: they happen before listening) --------------------------


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    write_self_signed(cert, key)
    return cert, key


@pytest.mark.parametrize(
    ("case", "words"),
    [
        pytest.param("no-token", "no API token", id="no-token"),
        pytest.param("no-tls", "TLS material is required", id="no-tls"),
        pytest.param("missing-cert", "does not exist", id="missing-cert"),
        pytest.param("garbage-cert", "cannot load the TLS certificate", id="garbage-cert"),
        pytest.param("bad-config", "wallarm.mode", id="bad-config"),
        pytest.param("values-file", "looks like a values file", id="values-file"),
        pytest.param("bad-listen", "WALLARM_CONTROLLER_LISTEN", id="bad-listen"),
    ],
)
def test_the_controller_refuses_to_start(  # noqa: PLR0917 (pytest passes fixtures and parameters by name)
    case: str,
    words: str,
    tls_files: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cert, key = tls_files
    monkeypatch.delenv("WALLARM_API_TOKEN", raising=False)
    for variable in (
        "WALLARM_TLS_CERT_FILE",
        "WALLARM_TLS_KEY_FILE",
        "WALLARM_CONTROLLER_CONFIG",
        "WALLARM_CONTROLLER_LISTEN",
    ):
        monkeypatch.delenv(variable, raising=False)
    if case != "no-token":
        monkeypatch.setenv("WALLARM_API_TOKEN", "tok")
    argv = ["controller", "--listen", ":18443"]
    if case != "no-tls":
        argv += ["--tls-cert-file", str(cert if case != "missing-cert" else tmp_path / "nope.crt")]
        argv += ["--tls-key-file", str(key)]
    if case == "garbage-cert":
        cert.write_text("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n")
    if case in ("bad-config", "values-file"):
        config = tmp_path / "config.yaml"
        config.write_text("wallarm: {mode: blocking}\n" if case == "bad-config" else "config: {}\n")
        argv += ["--config", str(config)]
    if case == "bad-listen":
        monkeypatch.setenv("WALLARM_CONTROLLER_LISTEN", "nowhere")
        argv = [a for a in argv if a not in ("--listen", ":18443")]
    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_the_token_may_come_from_the_config_file(
    tls_files: tuple[Path, Path], tmp_path: Path
) -> None:
    from wallarm_sidecar.injector import ControllerSettings, prepare_controller

    config = tmp_path / "config.yaml"
    config.write_text("wallarm: {api: {token: from-config}}\n")
    cert, key = tls_files
    app, _ = prepare_controller(
        ControllerSettings(tls_cert_file=cert, tls_key_file=key, config=config),
        {},
        log=lambda _: None,
    )
    assert app.settings.token == "from-config"
    app, _ = prepare_controller(
        ControllerSettings(tls_cert_file=cert, tls_key_file=key, config=config),
        {"WALLARM_API_TOKEN": "from-env"},
        log=lambda _: None,
    )
    assert app.settings.token == "from-env"


def test_ignored_config_keys_are_logged(tls_files: tuple[Path, Path], tmp_path: Path) -> None:
    from wallarm_sidecar.injector import ControllerSettings, prepare_controller

    config = tmp_path / "config.yaml"
    config.write_text("wallarm: {mdoe: block}\n")
    cert, key = tls_files
    lines: list[dict[str, Any]] = []
    prepare_controller(
        ControllerSettings(tls_cert_file=cert, tls_key_file=key, config=config),
        {"WALLARM_API_TOKEN": "t"},
        log=lines.append,
    )
    assert lines == [{"event": "config", "file": str(config), "ignored_keys": ["wallarm.mdoe"]}]


def test_an_oversized_body_is_refused(controller: Controller) -> None:
    connection = controller.connect()
    status, _ = _post(connection, b" " * (5 * 1024 * 1024))
    assert status == 413
    connection = controller.connect()
    assert (
        _post(connection, json.dumps(admission_review(pod(), uid="after-413")).encode())[0] == 200
    )


def test_unusable_new_certificate_files_keep_the_old_one(tls_files: tuple[Path, Path]) -> None:
    from wallarm_sidecar.injector import ReloadingCertificate

    cert, key = tls_files
    lines: list[dict[str, Any]] = []
    certificate = ReloadingCertificate(cert, key, log=lines.append)
    assert certificate.reload_if_changed() is None  # unchanged
    cert.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    assert certificate.reload_if_changed() is False
    assert lines[-1]["event"] == "certificate" and lines[-1]["result"] == "error"
    assert certificate.reload_if_changed() is None  # not retried until the files change again
    write_self_signed(cert, key)
    assert certificate.reload_if_changed() is True
