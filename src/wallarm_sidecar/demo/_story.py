"""The pure parts of the demo: the documentation's example, the controller's config,
the AdmissionReview the apiserver would send, and reading the Cloud's answers."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from dataclasses import dataclass
from typing import Any, Final

import jsonpatch  # type: ignore[import-untyped,unused-ignore]

NAMESPACE: Final = "default"
NODE_GROUP: Final = "defaultSidecarGroup"
MODE_ANNOTATION: Final = "sidecar.wallarm.io/wallarm-mode"
#: the test request of the documentation, and a request that must simply pass
ATTACK_PATH: Final = "/etc/passwd"
BENIGN_PATH: Final = "/get?demo=1"

#: The example Deployment of the public Sidecar documentation: httpbin with the label.
EXAMPLE_DEPLOYMENT: Final[dict[str, Any]] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "myapp", "namespace": NAMESPACE},
    "spec": {
        "selector": {"matchLabels": {"app": "myapp"}},
        "template": {
            "metadata": {"labels": {"app": "myapp", "wallarm-sidecar": "enabled"}},
            "spec": {
                "containers": [
                    {
                        "name": "application",
                        "image": "kennethreitz/httpbin",
                        "ports": [{"name": "http", "containerPort": 80}],
                    }
                ]
            },
        },
    },
}


@dataclass(frozen=True)
class Addresses:
    """Where the pod finds the Cloud and postanalytics (the host side of its network)."""

    cloud_host: str
    cloud_port: int
    wstore_host: str
    wstore_port: int


def controller_config(addresses: Addresses) -> dict[str, Any]:
    """The controller's `--config`: the chart's `config` tree plus `wstore`."""
    return {
        "wallarm": {
            "mode": "monitoring",
            "api": {
                "host": addresses.cloud_host,
                "port": addresses.cloud_port,
                "useSSL": False,
                "caVerify": False,
                "nodeGroup": NODE_GROUP,
            },
        },
        "injectionStrategy": {"schema": "single", "iptablesEnable": True},
        "wstore": {"host": addresses.wstore_host, "port": addresses.wstore_port},
    }


def pod_from_template(deployment: dict[str, Any], *, mode: str | None = None) -> dict[str, Any]:
    """The Pod a ReplicaSet of `deployment` would create, as the apiserver admits it."""
    template = copy.deepcopy(deployment["spec"]["template"])
    name = deployment["metadata"]["name"]
    pod_hash = uuid.uuid4().hex[:10]
    metadata = template.setdefault("metadata", {})
    metadata["generateName"] = f"{name}-{pod_hash}-"
    metadata["namespace"] = deployment["metadata"].get("namespace", NAMESPACE)
    metadata.setdefault("labels", {})["pod-template-hash"] = pod_hash
    metadata["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": f"{name}-{pod_hash}",
            "uid": str(uuid.uuid4()),
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    if mode is not None:
        metadata.setdefault("annotations", {})[MODE_ANNOTATION] = mode
    return {"apiVersion": "v1", "kind": "Pod", **template}


def admission_review(pod: dict[str, Any]) -> dict[str, Any]:
    """An AdmissionReview v1 request shaped as kube-apiserver sends it for a pod CREATE."""
    namespace = pod["metadata"]["namespace"]
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {
                "username": "system:serviceaccount:kube-system:replicaset-controller",
                "groups": ["system:serviceaccounts", "system:authenticated"],
            },
            "object": pod,
            "oldObject": None,
            "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        },
    }


class DemoError(Exception):
    """A stage of the demo failed; the message says which and why."""


def patched_pod(pod: dict[str, Any], answer: Any) -> dict[str, Any]:
    """The pod after the webhook's answer, as the apiserver would store it."""
    response = answer.get("response") if isinstance(answer, dict) else None
    if not isinstance(response, dict) or response.get("allowed") is not True:
        raise DemoError(f"the controller did not allow the pod: {json.dumps(answer)[:300]}")
    if "patch" not in response:
        raise DemoError("the controller answered without a patch: nothing was injected")
    if response.get("patchType") != "JSONPatch":
        raise DemoError(f"unexpected patchType {response.get('patchType')!r}")
    operations = json.loads(base64.b64decode(response["patch"]))
    result: dict[str, Any] = jsonpatch.apply_patch(pod, operations)
    return result


def container_names(pod: dict[str, Any]) -> list[str]:
    spec = pod.get("spec", {})
    return [c["name"] for c in spec.get("initContainers", []) + spec.get("containers", [])]


def find_attack(page: Any, *, path: str, blocked: bool) -> dict[str, Any] | None:
    """The path-traversal attack on `path` in a page of `GET /api/v1/attacks`."""
    items = page.get("items", []) if isinstance(page, dict) else []
    for attack in items:
        if (
            isinstance(attack, dict)
            and attack.get("attack_type") == "ptrav"
            and attack.get("path") == path
            and bool(attack.get("blocked")) is blocked
        ):
            return attack
    return None


def hit_of_node(page: Any) -> dict[str, Any] | None:
    """A hit of an attack that names its node and node group (`GET /api/v1/hits`)."""
    items = page.get("items", []) if isinstance(page, dict) else []
    for hit in items:
        if isinstance(hit, dict) and hit.get("node") and hit.get("node_group"):
            return hit
    return None
