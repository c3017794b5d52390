"""`wallarm-sidecar inject`: manifests of every workload kind, multi-document, stdin."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.injector.helpers import settings, validate
from wallarm_sidecar.cli import main
from wallarm_sidecar.injector import TEMPLATE_PATHS, InjectionRejected, inject_documents

TEMPLATE = {
    "metadata": {"labels": {"app": "web", "wallarm-sidecar": "enabled"}},
    "spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 8080}]}]},
}
WORKLOADS: dict[str, dict[str, Any]] = {
    "Deployment": {
        "apiVersion": "apps/v1",
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
    },
    "StatefulSet": {
        "apiVersion": "apps/v1",
        "spec": {
            "serviceName": "web",
            "selector": {"matchLabels": {"app": "web"}},
            "template": TEMPLATE,
        },
    },
    "DaemonSet": {
        "apiVersion": "apps/v1",
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
    },
    "Job": {
        "apiVersion": "batch/v1",
        "spec": {"template": {**TEMPLATE, "spec": {**TEMPLATE["spec"], "restartPolicy": "Never"}}},
    },
    "CronJob": {
        "apiVersion": "batch/v1",
        "spec": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {**TEMPLATE, "spec": {**TEMPLATE["spec"], "restartPolicy": "Never"}}
                }
            },
        },
    },
    "Pod": {"apiVersion": "v1", **TEMPLATE},
}


def _manifest(kind: str) -> dict[str, Any]:
    body = copy.deepcopy(WORKLOADS[kind])
    metadata = {"name": "web", **(body.get("metadata") or {})} if kind == "Pod" else {"name": "web"}
    return {**body, "kind": kind, "metadata": metadata}


def _template(document: dict[str, Any]) -> dict[str, Any]:
    if document["kind"] == "Pod":
        return document
    node: Any = document
    for key in TEMPLATE_PATHS[document["kind"]]:
        node = node[key]
    return dict(node)


@pytest.mark.parametrize("kind", sorted(WORKLOADS))
def test_every_workload_kind_is_injected_and_valid(kind: str) -> None:
    manifest = _manifest(kind)
    [out], warnings = inject_documents([manifest], settings(), issued_at=1)
    template = _template(out)
    assert [c["name"] for c in template["spec"]["containers"]] == ["web", "sidecar-proxy"]
    assert template["metadata"]["annotations"]["sidecar.wallarm.io/status"] == "injected"
    assert _template(manifest)["spec"]["containers"] == TEMPLATE["spec"]["containers"]  # input kept
    validate(out)
    assert warnings == []


def test_other_kinds_and_unlabelled_workloads_pass_through_unchanged() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 80}]},
    }
    plain = _manifest("Deployment")
    plain["spec"] = {
        **plain["spec"],
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": TEMPLATE["spec"]},
    }
    out, _ = inject_documents([service, plain], settings())
    assert out == [service, plain]


def test_a_list_is_walked() -> None:
    [out], _ = inject_documents(
        [{"apiVersion": "v1", "kind": "List", "items": [_manifest("Pod")]}], settings()
    )
    assert len(out["items"][0]["spec"]["containers"]) == 2


def test_a_rejected_pod_stops_with_the_manifest_named() -> None:
    manifest = _manifest("Deployment")
    manifest["spec"]["template"] = {
        **TEMPLATE,
        "metadata": {
            **TEMPLATE["metadata"],
            "annotations": {"sidecar.wallarm.io/wallarm-mode": "x"},
        },
    }
    with pytest.raises(InjectionRejected, match=r"Deployment/web: .*wallarm-mode='x'"):
        inject_documents([manifest], settings())


def _write(tmp_path: Path, documents: list[Any]) -> Path:
    path = tmp_path / "in.yaml"
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


def test_the_command_reads_multi_document_yaml_and_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WALLARM_API_TOKEN", "tok")
    values = tmp_path / "values.yaml"
    values.write_text(
        "config:\n  wallarm:\n    mode: block\n  injectionStrategy:\n    schema: split\n"
    )
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}
    path = _write(tmp_path, [_manifest("Deployment"), service, _manifest("CronJob")])
    assert main(["inject", "-f", str(path), "--values", str(values)]) == 0
    out = list(yaml.safe_load_all(capsys.readouterr().out))
    assert [d["kind"] for d in out] == ["Deployment", "Service", "CronJob"]
    containers = _template(out[0])["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "sidecar-helper", "sidecar-proxy"]
    proxy_env = {e["name"]: e.get("value") for e in containers[2]["env"]}
    assert proxy_env["WALLARM_MODE"] == "block"
    helper_env = {e["name"]: e.get("value") for e in containers[1]["env"]}
    assert helper_env["WALLARM_API_CREDENTIAL"].startswith("wsc1.")
    assert out[1] == service


def test_stdin_and_warnings(tmp_path: Path) -> None:
    manifest = _manifest("Pod")
    manifest["metadata"]["annotations"] = {"sidecar.wallarm.io/nginx-http-include": "/x"}
    result = subprocess.run(
        [sys.executable, "-m", "wallarm_sidecar", "inject", "-f", "-"],
        input=yaml.safe_dump(manifest),
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert len(yaml.safe_load(result.stdout)["spec"]["containers"]) == 2
    assert "nginx-http-include is NGINX-only" in result.stderr
    assert "no API token" in result.stderr


@pytest.mark.parametrize(
    ("documents", "values", "code", "words"),
    [
        pytest.param(
            [
                {
                    **_manifest("Pod"),
                    "metadata": {
                        "name": "p",
                        "labels": {"wallarm-sidecar": "enabled"},
                        "annotations": {"sidecar.wallarm.io/application-port": "99999"},
                    },
                }
            ],
            None,
            1,
            "application-port='99999'",
            id="rejected",
        ),
        pytest.param(
            [_manifest("Pod")],
            "config: {wallarm: {mode: nope}}",
            2,
            "config.wallarm.mode",
            id="bad-values",
        ),
    ],
)
def test_failures_exit_non_zero_with_a_message(  # noqa: PLR0917 (pytest passes fixtures and parameters by name)
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    documents: list[Any],
    values: str | None,
    code: int,
    words: str,
) -> None:
    argv = ["inject", "-f", str(_write(tmp_path, documents))]
    if values is not None:
        (tmp_path / "v.yaml").write_text(values)
        argv += ["--values", str(tmp_path / "v.yaml")]
    assert main(argv) == code
    assert words in capsys.readouterr().err


def test_a_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inject", "-f", "/nonexistent.yaml"]) == 2
    assert "nonexistent" in capsys.readouterr().err


def test_options_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WALLARM_API_TOKEN", raising=False)
    monkeypatch.setenv("WALLARM_API_TOKEN", "tok")
    monkeypatch.setenv("WALLARM_INJECT_FILE", str(_write(tmp_path, [_manifest("Pod")])))
    monkeypatch.setenv("WALLARM_INJECT_NAMESPACE", "team-b")
    assert main(["inject"]) == 0
    out = yaml.safe_load(capsys.readouterr().out)
    helper = {e["name"]: e.get("value") for e in out["spec"]["containers"][1]["env"]}
    from wallarm_sidecar.injector import derive_credential_key, verify_scoped_credential

    claims = verify_scoped_credential(
        helper["WALLARM_API_CREDENTIAL"], derive_credential_key("tok")
    )
    assert claims.namespace == "team-b"


def test_without_a_file_it_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WALLARM_INJECT_FILE", raising=False)
    assert main(["inject"]) == 2
    assert "-f FILE" in capsys.readouterr().err


def test_ignored_values_keys_are_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("config:\n  wallarm:\n    mdoe: block\n  postanalytics: {replicaCount: 1}\n")
    assert (
        main(["inject", "-f", str(_write(tmp_path, [_manifest("Pod")])), "--values", str(values)])
        == 0
    )
    err = capsys.readouterr().err
    assert "config.wallarm.mdoe is ignored" in err and "postanalytics" not in err
