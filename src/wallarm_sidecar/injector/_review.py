"""AdmissionReview v1 in, AdmissionReview v1 out: the webhook's handler, still pure.

The server only moves bytes: it decodes the body, calls `handle_review`, encodes the
answer, and logs and counts the `ReviewOutcome`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

from wallarm_sidecar.injector._mutate import Mutation, mutate
from wallarm_sidecar.injector._settings import InjectionSettings

API_VERSION = "admission.k8s.io/v1"

ReviewDecision = Literal["injected", "skipped", "denied", "error"]


class MalformedReview(ValueError):
    """A body that is not an AdmissionReview v1 request; the server answers 400."""


class StatusDict(TypedDict):
    code: int
    message: str
    reason: NotRequired[str]


class AdmissionResponse(TypedDict):
    uid: str
    allowed: bool
    patchType: NotRequired[Literal["JSONPatch"]]
    patch: NotRequired[str]
    warnings: NotRequired[list[str]]
    status: NotRequired[StatusDict]


class AdmissionReview(TypedDict):
    apiVersion: str
    kind: Literal["AdmissionReview"]
    response: AdmissionResponse


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewOutcome:
    """What the log line and the metrics say about one review."""

    uid: str
    namespace: str
    owner: str
    decision: ReviewDecision
    reason: str
    dry_run: bool
    message: str = ""


def handle_review(
    review: Any, settings: InjectionSettings, *, issued_at: int = 0
) -> tuple[AdmissionReview, ReviewOutcome]:
    """Answer one AdmissionReview v1 request; `MalformedReview` if it is not one."""
    request = _request(review)
    uid: str = request["uid"]
    namespace = request.get("namespace") or ""
    dry_run = request.get("dryRun") is True
    pod = request.get("object")
    owner = _owner(pod)

    def outcome(decision: ReviewDecision, reason: str, message: str = "") -> ReviewOutcome:
        return ReviewOutcome(
            uid=uid,
            namespace=str(namespace),
            owner=owner,
            decision=decision,
            reason=reason,
            dry_run=dry_run,
            message=message,
        )

    resource = request.get("resource") or {}
    kind = request.get("kind") or {}
    is_pod = (isinstance(resource, dict) and resource.get("resource") == "pods") or (
        isinstance(kind, dict) and kind.get("kind") == "Pod" and not kind.get("group")
    )
    if not is_pod or request.get("subResource"):
        return _answer(uid, allowed=True), outcome("skipped", "not-a-pod")
    if request.get("operation", "CREATE") != "CREATE":
        return _answer(uid, allowed=True), outcome("skipped", "not-create")
    if not isinstance(pod, dict):
        raise MalformedReview("request.object must be the pod")
    try:
        mutation = mutate(pod, str(namespace), settings, issued_at=issued_at)
    except Exception as error:  # a bug must not admit an unprotected pod silently
        message = f"wallarm-sidecar: internal error while injecting: {type(error).__name__}"
        answer = _answer(uid, allowed=False, status={"code": 500, "message": message})
        return answer, outcome("error", "exception", f"{type(error).__name__}: {error}")
    return _from_mutation(uid, mutation), outcome(
        mutation.decision, mutation.reason, mutation.message
    )


def _request(review: Any) -> dict[str, Any]:
    if not isinstance(review, dict):
        raise MalformedReview("the body must be a JSON object")
    if review.get("apiVersion") != API_VERSION or review.get("kind") != "AdmissionReview":
        raise MalformedReview(f"the body must be an AdmissionReview of {API_VERSION}")
    request = review.get("request")
    if not isinstance(request, dict):
        raise MalformedReview("the AdmissionReview has no request")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise MalformedReview("the AdmissionReview request has no uid")
    return request


def _owner(pod: Any) -> str:
    metadata = pod.get("metadata") if isinstance(pod, dict) else None
    if not isinstance(metadata, dict):
        return ""
    for reference in metadata.get("ownerReferences") or []:
        if isinstance(reference, dict) and reference.get("controller", True):
            return f"{reference.get('kind', '')}/{reference.get('name', '')}"
    if metadata.get("name"):
        return f"Pod/{metadata['name']}"
    if metadata.get("generateName"):
        return f"Pod/{metadata['generateName']}*"
    return ""


def _answer(
    uid: str,
    *,
    allowed: bool,
    status: StatusDict | None = None,
    patch: str | None = None,
    warnings: list[str] | None = None,
) -> AdmissionReview:
    response: AdmissionResponse = {"uid": uid, "allowed": allowed}
    if patch is not None:
        response["patchType"] = "JSONPatch"
        response["patch"] = patch
    if warnings:
        response["warnings"] = warnings
    if status is not None:
        response["status"] = status
    return {"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response}


def _from_mutation(uid: str, mutation: Mutation) -> AdmissionReview:
    if not mutation.allowed:
        return _answer(
            uid,
            allowed=False,
            status={"code": 400, "reason": "BadRequest", "message": mutation.message},
        )
    patch = None
    if mutation.patch:
        encoded = json.dumps(mutation.patch, separators=(",", ":")).encode("utf-8")
        patch = base64.b64encode(encoded).decode("ascii")
    return _answer(uid, allowed=True, patch=patch, warnings=list(mutation.warnings))
