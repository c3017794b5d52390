"""Bodies sent to the Kubernetes API and read back from it, without I/O."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Literal, TypedDict

from wallarm_sidecar.certgen._certificates import CertificateBundle
from wallarm_sidecar.certgen._errors import CertgenError

FailurePolicy = Literal["Fail", "Ignore"]
TLS_SECRET_TYPE = "kubernetes.io/tls"

#: Secret data keys and the part of the bundle each holds: kube-webhook-certgen's names
#: first, then the kubernetes.io/tls ones (the chart mounts `tls.crt` and `tls.key`).
SECRET_KEYS: tuple[tuple[str, Literal["ca", "cert", "key"]], ...] = (
    ("ca", "ca"),
    ("cert", "cert"),
    ("key", "key"),
    ("ca.crt", "ca"),
    ("tls.crt", "cert"),
    ("tls.key", "key"),
)
SECRET_LABELS: Mapping[str, str] = {
    "app.kubernetes.io/name": "wallarm-sidecar",
    "app.kubernetes.io/component": "webhook-certificate",
    "app.kubernetes.io/managed-by": "wallarm-sidecar-certgen",
}


class PatchOperation(TypedDict):
    op: Literal["add", "replace", "test"]
    path: str
    value: Any


def secret_manifest(
    *,
    name: str,
    namespace: str,
    bundle: CertificateBundle,
    secret_type: str = TLS_SECRET_TYPE,
    resource_version: str | None = None,
) -> dict[str, Any]:
    """The Secret holding `bundle` under every key of `SECRET_KEYS` (base64 `data`)."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(SECRET_LABELS)}
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    parts = {"ca": bundle.ca, "cert": bundle.cert, "key": bundle.key}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": secret_type,
        "data": {key: base64.b64encode(parts[part]).decode("ascii") for key, part in SECRET_KEYS},
    }


def replacement_secret(existing: Mapping[str, Any], *, bundle: CertificateBundle) -> dict[str, Any]:
    """`existing` (as read from the API) holding `bundle` instead, for a PUT.

    Its type (immutable), resourceVersion (so a concurrent change makes the PUT fail with
    409), annotations, labels and other data keys are kept.
    """
    metadata = existing.get("metadata") or {}
    replacement = secret_manifest(
        name=str(metadata.get("name", "")),
        namespace=str(metadata.get("namespace", "")),
        bundle=bundle,
        secret_type=str(existing.get("type") or TLS_SECRET_TYPE),
        resource_version=metadata.get("resourceVersion"),
    )
    replacement["metadata"]["labels"] = {
        **(metadata.get("labels") or {}),
        **replacement["metadata"]["labels"],
    }
    if metadata.get("annotations"):
        replacement["metadata"]["annotations"] = dict(metadata["annotations"])
    replacement["data"] = {**(existing.get("data") or {}), **replacement["data"]}
    return replacement


def _decoded(data: Mapping[str, Any], part: str) -> bytes | None:
    for key, holds in SECRET_KEYS:
        value = data.get(key)
        if holds == part and isinstance(value, str) and value:
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return None
    return None


def bundle_from_secret(secret: Mapping[str, Any]) -> CertificateBundle | None:
    """The bundle in a Secret read from the API (`ca`/`cert`/`key`, else the tls keys)."""
    data = secret.get("data")
    if not isinstance(data, Mapping):
        return None
    ca, cert, key = (_decoded(data, part) for part in ("ca", "cert", "key"))
    if ca is None or cert is None or key is None:
        return None
    return CertificateBundle(ca=ca, cert=cert, key=key)


def ca_from_secret(secret: Mapping[str, Any]) -> bytes | None:
    """The CA certificate (PEM) in a Secret read from the API, if it holds one."""
    data = secret.get("data")
    if not isinstance(data, Mapping):
        return None
    ca = _decoded(data, "ca")
    return ca if ca and b"-----BEGIN CERTIFICATE-----" in ca else None


def webhook_patch(
    configuration: Mapping[str, Any],
    *,
    ca_bundle: bytes,
    failure_policy: FailurePolicy | None = None,
) -> list[PatchOperation]:
    """RFC 6902 operations setting `caBundle` (and `failurePolicy`) on every webhook.

    Each webhook's changes are guarded by a `test` of its name, so a configuration that
    changed since it was read is refused rather than patched at the wrong index. Empty
    when nothing would change.
    """
    name = str(configuration.get("metadata", {}).get("name", ""))
    webhooks = configuration.get("webhooks")
    if not isinstance(webhooks, list) or not webhooks:
        raise CertgenError(f"the MutatingWebhookConfiguration {name} has no webhooks")
    encoded = base64.b64encode(ca_bundle).decode("ascii")
    operations: list[PatchOperation] = []
    for index, webhook in enumerate(webhooks):
        if not isinstance(webhook, Mapping):
            raise CertgenError(f"webhook {index} of {name} is not an object")
        changes: list[PatchOperation] = []
        client_config = webhook.get("clientConfig")
        if not isinstance(client_config, Mapping):
            changes.append(
                {
                    "op": "add",
                    "path": f"/webhooks/{index}/clientConfig",
                    "value": {"caBundle": encoded},
                }
            )
        elif client_config.get("caBundle") != encoded:
            changes.append(
                {"op": "add", "path": f"/webhooks/{index}/clientConfig/caBundle", "value": encoded}
            )
        if failure_policy is not None and webhook.get("failurePolicy") != failure_policy:
            changes.append(
                {"op": "add", "path": f"/webhooks/{index}/failurePolicy", "value": failure_policy}
            )
        if changes:
            guard: PatchOperation = {
                "op": "test",
                "path": f"/webhooks/{index}/name",
                "value": webhook.get("name"),
            }
            operations += [guard, *changes]
    return operations
