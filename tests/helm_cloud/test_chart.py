"""The wallarm-cloud chart rendered by the real Helm 3 and Helm 4 binaries.

Every render: each object validated against the Kubernetes 1.30 schema (strict), the
invariants (labels, namespace, selectors, security contexts, secrets only in Secrets)
asserted; then one test per option (TLS, PostgreSQL by URL or existing Secret, the
volume, the admin token), the refusals with their messages, NOTES.txt, the README's
table of values, and the rendered command line run for real.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.helm_cloud.conftest import CHART, CloudHelm, validate

PG_URL = "postgresql://cloud:pg-password-in-a-secret@postgres.db.svc:5432/cloud"
ADMIN = "wsk_admin-token-given-in-values-0123"

#: name → --set arguments of each render that must pass the invariants.
CASES: dict[str, tuple[str, ...]] = {
    "default": (),
    "tls": ("tls.enabled=true", "tls.secretName=cloud-tls"),
    "postgresql-url": ("database.type=postgresql", f"database.postgresql.url={PG_URL}"),
    "postgresql-secret": (
        "database.type=postgresql",
        "database.postgresql.existingSecret.enabled=true",
        "database.postgresql.existingSecret.secretName=cloud-db",
        "database.postgresql.existingSecret.secretKey=url",
        "replicaCount=3",
    ),
    "volume": ("database.persistence.size=20Gi", "database.persistence.storageClass=fast-ssd"),
    "existing-claim": ("database.persistence.existingClaim=cloud-data",),
    "no-persistence": ("database.persistence.enabled=false",),
    "admin-token": (f"adminToken.value={ADMIN}",),
    "admin-secret": (
        "adminToken.existingSecret.enabled=true",
        "adminToken.existingSecret.secretName=cloud-admin",
    ),
    "everything": (
        "tls.enabled=true",
        "tls.secretName=cloud-tls",
        "database.type=postgresql",
        f"database.postgresql.url={PG_URL}",
        f"adminToken.value={ADMIN}",
        "service.type=LoadBalancer",
        "service.port=8443",
        "imagePullSecrets[0]=regcred",
        "image.registry=registry.example",
        "image.digest=sha256:" + "ab" * 32,
        "nodeSelector.kubernetes\\.io/arch=arm64",
        "podAnnotations.team=security",
    ),
}


def by_kind(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        kinds.setdefault(obj["kind"], []).append(obj)
    return kinds


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objects).get(kind, [])
    assert len(found) == 1, f"{len(found)} objects of kind {kind}"
    return found[0]


def pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(one(objects, "Deployment")["spec"]["template"]["spec"])


def cloud_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = pod(objects)["containers"]
    assert container["name"] == "cloud"
    return dict(container)


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item for item in container.get("env", [])}


def check_invariants(objects: list[dict[str, Any]], *, release: str, namespace: str) -> None:
    fullname = release if "wallarm-cloud" in release else f"{release}-wallarm-cloud"
    for obj in objects:
        validate(obj)
        metadata = obj["metadata"]
        assert metadata["namespace"] == namespace
        assert metadata["name"].startswith(fullname)
        labels = metadata["labels"]
        assert labels["app.kubernetes.io/name"] == "wallarm-cloud"
        assert labels["app.kubernetes.io/instance"] == release
        assert labels["app.kubernetes.io/component"] == "cloud"
    deployment = one(objects, "Deployment")
    template = deployment["spec"]["template"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= template["metadata"]["labels"].items()
    service = one(objects, "Service")
    assert service["spec"]["selector"] == selector
    assert service["metadata"]["name"] == fullname
    spec = template["spec"]
    assert spec["serviceAccountName"] == fullname
    assert spec["automountServiceAccountToken"] is False
    assert one(objects, "ServiceAccount")["automountServiceAccountToken"] is False
    security = spec["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 101
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    container = cloud_container(objects)
    own = container["securityContext"]
    assert own["allowPrivilegeEscalation"] is False
    assert own["readOnlyRootFilesystem"] is True
    assert own["capabilities"] == {"drop": ["ALL"]}
    assert container["ports"] == [{"name": "api", "containerPort": 8080, "protocol": "TCP"}]
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] == "api"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
        assert container[probe]["httpGet"]["port"] == "api"
    assert container["args"][:5] == [
        "cloud",
        "--listen",
        ":8080",
        "--data-dir",
        "/var/lib/wallarm-cloud",
    ]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["data"] == "/var/lib/wallarm-cloud" and mounts["tmp"] == "/tmp"
    volumes = {v["name"] for v in spec["volumes"]}
    assert set(mounts) == volumes
    # Secrets only in Secrets: nothing else carries the admin token or the database URL.
    for obj in objects:
        if obj["kind"] != "Secret":
            text = json.dumps(obj)
            assert ADMIN not in text and "pg-password-in-a-secret" not in text, obj["kind"]


def test_lint_strict(helm: CloudHelm) -> None:
    result = helm.run("lint", "--strict", str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr
    for sets in (CASES["everything"], CASES["postgresql-secret"]):
        args = [item for pair in (("--set", s) for s in sets) for item in pair]
        result = helm.run("lint", "--strict", str(CHART), *args)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_render_is_valid_kubernetes(helm: CloudHelm, case: str) -> None:
    check_invariants(helm.objects(*CASES[case]), release="wallarm-cloud", namespace="wallarm-cloud")


def test_other_release_names_and_namespaces(helm: CloudHelm) -> None:
    objects = helm.objects(release="prod", namespace="security")
    check_invariants(objects, release="prod", namespace="security")
    assert one(objects, "Service")["metadata"]["name"] == "prod-wallarm-cloud"
    assert one(objects, "PersistentVolumeClaim")["metadata"]["name"] == "prod-wallarm-cloud-data"


def test_default_sqlite_on_a_volume_over_http(helm: CloudHelm) -> None:
    objects = helm.objects()
    assert sorted(obj["kind"] for obj in objects) == [
        "Deployment",
        "PersistentVolumeClaim",
        "Service",
        "ServiceAccount",
    ]
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    container = cloud_container(objects)
    assert container["args"] == [
        "cloud",
        "--listen",
        ":8080",
        "--data-dir",
        "/var/lib/wallarm-cloud",
    ]
    assert "env" not in container
    assert container["image"] == "wallarm-sidecar:0.1.0"
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTP"
    claim = one(objects, "PersistentVolumeClaim")
    assert claim["metadata"]["name"] == "wallarm-cloud-data"
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert "storageClassName" not in claim["spec"]
    (data,) = [v for v in pod(objects)["volumes"] if v["name"] == "data"]
    assert data == {"name": "data", "persistentVolumeClaim": {"claimName": "wallarm-cloud-data"}}
    (port,) = one(objects, "Service")["spec"]["ports"]
    assert (port["name"], port["port"]) == ("http", 80)
    assert "sessionAffinity" not in one(objects, "Service")["spec"]


def test_tls_serves_the_certificate_secret(helm: CloudHelm) -> None:
    objects = helm.objects(*CASES["tls"])
    container = cloud_container(objects)
    assert container["args"][5:] == [
        "--tls-cert-file",
        "/etc/wallarm-cloud/tls/tls.crt",
        "--tls-key-file",
        "/etc/wallarm-cloud/tls/tls.key",
    ]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "tls")
    assert mount == {"name": "tls", "mountPath": "/etc/wallarm-cloud/tls", "readOnly": True}
    volume = next(v for v in pod(objects)["volumes"] if v["name"] == "tls")
    assert volume["secret"] == {"secretName": "cloud-tls"}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["scheme"] == "HTTPS"
    (port,) = one(objects, "Service")["spec"]["ports"]
    assert (port["name"], port["port"]) == ("https", 443)


def test_postgresql_from_an_existing_secret(helm: CloudHelm) -> None:
    objects = helm.objects(*CASES["postgresql-secret"])
    kinds = by_kind(objects)
    assert "Secret" not in kinds and "PersistentVolumeClaim" not in kinds
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate"}
    assert one(objects, "Service")["spec"]["sessionAffinity"] == "ClientIP"
    env = env_of(cloud_container(objects))
    assert set(env) == {"WALLARM_CLOUD_DATABASE_URL"}
    reference = env["WALLARM_CLOUD_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert reference == {"name": "cloud-db", "key": "url"}
    (data,) = [v for v in pod(objects)["volumes"] if v["name"] == "data"]
    assert data == {"name": "data", "emptyDir": {}}


def test_postgresql_url_given_inline_goes_into_the_charts_secret(helm: CloudHelm) -> None:
    objects = helm.objects(*CASES["postgresql-url"])
    secret = one(objects, "Secret")
    assert secret["metadata"]["name"] == "wallarm-cloud"
    assert set(secret["data"]) == {"database-url"}
    assert base64.b64decode(secret["data"]["database-url"]).decode() == PG_URL
    reference = env_of(cloud_container(objects))["WALLARM_CLOUD_DATABASE_URL"]
    assert reference["valueFrom"]["secretKeyRef"] == {
        "name": "wallarm-cloud",
        "key": "database-url",
    }
    assert "PersistentVolumeClaim" not in by_kind(objects)


def test_the_volume_size_class_and_an_existing_claim(helm: CloudHelm) -> None:
    claim = one(helm.objects(*CASES["volume"]), "PersistentVolumeClaim")
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert claim["spec"]["storageClassName"] == "fast-ssd"
    objects = helm.objects(*CASES["existing-claim"])
    assert "PersistentVolumeClaim" not in by_kind(objects)
    (data,) = [v for v in pod(objects)["volumes"] if v["name"] == "data"]
    assert data["persistentVolumeClaim"] == {"claimName": "cloud-data"}
    objects = helm.objects(*CASES["no-persistence"])
    assert "PersistentVolumeClaim" not in by_kind(objects)
    (data,) = [v for v in pod(objects)["volumes"] if v["name"] == "data"]
    assert data["emptyDir"] == {}


def test_the_admin_token_inline_or_from_a_secret(helm: CloudHelm) -> None:
    objects = helm.objects(*CASES["admin-token"])
    secret = one(objects, "Secret")
    assert base64.b64decode(secret["data"]["admin-token"]).decode() == ADMIN
    reference = env_of(cloud_container(objects))["WALLARM_CLOUD_ADMIN_TOKEN"]
    assert reference["valueFrom"]["secretKeyRef"] == {"name": "wallarm-cloud", "key": "admin-token"}
    objects = helm.objects(*CASES["admin-secret"])
    assert "Secret" not in by_kind(objects)
    reference = env_of(cloud_container(objects))["WALLARM_CLOUD_ADMIN_TOKEN"]
    assert reference["valueFrom"]["secretKeyRef"] == {"name": "cloud-admin", "key": "admin-token"}

    # Another token rolls the pods.
    def checksum(*sets: str) -> str:
        template = one(helm.objects(*sets), "Deployment")["spec"]["template"]
        return str(template["metadata"]["annotations"]["checksum/secrets"])

    assert checksum(*CASES["admin-token"]) != checksum("adminToken.value=wsk_another-token-0123456")


def test_everything_at_once(helm: CloudHelm) -> None:
    objects = helm.objects(*CASES["everything"])
    secret = one(objects, "Secret")
    assert set(secret["data"]) == {"admin-token", "database-url"}
    container = cloud_container(objects)
    assert container["image"] == "registry.example/wallarm-sidecar@sha256:" + "ab" * 32
    assert set(env_of(container)) == {"WALLARM_CLOUD_ADMIN_TOKEN", "WALLARM_CLOUD_DATABASE_URL"}
    spec = pod(objects)
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert spec["nodeSelector"] == {"kubernetes.io/arch": "arm64"}
    service = one(objects, "Service")
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["ports"][0]["port"] == 8443
    annotations = one(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["team"] == "security"


REFUSALS: list[tuple[tuple[str, ...], str, str]] = [
    # (sets, what Helm 3 says, what Helm 4 says): the templates' own messages are the same.
    (("replicaCount=2",), "replicaCount: SQLite serves one pod only", ""),
    (("database.type=postgresql",), "database.postgresql: give url, or existingSecret", ""),
    (("tls.enabled=true",), "tls.secretName: the kubernetes.io/tls Secret", ""),
    (
        ("database.type=postgresql", "database.postgresql.existingSecret.enabled=true"),
        "database.postgresql.existingSecret.secretName",
        "",
    ),
    (("adminToken.existingSecret.enabled=true",), "adminToken.existingSecret.secretName", ""),
    (
        ("database.type=mysql",),
        'database.type: database.type must be one of the following: "sqlite", "postgresql"',
        "at '/database/type': value must be one of 'sqlite', 'postgresql'",
    ),
    (("adminToken.value=short",), "adminToken.value", "/adminToken/value"),
    (("database.postgresql.url=mysql://x",), "database.postgresql.url", "/database/postgresql/url"),
    (("service.port=70000",), "service.port", "/service/port"),
    (("database.persistence.size=big",), "database.persistence.size", "/database/persistence/size"),
    (("image.pullPolicy=Sometimes",), "image.pullPolicy", "/image/pullPolicy"),
    (("unknownKey=1",), "unknownKey", "unknownKey"),
]


@pytest.mark.parametrize(("sets", "helm3", "helm4"), REFUSALS, ids=lambda v: str(v)[:40])
def test_bad_values_are_refused_naming_the_key(
    helm: CloudHelm, sets: tuple[str, ...], helm3: str, helm4: str
) -> None:
    result = helm.render(*sets)
    assert result.returncode != 0
    expected = helm4 if helm.major == 4 and helm4 else helm3
    assert expected in result.stderr, result.stderr


# --- NOTES.txt -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notes_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the chart that renders NOTES.txt into a ConfigMap (`helm template` and
    an offline Helm 3 cannot show NOTES otherwise)."""
    chart = tmp_path_factory.mktemp("notes") / "wallarm-cloud"
    shutil.copytree(CHART, chart)
    notes = (chart / "templates" / "NOTES.txt").read_text(encoding="utf-8")
    (chart / "templates" / "_notes_for_test.tpl").write_text(
        '{{- define "notes-for-test" -}}\n' + notes + "{{- end -}}\n", encoding="utf-8"
    )
    (chart / "templates" / "notes-for-test.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-for-test\n"
        'data:\n  notes: {{ include "notes-for-test" . | toJson }}\n',
        encoding="utf-8",
    )
    return chart


def notes(helm: CloudHelm, chart: Path, *sets: str) -> str:
    result = helm.render(*sets, chart=chart, extra=("--show-only", "templates/notes-for-test.yaml"))
    assert result.returncode == 0, result.stderr
    return str(yaml.safe_load(result.stdout)["data"]["notes"])


def test_notes_tell_how_to_get_the_admin_token_and_point_the_sidecar(
    helm: CloudHelm, notes_chart: Path
) -> None:
    text = notes(helm, notes_chart)
    assert "kubectl rollout status -n wallarm-cloud deployment/wallarm-cloud" in text
    assert (
        "kubectl logs -n wallarm-cloud deployment/wallarm-cloud | grep WALLARM_CLOUD_ADMIN_TOKEN="
        in text
    )
    assert (
        "kubectl exec -n wallarm-cloud deployment/wallarm-cloud -- wallarm-sidecar cloud token "
        "create --data-dir /var/lib/wallarm-cloud --usage deployment" in text
    )
    assert "host: wallarm-cloud.wallarm-cloud.svc" in text
    assert "port: 80\n" in text and "useSSL: false" in text
    given = notes(helm, notes_chart, *CASES["admin-token"], *CASES["tls"])
    assert (
        "kubectl get secret -n wallarm-cloud wallarm-cloud -o jsonpath='{.data.admin-token}' "
        "| base64 -d" in given
    )
    assert "grep WALLARM_CLOUD_ADMIN_TOKEN" not in given
    assert "port: 443\n" in given and "useSSL: true" in given
    assert ADMIN not in given
    existing = notes(helm, notes_chart, *CASES["admin-secret"])
    assert (
        "kubectl get secret -n wallarm-cloud cloud-admin -o jsonpath='{.data.admin-token}'"
        in existing
    )


# --- README and values.schema.json -----------------------------------------------------


def value_leaves(values: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in values.items():
        path = f"{prefix}{key}"
        opaque = key in ("resources", "podSecurityContext", "containerSecurityContext")
        if isinstance(value, dict) and value and not opaque:
            yield from value_leaves(value, path + ".")
        else:
            yield path, value


def test_readme_lists_every_value_with_its_default() -> None:
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    leaves = list(value_leaves(values))
    assert len(leaves) > 30
    for path, default in leaves:
        row = f"| `{path}` | `{json.dumps(default, separators=(', ', ': '))}` |"
        assert row in readme, f"README.md lacks the row {row}"


def test_the_schema_knows_every_value() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    for path, _ in value_leaves(values):
        node = schema
        for part in path.split("."):
            assert part in node.get("properties", {}), f"values.schema.json lacks {path}"
            node = node["properties"][part]


# --- the rendered command line, run for real ---------------------------------------------


def test_the_rendered_command_and_probes_work_with_the_real_cloud(
    helm: CloudHelm, tmp_path: Path
) -> None:
    """The Deployment's args and env (paths moved under tmp_path) start `wallarm-sidecar
    cloud`; its probe path answers 200 without a token; the admin token from the Secret works."""
    objects = helm.objects(*CASES["admin-token"])
    container = cloud_container(objects)
    secret = one(objects, "Secret")
    env = dict(os.environ)
    for name, item in env_of(container).items():
        key = item["valueFrom"]["secretKeyRef"]["key"]
        env[name] = base64.b64decode(secret["data"][key]).decode()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = [
        f"127.0.0.1:{port}" if arg == ":8080" else arg.replace("/var/lib", str(tmp_path))
        for arg in container["args"]
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "wallarm_sidecar", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        probe = container["readinessProbe"]["httpGet"]["path"]
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}{probe}")
                break
            except httpx.TransportError:
                assert process.poll() is None, "the Cloud exited"
                assert time.monotonic() < deadline, "the Cloud did not start"
                time.sleep(0.1)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        headers = {"Authorization": f"Bearer {ADMIN}"}
        assert (
            httpx.get(f"http://127.0.0.1:{port}/api/v1/nodes", headers=headers).status_code == 200
        )
    finally:
        process.terminate()
        process.communicate(timeout=15)
    assert (tmp_path / "wallarm-cloud" / "cloud.sqlite3").is_file()
