"""Shared by the injector tests: pods, settings, schema validation, patch application."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import kubernetes_validate

from wallarm_sidecar.injector import InjectionSettings, Mutation, mutate

#: Objects are validated against this Kubernetes version's schema (DESIGN §4).
KUBERNETES_VERSION = "1.30.0"
ISSUED_AT = 1_700_000_000
TOKEN = "org-api-token-for-tests"


def settings(config: dict[str, Any] | None = None, *, token: str = TOKEN) -> InjectionSettings:
    result = InjectionSettings.from_config(config or {})
    return result.with_token(token) if token and not result.token else result


def pod(
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    containers: list[dict[str, Any]] | None = None,
    name: str | None = "web",
    **spec: Any,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "labels": {"wallarm-sidecar": "enabled"} if labels is None else labels
    }
    if name is None:
        metadata["generateName"] = "web-"
    else:
        metadata["name"] = name
    if annotations is not None:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "containers": containers
            if containers is not None
            else [{"name": "web", "image": "nginx", "ports": [{"containerPort": 8080}]}],
            **spec,
        },
    }


def annotated(**annotations: str) -> dict[str, Any]:
    return pod(annotations={f"sidecar.wallarm.io/{k}": v for k, v in annotations.items()})


def run(
    the_pod: dict[str, Any], config: dict[str, Any] | None = None, namespace: str = "default"
) -> Mutation:
    """mutate(), checking what every result must satisfy on the way."""
    original = copy.deepcopy(the_pod)
    result = mutate(the_pod, namespace, settings(config), issued_at=ISSUED_AT)
    assert the_pod == original, "mutate must not change its argument"
    if result.decision == "injected":
        assert jsonpatch.apply_patch(original, result.patch) == result.pod
        validate(result.pod)
    else:
        assert result.patch == []
        assert result.pod == original
    return result


def validate(obj: dict[str, Any]) -> None:
    assert kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True) == "1.30"


def container(the_pod: dict[str, Any], name: str) -> dict[str, Any]:
    spec = the_pod["spec"]
    for item in [*spec.get("initContainers", []), *spec["containers"]]:
        if item["name"] == name:
            return dict(item)
    raise AssertionError(f"no container {name}")


def env(the_pod: dict[str, Any], name: str = "sidecar-proxy") -> dict[str, Any]:
    return {
        item["name"]: item.get("value", item.get("valueFrom"))
        for item in container(the_pod, name).get("env", [])
    }


def admission_review(
    the_pod: dict[str, Any],
    *,
    namespace: str = "shop",
    uid: str = "705ab4f5-6393-11e8-b7cc-42010a800002",
    dry_run: bool = False,
    operation: str = "CREATE",
) -> dict[str, Any]:
    """An AdmissionReview v1 request shaped as kube-apiserver 1.30 sends it for a pod CREATE."""
    obj = copy.deepcopy(the_pod)
    metadata = obj.setdefault("metadata", {})
    metadata.setdefault("namespace", namespace)
    metadata.setdefault("creationTimestamp", None)
    spec = obj["spec"]
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for item in spec["containers"]:
        item.setdefault("resources", {})
        item.setdefault("terminationMessagePath", "/dev/termination-log")
        item.setdefault("terminationMessagePolicy", "File")
        item.setdefault("imagePullPolicy", "IfNotPresent")
    obj["status"] = {}
    request: dict[str, Any] = {
        "uid": uid,
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
        "requestResource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": namespace,
        "operation": operation,
        "userInfo": {
            "username": "system:serviceaccount:kube-system:replicaset-controller",
            "uid": "1e5c0b1c-2f2e-4a34-9d55-3b8c3f1f8a10",
            "groups": [
                "system:serviceaccounts",
                "system:serviceaccounts:kube-system",
                "system:authenticated",
            ],
        },
        "object": obj,
        "oldObject": None,
        "dryRun": dry_run,
        "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
    }
    if metadata.get("name"):
        request["name"] = metadata["name"]
    return {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": request}


def decoded_patch(response: dict[str, Any]) -> list[dict[str, Any]]:
    import base64
    import json

    assert response["patchType"] == "JSONPatch"
    patch: list[dict[str, Any]] = json.loads(base64.b64decode(response["patch"]))
    return patch
