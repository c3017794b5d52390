"""The two jobs as sequences of API calls: `create_certificate` and `patch_webhook`."""

from __future__ import annotations

import datetime
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from wallarm_sidecar.certgen._certificates import bundle_problem, generate_bundle
from wallarm_sidecar.certgen._errors import CertgenError, KubeApiError
from wallarm_sidecar.certgen._kube import JSON_PATCH, KubeClient
from wallarm_sidecar.certgen._manifests import (
    FailurePolicy,
    bundle_from_secret,
    ca_from_secret,
    replacement_secret,
    secret_manifest,
    webhook_patch,
)

WEBHOOKS_PATH = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"


def secrets_path(namespace: str, name: str | None = None) -> str:
    path = f"/api/v1/namespaces/{urllib.parse.quote(namespace, safe='')}/secrets"
    return path if name is None else f"{path}/{urllib.parse.quote(name, safe='')}"


def webhook_path(name: str) -> str:
    return f"{WEBHOOKS_PATH}/{urllib.parse.quote(name, safe='')}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateOutcome:
    """What `create` did: kept a usable Secret, created one, or replaced an unusable one."""

    action: Literal["kept", "created", "replaced"]
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PatchOutcome:
    """How many webhooks the configuration has, and how many the patch changed."""

    webhooks: int
    changed: int


def _get_or_none(client: KubeClient, path: str, *, what: str) -> dict[str, Any] | None:
    try:
        return client.request("GET", path, what=what)
    except KubeApiError as error:
        if error.status == 404:
            return None
        raise


def _problem(secret: Mapping[str, Any], *, hosts: Sequence[str], now: datetime.datetime) -> str:
    bundle = bundle_from_secret(secret)
    if bundle is None:
        return "it holds no ca, cert and key data"
    return bundle_problem(bundle, hosts=hosts, now=now) or ""


def create_certificate(
    client: KubeClient,
    *,
    namespace: str,
    secret_name: str,
    hosts: Sequence[str],
    now: datetime.datetime,
) -> CreateOutcome:
    """Make sure the Secret holds a CA and a serving certificate for `hosts`.

    A Secret that can already serve `hosts` is left alone (the job runs on every install
    and upgrade); an unusable one (unreadable, expiring within 30 days, other hosts) is
    replaced in place.
    """
    what = f"secret {namespace}/{secret_name}"
    path = secrets_path(namespace, secret_name)
    existing = _get_or_none(client, path, what=what)
    if existing is not None:
        problem = _problem(existing, hosts=hosts, now=now)
        if not problem:
            return CreateOutcome(action="kept", detail="it already holds a usable certificate")
    bundle = generate_bundle(hosts, now=now)
    if existing is None:
        request = ("POST", secrets_path(namespace))
        body = secret_manifest(name=secret_name, namespace=namespace, bundle=bundle)
    else:
        request = ("PUT", path)
        body = replacement_secret(existing, bundle=bundle)
    try:
        client.request(*request, body=body, what=what)
    except KubeApiError as error:
        if error.status != 409:
            raise
        # Written meanwhile: by a concurrent job, or by our own request that a retry repeated.
        current = _get_or_none(client, path, what=what)
        later = "it vanished" if current is None else _problem(current, hosts=hosts, now=now)
        if later:
            raise CertgenError(f"{error}; the secret now there is unusable: {later}") from None
        return CreateOutcome(action="kept", detail="it was written concurrently")
    if existing is None:
        return CreateOutcome(action="created")
    return CreateOutcome(action="replaced", detail=problem)


def patch_webhook(
    client: KubeClient,
    *,
    namespace: str,
    secret_name: str,
    webhook_name: str,
    failure_policy: FailurePolicy | None = None,
) -> PatchOutcome:
    """Set every webhook's `caBundle` to the Secret's CA (and `failurePolicy` if given)."""
    what = f"secret {namespace}/{secret_name}"
    try:
        secret = client.request("GET", secrets_path(namespace, secret_name), what=what)
    except KubeApiError as error:
        if error.status == 404:
            raise CertgenError(f"{error}; run `wallarm-sidecar certgen create` first") from None
        raise
    ca = ca_from_secret(secret)
    if ca is None:
        raise CertgenError(f"{what} holds no CA certificate (data key ca or ca.crt)")
    configuration_what = f"mutatingwebhookconfiguration {webhook_name}"
    path = webhook_path(webhook_name)
    configuration = client.request("GET", path, what=configuration_what)
    operations = webhook_patch(configuration, ca_bundle=ca, failure_policy=failure_policy)
    count = len(configuration.get("webhooks") or [])
    if not operations:
        return PatchOutcome(webhooks=count, changed=0)
    client.request("PATCH", path, body=operations, content_type=JSON_PATCH, what=configuration_what)
    changed = len({op["path"].split("/")[2] for op in operations if op["op"] == "test"})
    return PatchOutcome(webhooks=count, changed=changed)
