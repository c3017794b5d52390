"""The Helm chart rendered by the real Helm 3 and Helm 4 binaries (issue 5, DESIGN §9, §10).

Every rendered object is validated against the Kubernetes 1.30 schema (strict); the
default render and each documented values example (tests/helm/values/) are compared with
golden files (tests/helm/golden/; `UPDATE_GOLDEN=1` rewrites them: read the diff).
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.helm.conftest import CHART, REPO, TOKEN, VALUES, Helm
from wallarm_sidecar.injector import InjectionSettings, unknown_keys

GOLDEN = Path(__file__).resolve().parent / "golden"
KUBERNETES_VERSION = "1.30.0"
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration"}
CERT_MANAGER_KINDS = {"Issuer", "Certificate"}
WORKLOADS = {"Deployment", "Job"}

#: case name → keyword arguments of Helm.template
CASES: dict[str, dict[str, Any]] = {
    "default": {"sets": (f"config.wallarm.api.token={TOKEN}",)},
    **{path.stem: {"values": (path.name,)} for path in sorted(VALUES.glob("*.yaml"))},
    "release-wlrm-sidecar": {"values": ("token-host-nodegroup.yaml",), "release": "wlrm-sidecar"},
}


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = by_kind(objects, kind)
    assert name in found, f"no {kind} {name}; there are {sorted(found)}"
    return found[name]


def pod_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def container(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in pod_containers(spec) if c["name"] == name)


def controller_config(objects: list[dict[str, Any]], fullname: str) -> dict[str, Any]:
    configmap = one(objects, "ConfigMap", f"{fullname}-controller")
    return yaml.safe_load(configmap["data"]["config.yaml"])


def validate(obj: dict[str, Any]) -> None:
    if obj["kind"] in CERT_MANAGER_KINDS:
        # Custom resources: no schema in kubernetes-validate; their shape is asserted below.
        assert obj["apiVersion"] == "cert-manager.io/v1"
        return
    assert kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True) == "1.30"


def check_invariants(objects: list[dict[str, Any]], *, release: str, namespace: str) -> None:
    """What every render must satisfy: labels, namespaces, selectors, security, the token."""
    assert objects
    token_b64 = base64.b64encode(TOKEN.encode()).decode()
    templates: list[dict[str, str]] = []
    for obj in objects:
        validate(obj)
        metadata = obj["metadata"]
        labels = metadata["labels"]
        assert labels["app.kubernetes.io/name"] == "wallarm-sidecar", metadata["name"]
        assert labels["app.kubernetes.io/instance"] == release
        assert labels["app.kubernetes.io/component"]
        if obj["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in metadata
        else:
            assert metadata["namespace"] == namespace, metadata["name"]
        if obj["kind"] != "Secret":
            text = yaml.safe_dump(obj)
            assert TOKEN not in text and token_b64 not in text, f"token in {obj['kind']}"
        if obj["kind"] in WORKLOADS:
            template = obj["spec"]["template"]
            template_labels = template["metadata"]["labels"]
            if obj["kind"] == "Deployment":
                selector = obj["spec"]["selector"]["matchLabels"]
                assert selector.items() <= template_labels.items()
                templates.append(template_labels)
            spec = template["spec"]
            assert spec["securityContext"]["runAsNonRoot"] is True
            assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            for item in pod_containers(spec):
                context = item["securityContext"]
                assert context["capabilities"]["drop"] == ["ALL"], item["name"]
                assert "add" not in context["capabilities"]
                assert context["allowPrivilegeEscalation"] is False
                assert context["runAsNonRoot"] is True
                assert context["seccompProfile"] == {"type": "RuntimeDefault"}
                assert "privileged" not in context
            for env in (e for c in pod_containers(spec) for e in c.get("env", [])):
                assert "value" not in env or TOKEN not in str(env["value"])
    for service in by_kind(objects, "Service").values():
        selector = service["spec"]["selector"]
        assert any(selector.items() <= labels.items() for labels in templates), selector


# --- the binaries -----------------------------------------------------------------------


def test_helm_binary_is_the_pinned_release(helm: Helm) -> None:
    result = helm.run("version", "--short")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith({3: "v3.17.3", 4: "v4.1.4"}[helm.major])


# --- lint, render, validate, golden -----------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_lint(helm: Helm, case: str) -> None:
    args = ["lint", str(CHART), "--strict"]
    for name in CASES[case].get("values", ()):
        args += ["--values", str(VALUES / name)]
    for item in CASES[case].get("sets", ()):
        args += ["--set", item]
    result = helm.run(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("case", sorted(CASES))
def test_render_is_valid_kubernetes_1_30(helm: Helm, case: str) -> None:
    kwargs = CASES[case]
    objects = helm.objects(**kwargs)
    check_invariants(
        objects, release=kwargs.get("release", "wallarm-sidecar"), namespace="wallarm-sidecar"
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_render_matches_golden(helm: Helm, case: str) -> None:
    rendered = helm.template(**CASES[case])
    golden = GOLDEN / f"{case}.yaml"
    if os.environ.get("UPDATE_GOLDEN") and helm.major == 3:
        golden.write_text(rendered, encoding="utf-8")
    assert golden.exists(), f"{golden} is missing: run with UPDATE_GOLDEN=1"
    expected = golden.read_text(encoding="utf-8")
    if helm.major == 3:
        assert rendered == expected, f"{case} differs from {golden}"
    else:  # Helm 4 orders custom resources (cert-manager's) elsewhere: same objects
        assert sorted_objects(rendered) == sorted_objects(expected), f"{case} differs"


def sorted_objects(text: str) -> list[dict[str, Any]]:
    objects = [doc for doc in yaml.safe_load_all(text) if doc]
    return sorted(objects, key=lambda obj: (obj["kind"], obj["metadata"]["name"]))


@pytest.mark.parametrize("case", sorted(CASES))
def test_controller_config_loads_into_the_injector_settings(
    helm: Helm, case: str, tmp_path: Path
) -> None:
    """The ConfigMap is what `controller --config` reads: it loads, with no ignored key."""
    kwargs = CASES[case]
    objects = helm.objects(**kwargs)
    fullname = {"wlrm-sidecar": "wlrm-sidecar-wallarm-sidecar"}.get(
        kwargs.get("release", ""), "wallarm-sidecar"
    )
    config = controller_config(objects, fullname)
    assert unknown_keys(config) == []
    assert "token" not in config["wallarm"]["api"]
    settings = InjectionSettings.from_config(config)
    assert settings.token == ""
    assert settings.wstore.port in (3313, 3314)


# --- the webhook and the certificates ---------------------------------------------------


def test_webhook_is_the_design_contract(helm: Helm) -> None:
    objects = helm.objects(**CASES["default"])
    configuration = one(objects, "MutatingWebhookConfiguration", "wallarm-sidecar")
    (webhook,) = configuration["webhooks"]
    assert webhook["name"] == "injector.sidecar.wallarm.io"
    assert webhook["admissionReviewVersions"] == ["v1"]
    assert webhook["sideEffects"] == "None"
    assert webhook["failurePolicy"] == "Fail"
    assert webhook["timeoutSeconds"] == 10
    assert webhook["rules"] == [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE"],
            "resources": ["pods"],
            "scope": "Namespaced",
        }
    ]
    assert webhook["objectSelector"] == {"matchLabels": {"wallarm-sidecar": "enabled"}}
    assert webhook["namespaceSelector"] == {
        "matchExpressions": [
            {
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": ["kube-system", "wallarm-sidecar"],
            }
        ]
    }
    assert webhook["clientConfig"] == {
        "service": {
            "name": "wallarm-sidecar-controller",
            "namespace": "wallarm-sidecar",
            "path": "/inject",
            "port": 443,
        }
    }
    service = one(objects, "Service", "wallarm-sidecar-controller")
    assert service["spec"]["ports"] == [
        {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}
    ]
    deployment = one(objects, "Deployment", "wallarm-sidecar-controller")
    controller = container(deployment["spec"]["template"]["spec"], "controller")
    assert controller["ports"][0]["containerPort"] == 8443


def test_webhook_failure_policy_and_timeout_from_values(helm: Helm) -> None:
    objects = helm.objects(values=("given-secret.yaml",))
    (webhook,) = one(objects, "MutatingWebhookConfiguration", "wallarm-sidecar")["webhooks"]
    assert (webhook["failurePolicy"], webhook["timeoutSeconds"]) == ("Ignore", 5)


def test_certgen_jobs_are_hooks_with_least_rbac(helm: Helm) -> None:
    objects = helm.objects(**CASES["default"])
    jobs = by_kind(objects, "Job")
    assert sorted(jobs) == ["wallarm-sidecar-certgen-create", "wallarm-sidecar-certgen-patch"]
    create = jobs["wallarm-sidecar-certgen-create"]
    patch = jobs["wallarm-sidecar-certgen-patch"]
    assert create["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert patch["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    service = "wallarm-sidecar-controller"
    hosts = f"{service},{service}.wallarm-sidecar,{service}.wallarm-sidecar.svc"
    assert create["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "certgen",
        "create",
        "--namespace",
        "wallarm-sidecar",
        "--secret-name",
        "wallarm-sidecar-admission-tls",
        "--host",
        f"{hosts},{service}.wallarm-sidecar.svc.cluster.local",
    ]
    assert patch["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "certgen",
        "patch",
        "--namespace",
        "wallarm-sidecar",
        "--secret-name",
        "wallarm-sidecar-admission-tls",
        "--webhook-name",
        "wallarm-sidecar",
        "--patch-failure-policy",
        "Fail",
    ]
    for job in jobs.values():
        assert job["spec"]["template"]["spec"]["serviceAccountName"] == "wallarm-sidecar-certgen"
    role = one(objects, "Role", "wallarm-sidecar-certgen")
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["wallarm-sidecar-admission-tls"],
            "verbs": ["get", "update"],
        },
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
    ]
    cluster_role = one(objects, "ClusterRole", "wallarm-sidecar-certgen")
    assert cluster_role["rules"] == [
        {
            "apiGroups": ["admissionregistration.k8s.io"],
            "resources": ["mutatingwebhookconfigurations"],
            "resourceNames": ["wallarm-sidecar"],
            "verbs": ["get", "patch"],
        }
    ]
    for kind in ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"):
        hooks = one(objects, kind, "wallarm-sidecar-certgen")["metadata"]["annotations"]
        assert hooks["helm.sh/hook"] == "pre-install,pre-upgrade,post-install,post-upgrade"
    # No certificate at render time: nothing of the chart holds the webhook's TLS Secret.
    assert "wallarm-sidecar-admission-tls" not in by_kind(objects, "Secret")
    (webhook,) = one(objects, "MutatingWebhookConfiguration", "wallarm-sidecar")["webhooks"]
    assert "caBundle" not in webhook["clientConfig"]


def test_cert_manager_mode(helm: Helm) -> None:
    objects = helm.objects(values=("cert-manager.yaml",))
    assert not by_kind(objects, "Job")
    assert not by_kind(objects, "Secret").keys() - {"wallarm-sidecar-token"}
    configuration = one(objects, "MutatingWebhookConfiguration", "wallarm-sidecar")
    assert configuration["metadata"]["annotations"] == {
        "cert-manager.io/inject-ca-from": "wallarm-sidecar/wallarm-sidecar-admission"
    }
    issuer = one(objects, "Issuer", "wallarm-sidecar-admission")
    assert issuer["spec"] == {"selfSigned": {}}
    certificate = one(objects, "Certificate", "wallarm-sidecar-admission")
    assert certificate["spec"]["secretName"] == "wallarm-sidecar-admission-tls"
    assert certificate["spec"]["issuerRef"] == {
        "kind": "Issuer",
        "name": "wallarm-sidecar-admission",
    }
    assert "wallarm-sidecar-controller.wallarm-sidecar.svc" in certificate["spec"]["dnsNames"]


def test_given_secret_mode(helm: Helm) -> None:
    objects = helm.objects(values=("given-secret.yaml",))
    assert not by_kind(objects, "Job")
    given = yaml.safe_load((VALUES / "given-secret.yaml").read_text())
    secret_values = given["controller"]["admissionWebhook"]["secret"]
    secret = one(objects, "Secret", "wallarm-sidecar-admission-tls")
    assert secret["type"] == "kubernetes.io/tls"
    decoded = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert decoded["ca.crt"] == secret_values["ca"]
    assert decoded["tls.crt"] == secret_values["crt"]
    assert decoded["tls.key"] == base64.b64decode(secret_values["key"]).decode()
    (webhook,) = one(objects, "MutatingWebhookConfiguration", "wallarm-sidecar")["webhooks"]
    assert base64.b64decode(webhook["clientConfig"]["caBundle"]).decode() == secret_values["ca"]
    deployment = one(objects, "Deployment", "wallarm-sidecar-controller")
    assert "checksum/tls" in deployment["spec"]["template"]["metadata"]["annotations"]


def test_controller_mounts_the_webhook_secret_in_every_mode(helm: Helm) -> None:
    for kwargs in (CASES["default"], CASES["cert-manager"], CASES["given-secret"]):
        objects = helm.objects(**kwargs)
        spec = one(objects, "Deployment", "wallarm-sidecar-controller")["spec"]["template"]["spec"]
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        assert volumes["tls"]["secret"]["secretName"] == "wallarm-sidecar-admission-tls"
        assert container(spec, "controller")["args"] == [
            "controller",
            "--listen",
            ":8443",
            "--tls-cert-file",
            "/etc/wallarm-sidecar/tls/tls.crt",
            "--tls-key-file",
            "/etc/wallarm-sidecar/tls/tls.key",
            "--config",
            "/etc/wallarm-sidecar/config/config.yaml",
        ]


# --- the components -------------------------------------------------------------------


def test_default_release_objects(helm: Helm) -> None:
    objects = helm.objects(**CASES["default"])
    controller = one(objects, "Deployment", "wallarm-sidecar-controller")
    assert controller["spec"]["replicas"] == 2
    pod = controller["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "wallarm-sidecar-admission"
    assert pod["automountServiceAccountToken"] is False
    assert pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    env = container(pod, "controller")["env"]
    assert env == [
        {
            "name": "WALLARM_API_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "wallarm-sidecar-token", "key": "token"}},
        }
    ]
    token = one(objects, "Secret", "wallarm-sidecar-token")
    assert base64.b64decode(token["data"]["token"]).decode() == TOKEN
    assert sorted(by_kind(objects, "PodDisruptionBudget")) == [
        "wallarm-sidecar-controller",
        "wallarm-sidecar-postanalytics",
    ]
    assert sorted(by_kind(objects, "ServiceAccount")) == [
        "wallarm-sidecar-admission",
        "wallarm-sidecar-certgen",
        "wallarm-sidecar-postanalytics",
    ]
    postanalytics = one(objects, "Deployment", "wallarm-sidecar-postanalytics")
    pod = postanalytics["spec"]["template"]["spec"]
    assert postanalytics["spec"]["replicas"] == 1
    assert [c["name"] for c in pod["initContainers"]] == ["register"]
    assert [c["name"] for c in pod["containers"]] == ["wstore", "jobs", "appstructure"]
    assert pod["serviceAccountName"] == "wallarm-sidecar-postanalytics"
    assert container(pod, "wstore")["args"] == [
        "postanalytics",
        "wstore",
        "--listen",
        "0.0.0.0:3313",
    ]
    assert container(pod, "register")["args"] == ["register"]
    service = one(objects, "Service", "wallarm-sidecar-postanalytics")
    assert service["spec"]["ports"] == [
        {"name": "wstore", "port": 3313, "targetPort": "wstore", "protocol": "TCP"}
    ]
    config = controller_config(objects, "wallarm-sidecar")
    assert config["wstore"] == {
        "host": "wallarm-sidecar-postanalytics.wallarm-sidecar.svc",
        "port": 3313,
    }
    assert config["sidecar"]["image"] == {
        "registry": "",
        "image": "wallarm-sidecar",
        "tag": "0.1.0",
        "pullPolicy": "IfNotPresent",
    }
    # Nothing in the release binds a role to the controller's or postanalytics' accounts.
    for binding in [
        *by_kind(objects, "RoleBinding").values(),
        *by_kind(objects, "ClusterRoleBinding").values(),
    ]:
        assert [s["name"] for s in binding["subjects"]] == ["wallarm-sidecar-certgen"]


def test_token_host_and_node_group(helm: Helm) -> None:
    objects = helm.objects(values=("token-host-nodegroup.yaml",))
    config = controller_config(objects, "wallarm-sidecar")
    assert config["wallarm"]["api"]["host"] == "us1.api.wallarm.com"
    assert config["wallarm"]["api"]["nodeGroup"] == "my-sidecar-group"
    pod = one(objects, "Deployment", "wallarm-sidecar-postanalytics")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in container(pod, "register")["env"]}
    assert env["WALLARM_API_HOST"] == "us1.api.wallarm.com"
    assert env["WALLARM_LABELS"] == "group=my-sidecar-group"


def test_existing_secret(helm: Helm) -> None:
    objects = helm.objects(values=("existing-secret.yaml",))
    assert not by_kind(objects, "Secret")
    reference = {"secretKeyRef": {"name": "my-wallarm-token", "key": "api-token"}}
    for name, containers in (
        ("wallarm-sidecar-controller", ["controller"]),
        ("wallarm-sidecar-postanalytics", ["register", "jobs"]),  # appstructure never registers
    ):
        pod = one(objects, "Deployment", name)["spec"]["template"]["spec"]
        for container_name in containers:
            env = {e["name"]: e for e in container(pod, container_name)["env"]}
            assert env["WALLARM_API_TOKEN"]["valueFrom"] == reference


def test_split_schema_and_iptables_off_reach_the_controller_config(helm: Helm) -> None:
    split = controller_config(helm.objects(values=("split-schema.yaml",)), "wallarm-sidecar")
    settings = InjectionSettings.from_config(split)
    assert (settings.injection_strategy.schema_name, settings.wallarm.mode) == ("split", "block")
    off = controller_config(helm.objects(values=("iptables-off.yaml",)), "wallarm-sidecar")
    settings = InjectionSettings.from_config(off)
    assert settings.injection_strategy.iptables_enable is False
    assert (settings.wallarm.fallback, settings.wallarm.parse_websocket) == ("off", "on")
    assert (settings.nginx.application_port, settings.nginx.listen_port) == (8080, 26002)


def test_config_change_rolls_the_controller(helm: Helm) -> None:
    def checksum(**kwargs: Any) -> str:
        objects = helm.objects(**kwargs)
        deployment = one(objects, "Deployment", "wallarm-sidecar-controller")
        return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    default = checksum(**CASES["default"])
    assert default == checksum(**CASES["default"])
    assert default != checksum(values=("split-schema.yaml",))


def test_external_postanalytics(helm: Helm) -> None:
    objects = helm.objects(values=("external-postanalytics.yaml",))
    names = {(obj["kind"], obj["metadata"]["name"]) for obj in objects}
    assert not {name for _, name in names if "postanalytics" in name}
    config = controller_config(objects, "wallarm-sidecar")
    assert config["wstore"] == {"host": "wstore.shared-services.svc", "port": 3314}


def test_arm64_example_nested_under_config(helm: Helm) -> None:
    objects = helm.objects(values=("arm64.yaml",))
    for name in ("wallarm-sidecar-controller", "wallarm-sidecar-postanalytics"):
        pod = one(objects, "Deployment", name)["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"kubernetes.io/arch": "arm64"}
    config = controller_config(objects, "wallarm-sidecar")
    assert "controller" not in config and "postanalytics" not in config


def test_user_affinity_replaces_the_default(helm: Helm) -> None:
    objects = helm.objects(values=("user-affinity.yaml",))
    given = yaml.safe_load((VALUES / "user-affinity.yaml").read_text())
    for component in ("controller", "postanalytics"):
        deployment = one(objects, "Deployment", f"wallarm-sidecar-{component}")
        assert deployment["spec"]["template"]["spec"]["affinity"] == given[component]["affinity"]
    postanalytics = one(objects, "Deployment", "wallarm-sidecar-postanalytics")
    assert postanalytics["spec"]["replicas"] == 2


def test_scheduling_and_images(helm: Helm) -> None:
    objects = helm.objects(values=("scheduling-images.yaml",))
    controller = one(objects, "Deployment", "wallarm-sidecar-controller")
    assert controller["spec"]["replicas"] == 3
    pod = controller["spec"]["template"]["spec"]
    digest = "sha256:" + "0123456789abcdef" * 4
    assert container(pod, "controller")["image"] == (
        f"registry.example.com/security/wallarm-sidecar@{digest}"
    )
    assert pod["imagePullSecrets"] == [{"name": "regcred"}, {"name": "controller-regcred"}]
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["nodeSelector"] == {"node-pool": "security"}
    assert pod["tolerations"][0]["key"] == "dedicated"
    assert container(pod, "controller")["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}
    assert (
        controller["spec"]["template"]["metadata"]["annotations"]["example.com/team"] == "security"
    )
    for job in by_kind(objects, "Job").values():
        image = job["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.endswith(digest)
    postanalytics = one(objects, "Deployment", "wallarm-sidecar-postanalytics")
    pod = postanalytics["spec"]["template"]["spec"]
    for item in pod_containers(pod):
        assert item["image"] == "mirror.example.com/wallarm/wallarm-sidecar:0.1.0-pa"
        assert item["imagePullPolicy"] == "Always"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["priorityClassName"] == "high-priority"
    assert pod["nodeSelector"] == {"node-pool": "postanalytics"}
    assert container(pod, "wstore")["resources"]["limits"] == {"memory": "3Gi"}
    assert container(pod, "jobs")["resources"]["requests"] == {"cpu": "50m", "memory": "64Mi"}
    assert container(pod, "register")["resources"]["requests"] == {"cpu": "10m", "memory": "32Mi"}
    wstore_env = {e["name"]: e["value"] for e in container(pod, "wstore")["env"]}
    assert wstore_env["WALLARM_WSTORE_ARENA"] == "2"
    config = controller_config(objects, "wallarm-sidecar")
    assert config["sidecar"]["image"] == {
        "registry": "registry.example.com/security",
        "image": "wallarm-sidecar",
        "tag": "0.1.0-sidecar",
        "pullPolicy": "IfNotPresent",
    }
    image = InjectionSettings.from_config(config).sidecar.image.reference
    assert image == "registry.example.com/security/wallarm-sidecar:0.1.0-sidecar"


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("release", "sets", "fullname"),
    [
        ("wallarm-sidecar", (), "wallarm-sidecar"),
        ("wlrm-sidecar", (), "wlrm-sidecar-wallarm-sidecar"),
        ("prod-wallarm-sidecar-eu", (), "prod-wallarm-sidecar-eu"),
        ("waf", (), "waf-wallarm-sidecar"),
        ("waf", ("fullnameOverride=shield",), "shield"),
    ],
)
def test_fullname_rule(helm: Helm, release: str, sets: tuple[str, ...], fullname: str) -> None:
    objects = helm.objects(release=release, sets=(f"config.wallarm.api.token={TOKEN}", *sets))
    assert sorted(by_kind(objects, "Deployment")) == [
        f"{fullname}-controller",
        f"{fullname}-postanalytics",
    ]
    assert sorted(by_kind(objects, "ServiceAccount")) == [
        f"{fullname}-admission",
        f"{fullname}-certgen",
        f"{fullname}-postanalytics",
    ]
    assert list(by_kind(objects, "MutatingWebhookConfiguration")) == [fullname]
    check_invariants(objects, release=release, namespace="wallarm-sidecar")


# --- values.schema.json -----------------------------------------------------------------

#: (--set values, what each Helm says). Helm 3 validates with gojsonschema, Helm 4 with
#: santhosh-tekuri/jsonschema: the wording differs, the key path is in both.
REJECTIONS: dict[str, tuple[tuple[str, ...], dict[int, list[str]]]] = {
    "mode-bogus": (
        (f"config.wallarm.api.token={TOKEN}", "config.wallarm.mode=bogus"),
        {
            3: [
                'config.wallarm.mode must be one of the following: "off", "monitoring", "safe_blocking", "block"'
            ],
            4: [
                "at '/config/wallarm/mode': value must be one of 'off', 'monitoring', 'safe_blocking', 'block'"
            ],
        },
    ),
    "negative-port": (
        (f"config.wallarm.api.token={TOKEN}", "config.nginx.listenPort=-1"),
        {
            3: ["config.nginx.listenPort: Must be greater than or equal to 1"],
            4: ["at '/config/nginx/listenPort': minimum: got -1, want 1"],
        },
    ),
    "unknown-schema": (
        (f"config.wallarm.api.token={TOKEN}", "config.injectionStrategy.schema=sidecarless"),
        {
            3: [
                'config.injectionStrategy.schema: config.injectionStrategy.schema must be one of the following: "single", "split"'
            ],
            4: ["at '/config/injectionStrategy/schema': value must be one of 'single', 'split'"],
        },
    ),
    "missing-token": (
        (),
        {
            3: ["config.wallarm.api.token: String length must be greater than or equal to 1"],
            4: ["at '/config/wallarm/api/token': minLength: got 0, want 1"],
        },
    ),
    "failure-policy": (
        (
            f"config.wallarm.api.token={TOKEN}",
            "controller.admissionWebhook.failurePolicy=Sometimes",
        ),
        {
            3: ["controller.admissionWebhook.failurePolicy must be one of the following"],
            4: [
                "at '/controller/admissionWebhook/failurePolicy': value must be one of 'Fail', 'Ignore'"
            ],
        },
    ),
    "external-without-host": (
        (f"config.wallarm.api.token={TOKEN}", "postanalytics.external.enabled=true"),
        {
            3: ["postanalytics.external.host: String length must be greater than or equal to 1"],
            4: ["at '/postanalytics/external/host': minLength: got 0, want 1"],
        },
    ),
    "given-secret-incomplete": (
        (f"config.wallarm.api.token={TOKEN}", "controller.admissionWebhook.secret.enabled=true"),
        {
            3: [
                "controller.admissionWebhook.secret.ca: String length must be greater than or equal to 1"
            ],
            4: ["at '/controller/admissionWebhook/secret/ca': minLength: got 0, want 1"],
        },
    ),
    "nested-controller-replicas": (
        (f"config.wallarm.api.token={TOKEN}", "config.controller.replicaCount=-2"),
        {
            3: ["config.controller.replicaCount: Must be greater than or equal to 0"],
            4: ["at '/config/controller/replicaCount': minimum: got -2, want 0"],
        },
    ),
}


@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_schema_rejects_bad_values(helm: Helm, case: str) -> None:
    sets, messages = REJECTIONS[case]
    result = helm.template_process(sets=sets)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    for message in messages[helm.major]:
        assert message in result.stderr, result.stderr


def test_existing_secret_needs_no_token(helm: Helm) -> None:
    result = helm.template_process(sets=("config.wallarm.api.existingSecret.enabled=true",))
    assert result.returncode == 0, result.stderr


def test_template_failures_name_the_value(helm: Helm) -> None:
    both = helm.template_process(
        sets=(
            f"config.wallarm.api.token={TOKEN}",
            "controller.admissionWebhook.certManager.enabled=true",
            "controller.admissionWebhook.secret.enabled=true",
            "controller.admissionWebhook.secret.ca=x",
            "controller.admissionWebhook.secret.crt=x",
            "controller.admissionWebhook.secret.key=x",
        )
    )
    assert both.returncode != 0
    assert "enable certManager or secret, not both" in both.stderr


def test_values_schema_is_generated_from_the_model() -> None:
    script = REPO / "scripts" / "gen_values_schema.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# --- the chart repository ---------------------------------------------------------------


@pytest.fixture(scope="module")
def chart_repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP on 127.0.0.1 (filled by the test with its own helm)."""
    root = tmp_path_factory.mktemp("chart-repo")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_published_chart_installs_by_name_and_version(
    helm: Helm, chart_repository: tuple[Path, str]
) -> None:
    root, url = chart_repository
    directory = root / f"helm{helm.major}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    version = yaml.safe_load((CHART / "Chart.yaml").read_text())["version"]
    packaged = helm.run("package", str(CHART), "--destination", str(directory))
    assert packaged.returncode == 0, packaged.stderr
    archive = directory / f"wallarm-sidecar-{version}.tgz"
    with tarfile.open(archive) as packed:
        names = set(packed.getnames())
    for name in ("Chart.yaml", "values.schema.json", "README.md", "openshift/scc.yaml"):
        assert f"wallarm-sidecar/{name}" in names
    indexed = helm.run("repo", "index", str(directory), "--url", f"{url}/helm{helm.major}")
    assert indexed.returncode == 0, indexed.stderr
    added = helm.run("repo", "add", f"wallarm-test{helm.major}", f"{url}/helm{helm.major}")
    assert added.returncode == 0, added.stderr
    result = helm.template_process(
        chart=f"wallarm-test{helm.major}/wallarm-sidecar",
        extra=("--version", version),
        sets=(f"config.wallarm.api.token={TOKEN}",),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == helm.template(**CASES["default"])


# --- the chart's README and OpenShift SCC -----------------------------------------------


def value_leaves(values: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in values.items():
        path = f"{prefix}{key}"
        opaque = key in ("objectSelector", "resources", "podSecurityContext")
        opaque = opaque or key == "containerSecurityContext"
        if isinstance(value, dict) and value and not opaque:
            yield from value_leaves(value, path + ".")
        else:
            yield path, value


def test_readme_lists_every_value_with_its_default() -> None:
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    for path, default in value_leaves(values):
        row = f"| `{path}` | `{json.dumps(default, separators=(', ', ': '))}` |"
        assert row in readme, f"README.md lacks the row {row}"


def test_openshift_scc_admits_the_chart_pods(helm: Helm) -> None:
    sccs = {
        doc["metadata"]["name"]: doc
        for doc in yaml.safe_load_all((CHART / "openshift" / "scc.yaml").read_text())
    }
    scc = sccs["wallarm-sidecar-deployment"]
    assert scc["requiredDropCapabilities"] == ["ALL"]
    assert scc["runAsUser"] == {"type": "MustRunAsNonRoot"}
    assert scc["seccompProfiles"] == ["runtime/default"]
    assert not scc["allowPrivilegeEscalation"] and not scc["allowPrivilegedContainer"]
    assert sccs["wallarm-sidecar-iptables"]["allowedCapabilities"] == [
        "NET_ADMIN",
        "NET_RAW",
        "NET_BIND_SERVICE",
    ]
    objects = helm.objects(**CASES["default"])
    for workload in [*by_kind(objects, "Deployment").values(), *by_kind(objects, "Job").values()]:
        spec = workload["spec"]["template"]["spec"]
        assert not spec.get("hostNetwork") and not spec.get("hostPID")
        for volume in spec["volumes"]:
            assert set(volume) - {"name"} <= {"configMap", "emptyDir", "secret", "projected"}
        assert spec["securityContext"]["runAsUser"] == 101


# --- more options -----------------------------------------------------------------------


def test_ha_scaling_example(helm: Helm) -> None:
    objects = helm.objects(values=("ha-scaling.yaml",))
    given = yaml.safe_load((VALUES / "ha-scaling.yaml").read_text())
    for component in ("controller", "postanalytics"):
        deployment = one(objects, "Deployment", f"wallarm-sidecar-{component}")
        assert deployment["spec"]["replicas"] == 2
        assert deployment["spec"]["template"]["spec"]["affinity"] == given[component]["affinity"]
    pod = one(objects, "Deployment", "wallarm-sidecar-postanalytics")["spec"]["template"]["spec"]
    assert {e["name"]: e["value"] for e in container(pod, "wstore")["env"]} == {
        "WALLARM_WSTORE_ARENA": "1.0"
    }
    config = controller_config(objects, "wallarm-sidecar")
    settings = InjectionSettings.from_config(config)
    assert settings.sidecar.containers.proxy.resources.limits == {"cpu": "500m", "memory": "512Mi"}


def test_tarantool_spelling_of_older_charts(helm: Helm) -> None:
    objects = helm.objects(
        sets=(
            f"config.wallarm.api.token={TOKEN}",
            "postanalytics.tarantool.config.arena=1.5",
            "postanalytics.tarantool.resources.limits.memory=2Gi",
        )
    )
    pod = one(objects, "Deployment", "wallarm-sidecar-postanalytics")["spec"]["template"]["spec"]
    wstore = container(pod, "wstore")
    assert wstore["env"] == [{"name": "WALLARM_WSTORE_ARENA", "value": "1.5"}]
    assert wstore["resources"]["limits"] == {"memory": "2Gi"}


def test_token_change_rolls_the_pods(helm: Helm) -> None:
    def checksums(token: str) -> list[str]:
        objects = helm.objects(sets=(f"config.wallarm.api.token={token}",))
        return [
            deployment["spec"]["template"]["metadata"]["annotations"]["checksum/token"]
            for deployment in by_kind(objects, "Deployment").values()
        ]

    first, second = checksums(TOKEN), checksums(TOKEN + "-rotated")
    assert len(first) == 2 and not set(first) & set(second)


def test_pod_labels_excluded_namespaces_and_sidecar_image_string(helm: Helm) -> None:
    objects = helm.objects(
        sets=(
            f"config.wallarm.api.token={TOKEN}",
            "controller.podLabels.team=security",
            "controller.admissionWebhook.excludeNamespaces={monitoring,istio-system}",
            "config.sidecar.image=registry.example.com/waf/sidecar:1.2.3",
        )
    )
    deployment = one(objects, "Deployment", "wallarm-sidecar-controller")
    assert deployment["spec"]["template"]["metadata"]["labels"]["team"] == "security"
    assert "team" not in deployment["spec"]["selector"]["matchLabels"]
    (webhook,) = one(objects, "MutatingWebhookConfiguration", "wallarm-sidecar")["webhooks"]
    assert webhook["namespaceSelector"]["matchExpressions"][0]["values"] == [
        "kube-system",
        "wallarm-sidecar",
        "monitoring",
        "istio-system",
    ]
    config = controller_config(objects, "wallarm-sidecar")
    assert config["sidecar"]["image"] == "registry.example.com/waf/sidecar:1.2.3"
    image = InjectionSettings.from_config(config).sidecar.image.reference
    assert image == "registry.example.com/waf/sidecar:1.2.3"


# --- NOTES.txt --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notes_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the chart that renders NOTES.txt into a ConfigMap (`helm template` and
    an offline Helm 3 cannot show NOTES otherwise)."""
    chart = tmp_path_factory.mktemp("notes") / "wallarm-sidecar"
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


def notes(helm: Helm, chart: Path, *sets: str) -> str:
    text = helm.template(
        chart=str(chart),
        sets=(f"config.wallarm.api.token={TOKEN}", *sets),
        extra=("--show-only", "templates/notes-for-test.yaml"),
    )
    return str(yaml.safe_load(text)["data"]["notes"])


def test_notes_tell_how_to_check_the_install(helm: Helm, notes_chart: Path) -> None:
    text = notes(helm, notes_chart)
    assert (
        "kubectl get pods -n wallarm-sidecar -l app.kubernetes.io/instance=wallarm-sidecar" in text
    )
    assert "wallarm-sidecar-controller-...     READY 1/1   (2 pods)" in text
    assert "wallarm-sidecar-postanalytics-...  READY 3/3   (1 pod)" in text
    assert "READY 2/2 for one application container (single schema)" in text
    assert "curl http://<app-service>/etc/passwd" in text
    assert "passed and recorded" in text
    assert "kubectl logs -n wallarm-sidecar deploy/wallarm-sidecar-postanalytics -c jobs" in text
    assert TOKEN not in text
    split = notes(
        helm, notes_chart, "config.injectionStrategy.schema=split", "config.wallarm.mode=block"
    )
    assert "READY 3/3 for one application container (split schema)" in split
    assert "blocked (403)" in split
    external = notes(
        helm,
        notes_chart,
        "postanalytics.external.enabled=true",
        "postanalytics.external.host=wstore.example",
    )
    assert "Postanalytics is external: wstore.example:3313" in external
    assert "postanalytics-..." not in external
    assert "deploy/wallarm-sidecar-postanalytics" not in external


def test_no_certificate_or_random_value_at_render_time() -> None:
    generators = ("genCA", "genSelfSignedCert", "genSignedCert", "genPrivateKey", "randAlpha")
    for template in (CHART / "templates").iterdir():
        text = template.read_text(encoding="utf-8")
        assert not [name for name in generators if name in text], template.name


def test_disruption_budgets_can_be_turned_off_or_set(helm: Helm) -> None:
    objects = helm.objects(
        sets=(
            f"config.wallarm.api.token={TOKEN}",
            "controller.podDisruptionBudget.enabled=false",
            "postanalytics.podDisruptionBudget.minAvailable=1",
        )
    )
    budgets = by_kind(objects, "PodDisruptionBudget")
    assert list(budgets) == ["wallarm-sidecar-postanalytics"]
    assert budgets["wallarm-sidecar-postanalytics"]["spec"]["minAvailable"] == 1
    assert "maxUnavailable" not in budgets["wallarm-sidecar-postanalytics"]["spec"]
