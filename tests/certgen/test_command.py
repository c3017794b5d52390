"""`wallarm-sidecar certgen create|patch` end to end against the local API stand-in."""

from __future__ import annotations

import base64
import datetime
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from tests.certgen.apiserver import Fault, Recorded, StandInApiServer
from wallarm_sidecar.certgen import (
    CertificateBundle,
    bundle_from_secret,
    bundle_problem,
    generate_bundle,
    secret_manifest,
)
from wallarm_sidecar.cli import main

NAMESPACE = "wallarm-sidecar"
SECRET = "wallarm-sidecar-admission"
WEBHOOK = "wallarm-sidecar"
HOSTS = (
    "wallarm-sidecar-controller",
    "wallarm-sidecar-controller.wallarm-sidecar",
    "wallarm-sidecar-controller.wallarm-sidecar.svc",
    "wallarm-sidecar-controller.wallarm-sidecar.svc.cluster.local",
)
NOW = datetime.datetime.now(datetime.UTC)


def _connection(api: StandInApiServer) -> list[str]:
    return [
        "--namespace",
        NAMESPACE,
        "--secret-name",
        SECRET,
        "--api-server",
        api.url,
        "--token-file",
        str(api.token_file),
        "--ca-file",
        str(api.ca_file),
    ]


def create(api: StandInApiServer, *extra: str) -> int:
    return main(["certgen", "create", *_connection(api), "--host", ",".join(HOSTS), *extra])


def patch(api: StandInApiServer, *extra: str) -> int:
    return main(["certgen", "patch", *_connection(api), "--webhook-name", WEBHOOK, *extra])


def _stored(api: StandInApiServer) -> dict[str, Any]:
    return api.secrets[NAMESPACE, SECRET]


def _bundle(api: StandInApiServer) -> CertificateBundle:
    bundle = bundle_from_secret(_stored(api))
    assert bundle is not None
    return bundle


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_create_then_patch_end_to_end(
    apiserver: StandInApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    apiserver.add_webhook_configuration(WEBHOOK, ["injector.sidecar.wallarm.io", "second.io"])
    assert create(apiserver) == 0
    assert "secret wallarm-sidecar/wallarm-sidecar-admission created" in capsys.readouterr().out
    secret = _stored(apiserver)
    assert secret["type"] == "kubernetes.io/tls"
    assert bundle_problem(_bundle(apiserver), hosts=HOSTS, now=NOW) is None
    assert patch(apiserver, "--patch-failure-policy", "Ignore") == 0
    assert "2 of 2 webhooks patched" in capsys.readouterr().out
    for webhook in apiserver.webhooks[WEBHOOK]["webhooks"]:
        assert base64.b64decode(webhook["clientConfig"]["caBundle"]) == _bundle(apiserver).ca
        assert webhook["failurePolicy"] == "Ignore"
    assert apiserver.calls() == [
        ("GET", f"/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}"),
        ("POST", f"/api/v1/namespaces/{NAMESPACE}/secrets"),
        ("GET", f"/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}"),
        ("GET", f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{WEBHOOK}"),
        ("PATCH", f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{WEBHOOK}"),
    ]
    (patch_request,) = [r for r in apiserver.requests if r.method == "PATCH"]
    assert patch_request.headers["content-type"] == "application/json-patch+json"
    assert all(r.headers["authorization"] == "Bearer stand-in-token" for r in apiserver.requests)


def test_create_and_patch_are_idempotent(
    apiserver: StandInApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    apiserver.add_webhook_configuration(WEBHOOK, ["injector.sidecar.wallarm.io"])
    assert create(apiserver) == 0
    assert patch(apiserver) == 0
    first = dict(_stored(apiserver)["data"])
    capsys.readouterr()
    apiserver.requests.clear()
    assert create(apiserver) == 0
    assert "kept: it already holds a usable certificate" in capsys.readouterr().out
    assert patch(apiserver) == 0
    assert "already up to date" in capsys.readouterr().out
    assert _stored(apiserver)["data"] == first
    assert {method for method, _ in apiserver.calls()} == {"GET"}


def test_an_unusable_secret_is_replaced_keeping_its_type_and_other_keys(
    apiserver: StandInApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    old = secret_manifest(
        name=SECRET,
        namespace=NAMESPACE,
        bundle=generate_bundle(["other-service"], now=NOW),
        secret_type="Opaque",
        resource_version="7",
    )
    old["data"]["unrelated"] = base64.b64encode(b"kept").decode()
    apiserver.secrets[NAMESPACE, SECRET] = old
    assert create(apiserver) == 0
    out = capsys.readouterr().out
    assert "replaced: the certificate does not name wallarm-sidecar-controller" in out
    stored = _stored(apiserver)
    assert stored["type"] == "Opaque"
    assert stored["data"]["unrelated"] == old["data"]["unrelated"]
    assert bundle_problem(_bundle(apiserver), hosts=HOSTS, now=NOW) is None
    assert ("PUT", f"/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}") in apiserver.calls()


def test_a_secret_created_concurrently_is_kept(
    apiserver: StandInApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    theirs = secret_manifest(
        name=SECRET, namespace=NAMESPACE, bundle=generate_bundle(HOSTS, now=NOW)
    )

    def concurrent_job(request: Recorded) -> None:
        if request.method == "POST":
            apiserver.secrets[NAMESPACE, SECRET] = {
                **theirs,
                "metadata": {**theirs["metadata"], "resourceVersion": "1"},
            }

    apiserver.before = concurrent_job
    assert create(apiserver) == 0
    assert "kept: it was written concurrently" in capsys.readouterr().out
    assert _stored(apiserver)["data"] == theirs["data"]


def test_a_replacement_racing_another_job_keeps_theirs(
    apiserver: StandInApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    old = secret_manifest(
        name=SECRET, namespace=NAMESPACE, bundle=generate_bundle(["old"], now=NOW)
    )
    old["metadata"]["resourceVersion"] = "1"
    apiserver.secrets[NAMESPACE, SECRET] = old
    theirs = secret_manifest(
        name=SECRET, namespace=NAMESPACE, bundle=generate_bundle(HOSTS, now=NOW)
    )
    theirs["metadata"]["resourceVersion"] = "2"

    def concurrent_job(request: Recorded) -> None:
        if request.method == "PUT":
            apiserver.secrets[NAMESPACE, SECRET] = theirs

    apiserver.before = concurrent_job
    assert create(apiserver) == 0
    assert "kept: it was written concurrently" in capsys.readouterr().out
    assert _stored(apiserver)["data"] == theirs["data"]


def test_a_create_whose_answer_was_lost_is_not_repeated(
    apiserver: StandInApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The apiserver stored the Secret but answered 504: the retried POST gets 409."""
    apiserver.faults.append(Fault("POST", "/secrets", 504, after=True))
    assert create(apiserver) == 0
    assert "kept: it was written concurrently" in capsys.readouterr().out
    assert [method for method, _ in apiserver.calls()] == ["GET", "POST", "POST", "GET"]
    assert bundle_problem(_bundle(apiserver), hosts=HOSTS, now=NOW) is None


def test_a_409_without_a_usable_secret_is_an_error(
    apiserver: StandInApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    apiserver.faults.append(Fault("POST", "/secrets", 409, message='secrets "x" already exists'))
    assert create(apiserver) == 1
    line = _one_error_line(capsys)
    assert line.startswith("wallarm-sidecar certgen create: POST secret wallarm-sidecar/")
    assert "409 Conflict" in line and "it vanished" in line


@pytest.mark.parametrize(
    ("setup", "command", "words"),
    [
        pytest.param("no-secret", "patch", ["404", "certgen create` first"], id="patch-no-secret"),
        pytest.param(
            "no-webhook",
            "patch",
            ["GET mutatingwebhookconfiguration wallarm-sidecar: 404", "not found"],
            id="patch-no-configuration",
        ),
        pytest.param("wrong-token", "create", ["401", "token"], id="create-401"),
        pytest.param("wrong-token", "patch", ["401", "token"], id="patch-401"),
        pytest.param("forbidden-post", "create", ["POST", "403", "Role"], id="create-403"),
        pytest.param("forbidden-patch", "patch", ["PATCH", "403", "Role"], id="patch-403"),
    ],
)
def test_api_errors_are_one_line_and_exit_1(
    apiserver: StandInApiServer,
    capsys: pytest.CaptureFixture[str],
    setup: str,
    command: str,
    words: list[str],
) -> None:
    if setup != "no-secret":
        apiserver.secrets[NAMESPACE, SECRET] = secret_manifest(
            name=SECRET, namespace=NAMESPACE, bundle=generate_bundle(["x"], now=NOW)
        )
        apiserver.secrets[NAMESPACE, SECRET]["metadata"]["resourceVersion"] = "1"
    if setup != "no-webhook":
        apiserver.add_webhook_configuration(WEBHOOK, ["injector.sidecar.wallarm.io"])
    if setup == "wrong-token":
        apiserver.token = "another"
    if setup == "forbidden-post":
        del apiserver.secrets[NAMESPACE, SECRET]
        apiserver.faults.append(Fault("POST", "/secrets", 403, message="cannot create secrets"))
    if setup == "forbidden-patch":
        apiserver.faults.append(Fault("PATCH", "/mutating", 403, message="cannot patch"))
    assert (create if command == "create" else patch)(apiserver) == 1
    line = _one_error_line(capsys)
    assert line.startswith(f"wallarm-sidecar certgen {command}: ")
    for word in words:
        assert word in line


def test_a_configuration_changed_between_read_and_patch_is_refused(
    apiserver: StandInApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    apiserver.add_webhook_configuration(WEBHOOK, ["a.wallarm.io", "b.wallarm.io"])
    assert create(apiserver) == 0

    def reorder(request: Recorded) -> None:
        if request.method == "PATCH":
            apiserver.webhooks[WEBHOOK]["webhooks"].reverse()

    apiserver.before = reorder
    assert patch(apiserver) == 1
    line = _one_error_line(capsys)
    assert "PATCH mutatingwebhookconfiguration wallarm-sidecar: 422" in line
    assert all("caBundle" not in w["clientConfig"] for w in apiserver.webhooks[WEBHOOK]["webhooks"])


def test_two_503_then_success(
    apiserver: StandInApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    apiserver.faults.append(Fault("GET", "/secrets/", 503, times=2))
    assert create(apiserver) == 0  # backs off 0.5 s, then 1 s
    assert (
        apiserver.calls()[:3] == [("GET", f"/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}")] * 3
    )
    assert "created" in capsys.readouterr().out


def test_an_unreachable_api_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "token").write_text("t")
    code = main(
        [
            "certgen",
            "patch",
            "--namespace=ns",
            "--secret-name=s",
            "--webhook-name=w",
            "--api-server=https://127.0.0.1:9",
            f"--token-file={tmp_path / 'token'}",
            "--insecure-skip-tls-verify",
            "--retry-for=0s",
        ]
    )
    assert code == 1
    line = _one_error_line(capsys)
    assert "cannot reach the Kubernetes API at https://127.0.0.1:9" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["create", "--host=a"], "--secret-name (env WALLARM_CERTGEN_SECRET_NAME)", id="no-secret-name"),
        pytest.param(["create", "--secret-name=s"], "--host (env WALLARM_CERTGEN_HOST) is required", id="no-host"),
        pytest.param(["patch", "--secret-name=s"], "--webhook-name (env", id="no-webhook-name"),
        pytest.param(["create", "--secret-name=s", "--host=a_b"], "--host='a_b'", id="bad-host"),
        pytest.param(["create", "--secret-name=S!", "--host=a"], "--secret-name='S!'", id="bad-name"),
        pytest.param(["patch", "--secret-name=s", "--webhook-name=w", "--patch-failure-policy=maybe"], "Fail or Ignore", id="bad-policy"),
        pytest.param(["create", "--secret-name=s", "--host=a", "--namespace=N_S"], "namespace", id="bad-namespace"),
        pytest.param(["create", "--secret-name=s", "--host=a", "--namespace=ns"], "no API server", id="not-in-a-pod"),
        pytest.param(["create", "--secret-name=s", "--host=a", "--api-server=http://x"], "https:// URL", id="http-server"),
        pytest.param(["create", "--secret-name=s", "--host=a", "--api-server=https://x:port"], "invalid port", id="bad-port"),
    ],
)  # fmt: skip
def test_configuration_errors_exit_2(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert main(["certgen", *argv, "--token-file=/nonexistent/token"]) == 2
    assert message in _one_error_line(capsys)


def test_in_a_pod_everything_comes_from_the_environment(
    apiserver: StandInApiServer, tmp_path: Path
) -> None:
    """As the chart's Job runs it: in-cluster server and service account, env settings."""
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(apiserver.token_file.read_text())
    (account / "ca.crt").write_bytes(apiserver.ca_file.read_bytes())
    (account / "namespace").write_text(NAMESPACE)
    apiserver.add_webhook_configuration(WEBHOOK, ["injector.sidecar.wallarm.io"])
    port = apiserver.url.rsplit(":", 1)[1]
    environ = {
        **os.environ,
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": port,
        "WALLARM_CERTGEN_TOKEN_FILE": str(account / "token"),
        "WALLARM_CERTGEN_CA_FILE": str(account / "ca.crt"),
        "WALLARM_CERTGEN_SECRET_NAME": SECRET,
        "WALLARM_CERTGEN_HOST": ",".join(HOSTS),
        "WALLARM_CERTGEN_WEBHOOK_NAME": WEBHOOK,
        "WALLARM_CERTGEN_PATCH_FAILURE_POLICY": "Fail",
    }
    for action in ("create", "patch"):
        result = subprocess.run(
            [sys.executable, "-m", "wallarm_sidecar", "certgen", action],
            env=environ,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
    ca = x509.load_pem_x509_certificate(_bundle(apiserver).ca)
    (webhook,) = apiserver.webhooks[WEBHOOK]["webhooks"]
    assert (
        x509.load_pem_x509_certificate(base64.b64decode(webhook["clientConfig"]["caBundle"])) == ca
    )
