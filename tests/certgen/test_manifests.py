"""The Secret and the webhook patch, as pure values (validated against Kubernetes 1.30)."""

from __future__ import annotations

import base64
import copy
import datetime
from typing import Any

import jsonpatch
import kubernetes_validate
import pytest

from wallarm_sidecar.certgen import (
    SECRET_KEYS,
    CertgenError,
    CertificateBundle,
    bundle_from_secret,
    ca_from_secret,
    generate_bundle,
    replacement_secret,
    secret_manifest,
    webhook_patch,
)

NOW = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def bundle() -> CertificateBundle:
    return generate_bundle(["svc", "svc.ns", "svc.ns.svc"], now=NOW)


def _configuration(*names: str, **webhook: Any) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "wallarm-sidecar"},
        "webhooks": [
            {
                "name": name,
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": "Fail",
                "clientConfig": {"service": {"name": "svc", "namespace": "ns", "path": "/inject"}},
                **webhook,
            }
            for name in names
        ],
    }


def test_the_secret_holds_the_bundle_under_every_key(bundle: CertificateBundle) -> None:
    secret = secret_manifest(name="wallarm-sidecar-admission", namespace="ns", bundle=bundle)
    assert kubernetes_validate.validate(secret, "1.30", strict=True) == "1.30"
    assert secret["type"] == "kubernetes.io/tls"
    assert set(secret["data"]) == {"ca", "cert", "key", "ca.crt", "tls.crt", "tls.key"}
    decoded = {key: base64.b64decode(value) for key, value in secret["data"].items()}
    assert decoded["ca"] == decoded["ca.crt"] == bundle.ca
    assert decoded["cert"] == decoded["tls.crt"] == bundle.cert
    assert decoded["key"] == decoded["tls.key"] == bundle.key
    assert bundle_from_secret(secret) == bundle
    assert ca_from_secret(secret) == bundle.ca


def test_a_replacement_keeps_what_others_put_in_the_secret(bundle: CertificateBundle) -> None:
    existing = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "s",
            "namespace": "ns",
            "resourceVersion": "42",
            "uid": "u",
            "labels": {"team": "a"},
            "annotations": {"note": "b"},
        },
        "type": "Opaque",
        "data": {"other": "Yg==", "ca": "eA=="},
    }
    replacement = replacement_secret(existing, bundle=bundle)
    assert kubernetes_validate.validate(replacement, "1.30", strict=True) == "1.30"
    assert replacement["type"] == "Opaque"
    assert replacement["metadata"]["resourceVersion"] == "42"
    assert replacement["metadata"]["labels"]["team"] == "a"
    assert replacement["metadata"]["annotations"] == {"note": "b"}
    assert replacement["data"]["other"] == "Yg=="
    assert bundle_from_secret(replacement) == bundle


def test_the_tls_keys_alone_are_read_too(bundle: CertificateBundle) -> None:
    secret = secret_manifest(name="s", namespace="ns", bundle=bundle)
    for key in ("ca", "cert", "key"):
        del secret["data"][key]
    assert bundle_from_secret(secret) == bundle
    assert ca_from_secret(secret) == bundle.ca


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(None, id="no-data"),
        pytest.param({"ca": "", "cert": "", "key": ""}, id="empty"),
        pytest.param({"ca": "not base64!", "cert": "Zg==", "key": "Zg=="}, id="not-base64"),
        pytest.param({"cert": "Zg==", "key": "Zg=="}, id="no-ca"),
    ],
)
def test_secrets_without_a_bundle(data: dict[str, str] | None) -> None:
    secret: dict[str, Any] = {"metadata": {"name": "s"}}
    if data is not None:
        secret["data"] = data
    assert bundle_from_secret(secret) is None
    assert ca_from_secret(secret) is None


def test_the_patch_sets_the_ca_bundle_of_every_webhook(bundle: CertificateBundle) -> None:
    configuration = _configuration("injector.sidecar.wallarm.io", "second.sidecar.wallarm.io")
    operations = webhook_patch(configuration, ca_bundle=bundle.ca, failure_policy="Ignore")
    assert [op["op"] for op in operations] == ["test", "add", "add"] * 2
    patched = jsonpatch.apply_patch(configuration, operations)
    assert kubernetes_validate.validate(patched, "1.30", strict=True) == "1.30"
    for webhook in patched["webhooks"]:
        assert base64.b64decode(webhook["clientConfig"]["caBundle"]) == bundle.ca
        assert webhook["clientConfig"]["service"]["path"] == "/inject"
        assert webhook["failurePolicy"] == "Ignore"
    assert webhook_patch(patched, ca_bundle=bundle.ca, failure_policy="Ignore") == []
    assert webhook_patch(patched, ca_bundle=bundle.ca) == []


def test_the_patch_replaces_an_old_ca_bundle_and_keeps_the_policy(
    bundle: CertificateBundle,
) -> None:
    old = base64.b64encode(b"old").decode()
    configuration = _configuration("a", failurePolicy="Ignore", clientConfig={"caBundle": old})
    patched = jsonpatch.apply_patch(
        configuration, webhook_patch(configuration, ca_bundle=bundle.ca)
    )
    assert patched["webhooks"][0]["clientConfig"]["caBundle"] != old
    assert patched["webhooks"][0]["failurePolicy"] == "Ignore"


def test_the_patch_is_refused_by_a_configuration_changed_since_it_was_read(
    bundle: CertificateBundle,
) -> None:
    configuration = _configuration("a", "b")
    operations = webhook_patch(configuration, ca_bundle=bundle.ca)
    changed = copy.deepcopy(configuration)
    changed["webhooks"].reverse()
    changed["webhooks"][0]["name"] = "c"
    with pytest.raises(jsonpatch.JsonPatchTestFailed):
        jsonpatch.apply_patch(changed, operations)


def test_a_configuration_without_webhooks_is_an_error(bundle: CertificateBundle) -> None:
    with pytest.raises(CertgenError, match="has no webhooks"):
        webhook_patch(_configuration(), ca_bundle=bundle.ca)


def test_secret_keys_cover_the_three_parts_twice() -> None:
    assert sorted(part for _, part in SECRET_KEYS) == ["ca", "ca", "cert", "cert", "key", "key"]
