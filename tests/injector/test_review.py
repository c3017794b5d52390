"""`handle_review`: AdmissionReview v1 bodies shaped as the apiserver sends them."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import pytest

from tests.injector.helpers import admission_review, decoded_patch, pod, settings, validate
from wallarm_sidecar.injector import MalformedReview, handle_review


def _handle(review: Any) -> tuple[dict[str, Any], Any]:
    answer, outcome = handle_review(review, settings(), issued_at=1)
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    return dict(answer["response"]), outcome


def test_a_labelled_pod_gets_a_patch_that_applies_to_what_was_sent() -> None:
    review = admission_review(pod())
    response, outcome = _handle(review)
    assert response["uid"] == review["request"]["uid"] and response["allowed"] is True
    patched = jsonpatch.apply_patch(
        copy.deepcopy(review["request"]["object"]), decoded_patch(response)
    )
    assert [c["name"] for c in patched["spec"]["containers"]] == ["web", "sidecar-proxy"]
    del patched["status"]
    validate(patched)
    assert (outcome.decision, outcome.reason, outcome.namespace, outcome.owner) == (
        "injected",
        "injected",
        "shop",
        "Pod/web",
    )


def test_a_generate_name_pod_is_injected_and_its_owner_logged() -> None:
    the_pod = pod(name=None)
    the_pod["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "web-7d9c8",
            "uid": "u",
            "controller": True,
        }
    ]
    review = admission_review(the_pod)
    assert "name" not in review["request"]
    response, outcome = _handle(review)
    assert decoded_patch(response) and outcome.owner == "ReplicaSet/web-7d9c8"


def test_dry_run_gets_the_same_patch_and_is_marked() -> None:
    wet, _ = _handle(admission_review(pod()))
    dry, outcome = _handle(admission_review(pod(), dry_run=True))
    assert dry["patch"] == wet["patch"] and outcome.dry_run is True


@pytest.mark.parametrize(
    ("review", "reason"),
    [
        pytest.param(admission_review(pod(labels={})), "not-enabled", id="unlabelled"),
        pytest.param(
            admission_review(pod(annotations={"sidecar.wallarm.io/status": "injected"})),
            "already-injected",
            id="injected",
        ),
        pytest.param(admission_review(pod(), operation="UPDATE"), "not-create", id="update"),
    ],
)
def test_allowed_without_a_patch(review: dict[str, Any], reason: str) -> None:
    response, outcome = _handle(review)
    assert response == {"uid": review["request"]["uid"], "allowed": True}
    assert (outcome.decision, outcome.reason) == ("skipped", reason)


def test_other_resources_are_allowed_untouched() -> None:
    review = admission_review(pod())
    review["request"]["resource"] = {"group": "apps", "version": "v1", "resource": "deployments"}
    review["request"]["kind"] = {"group": "apps", "version": "v1", "kind": "Deployment"}
    response, outcome = _handle(review)
    assert "patch" not in response and outcome.reason == "not-a-pod"


def test_an_invalid_annotation_is_denied_with_its_name_and_value() -> None:
    review = admission_review(pod(annotations={"sidecar.wallarm.io/wallarm-mode": "blocking"}))
    response, outcome = _handle(review)
    assert response["allowed"] is False and "patch" not in response
    assert response["status"]["code"] == 400
    assert "sidecar.wallarm.io/wallarm-mode='blocking'" in response["status"]["message"]
    assert (outcome.decision, outcome.reason) == ("denied", "invalid-annotation")


def test_nginx_only_annotations_come_back_as_warnings() -> None:
    review = admission_review(pod(annotations={"sidecar.wallarm.io/nginx-location-snippet": "x"}))
    response, _ = _handle(review)
    assert response["allowed"] is True and "nginx-location-snippet" in response["warnings"][0]


@pytest.mark.parametrize(
    "review",
    [
        pytest.param([], id="not-an-object"),
        pytest.param(
            {
                "kind": "AdmissionReview",
                "apiVersion": "admission.k8s.io/v1beta1",
                "request": {"uid": "x"},
            },
            id="v1beta1",
        ),
        pytest.param(
            {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"}, id="no-request"
        ),
        pytest.param(
            {
                "kind": "AdmissionReview",
                "apiVersion": "admission.k8s.io/v1",
                "request": {"object": {}},
            },
            id="no-uid",
        ),
        pytest.param(
            {
                **admission_review(pod()),
                "request": {**admission_review(pod())["request"], "object": None},
            },
            id="no-object",
        ),
    ],
)
def test_malformed_reviews_raise(review: Any) -> None:
    with pytest.raises(MalformedReview):
        handle_review(review, settings())


def test_an_internal_error_denies_rather_than_admitting_unprotected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import wallarm_sidecar.injector._review as review_module

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr(review_module, "mutate", broken)
    response, outcome = _handle(admission_review(pod()))
    assert response["allowed"] is False and response["status"]["code"] == 500
    assert (outcome.decision, outcome.reason) == ("error", "exception")
