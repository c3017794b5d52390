"""`wallarm-sidecar inject`: the webhook's mutation applied to manifests offline.

Pods, and the pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs
and CronJobs (and `List`s of them), go through the same `mutate` as admission; other
kinds pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from wallarm_sidecar.injector._mutate import mutate
from wallarm_sidecar.injector._settings import InjectionSettings

#: kind → path to its pod template.
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


class InjectionRejected(ValueError):
    """A manifest whose pod the webhook would deny; the message says which and why."""


def inject_documents(
    documents: Iterable[Any],
    settings: InjectionSettings,
    *,
    namespace: str | None = None,
    issued_at: int = 0,
) -> tuple[list[Any], list[str]]:
    """The documents with the sidecar injected where labelled, and the warnings."""
    out: list[Any] = []
    warnings: list[str] = []
    for document in documents:
        out.append(_inject_one(document, settings, namespace, issued_at, warnings))
    return out, warnings


def _inject_one(
    document: Any,
    settings: InjectionSettings,
    namespace: str | None,
    issued_at: int,
    warnings: list[str],
) -> Any:
    if not isinstance(document, dict):
        return document
    kind = document.get("kind")
    metadata: dict[str, Any] = document.get("metadata") or {}
    if not isinstance(metadata, dict):
        metadata = {}
    name = f"{kind}/{metadata.get('name') or metadata.get('generateName') or '?'}"
    ns = namespace or metadata.get("namespace") or "default"
    if kind == "List" and isinstance(document.get("items"), list):
        items = [
            _inject_one(item, settings, namespace, issued_at, warnings)
            for item in document["items"]
        ]
        return {**document, "items": items}
    if kind == "Pod" and document.get("apiVersion") == "v1":
        mutation = mutate(document, ns, settings, issued_at=issued_at)
        if not mutation.allowed:
            raise InjectionRejected(f"{name}: {mutation.message}")
        warnings += [f"{name}: {warning}" for warning in mutation.warnings]
        return mutation.pod
    path = TEMPLATE_PATHS.get(str(kind))
    if path is None:
        return document
    parent: Any = document
    for key in path[:-1]:
        parent = parent.get(key) if isinstance(parent, dict) else None
    template = parent.get(path[-1]) if isinstance(parent, dict) else None
    if not isinstance(template, dict):
        return document
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": template.get("metadata") or {},
        "spec": template.get("spec") or {},
    }
    mutation = mutate(pod, ns, settings, issued_at=issued_at)
    if not mutation.allowed:
        raise InjectionRejected(f"{name}: {mutation.message}")
    if mutation.decision != "injected":
        return document
    warnings += [f"{name}: {warning}" for warning in mutation.warnings]
    result = _copy_path(document, path[:-1])
    target = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = {
        **template,
        "metadata": mutation.pod["metadata"],
        "spec": mutation.pod["spec"],
    }
    return result


def _copy_path(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """A copy of `document` whose maps along `path` are new, the rest shared."""
    top = dict(document)
    node = top
    for key in path:
        node[key] = dict(node[key])
        node = node[key]
    return top


def inject_yaml(
    text: str, settings: InjectionSettings, *, namespace: str | None = None, issued_at: int = 0
) -> tuple[str, list[str]]:
    """Multi-document YAML in, multi-document YAML out."""
    documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    injected, warnings = inject_documents(
        documents, settings, namespace=namespace, issued_at=issued_at
    )
    return yaml.safe_dump_all(injected, sort_keys=False, explicit_start=True), warnings
