"""The demo's pure parts: what it sends the webhook and how it reads the answers."""

from __future__ import annotations

import base64
import json

import pytest

from wallarm_sidecar.demo._run import use_netns
from wallarm_sidecar.demo._story import (
    EXAMPLE_DEPLOYMENT,
    MODE_ANNOTATION,
    Addresses,
    DemoError,
    admission_review,
    controller_config,
    find_attack,
    hit_of_node,
    patched_pod,
    pod_from_template,
)
from wallarm_sidecar.injector import InjectionSettings, handle_review


def test_the_review_is_shaped_as_the_apiserver_sends_it() -> None:
    pod = pod_from_template(EXAMPLE_DEPLOYMENT, mode="block")
    review = admission_review(pod)
    request = review["request"]
    assert review["apiVersion"] == "admission.k8s.io/v1"
    assert request["kind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert request["operation"] == "CREATE" and request["namespace"] == "default"
    assert pod["metadata"]["labels"]["wallarm-sidecar"] == "enabled"
    assert pod["metadata"]["generateName"].startswith("myapp-")
    assert pod["metadata"]["annotations"][MODE_ANNOTATION] == "block"
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"


def test_the_injectors_answer_patches_the_pod() -> None:
    addresses = Addresses("198.18.0.1", 8080, "198.18.0.1", 3313)
    settings = InjectionSettings.model_validate(controller_config(addresses))
    pod = pod_from_template(EXAMPLE_DEPLOYMENT)
    answer, _outcome = handle_review(admission_review(pod), settings)
    injected = patched_pod(pod, answer)
    names = [c["name"] for c in injected["spec"]["containers"]]
    assert names == ["application", "sidecar-proxy"]
    env = {e["name"]: e.get("value") for e in injected["spec"]["containers"][1]["env"]}
    assert env["WALLARM_API_HOST"] == "198.18.0.1"
    assert env["WALLARM_WSTORE_PORT"] == "3313"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"response": {"allowed": False}}, "did not allow"),
        ({"response": {"allowed": True}}, "without a patch"),
        ("garbage", "did not allow"),
        (
            {"response": {"allowed": True, "patchType": "Merge", "patch": "e30="}},
            "unexpected patchType",
        ),
    ],
)
def test_a_bad_answer_is_a_clear_error(answer: object, message: str) -> None:
    with pytest.raises(DemoError, match=message):
        patched_pod(pod_from_template(EXAMPLE_DEPLOYMENT), answer)


def test_a_patch_is_applied_as_json_patch() -> None:
    pod = pod_from_template(EXAMPLE_DEPLOYMENT)
    patch = [{"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}]
    answer = {
        "response": {
            "allowed": True,
            "patchType": "JSONPatch",
            "patch": base64.b64encode(json.dumps(patch).encode()).decode(),
        }
    }
    assert patched_pod(pod, answer)["metadata"]["annotations"] == {"a": "b"}


def test_the_attack_and_its_node_are_read_from_the_console_api() -> None:
    attacks = {
        "items": [
            {"id": 1, "attack_type": "sqli", "path": "/etc/passwd", "blocked": False},
            {"id": 2, "attack_type": "ptrav", "path": "/etc/passwd", "blocked": True},
            {"id": 3, "attack_type": "ptrav", "path": "/etc/passwd", "blocked": False},
        ]
    }
    assert find_attack(attacks, path="/etc/passwd", blocked=False)["id"] == 3  # type: ignore[index]
    assert find_attack(attacks, path="/etc/passwd", blocked=True)["id"] == 2  # type: ignore[index]
    assert find_attack({"items": []}, path="/etc/passwd", blocked=True) is None
    assert find_attack("junk", path="/etc/passwd", blocked=True) is None
    hits = {"items": [{"node": "", "node_group": "g"}, {"node": "pod-1", "node_group": "g"}]}
    assert hit_of_node(hits) == {"node": "pod-1", "node_group": "g"}
    assert hit_of_node({"items": [{"node": "pod-1", "node_group": ""}]}) is None


def test_without_root_the_pod_runs_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert use_netns(None) == (False, "not root")
    assert use_netns(False)[0] is False
