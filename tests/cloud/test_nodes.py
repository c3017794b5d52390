"""Node registration in its three modes, and the node list by group and last seen."""

from __future__ import annotations

import pytest

from tests.cloud.conftest import Cloud
from wallarm_sidecar.injector import mint_scoped_credential

REGISTER = "/api/v1/nodes/register"


def test_with_a_node_token_into_its_group(cloud: Cloud) -> None:
    token = cloud.token("node", group="shop")
    response = cloud.post(REGISTER, token, json={"name": "shop-7f9c", "namespace": "prod"})
    assert response.status_code == 200, response.text
    node = response.json()
    assert node["group"] == "shop" and node["namespace"] == "prod"
    assert node["node_credential"].startswith("wsn_")
    wrong = cloud.post(REGISTER, token, json={"name": "n2", "group": "other"})
    assert wrong.status_code == 403
    assert "shop" in wrong.json()["detail"]


def test_with_a_deployment_token_and_a_group(cloud: Cloud) -> None:
    node = cloud.post(REGISTER, json={"name": "a", "group": "payments"}).json()
    assert node["group"] == "payments"
    default = cloud.post(REGISTER, json={"name": "b"}).json()
    assert default["group"] == "defaultSidecarGroup"


def test_with_a_scoped_credential_minted_from_a_deployment_token(cloud: Cloud) -> None:
    token = cloud.token("deployment")
    credential = mint_scoped_credential(token, "defaultSidecarGroup", "default", issued_at=17)
    response = cloud.post(REGISTER, credential, json={"name": "web-0", "pod": "web-0"})
    assert response.status_code == 200, response.text
    node = response.json()
    assert (node["group"], node["namespace"]) == ("defaultSidecarGroup", "default")
    node_credential = node["node_credential"]
    assert cloud.get("/api/v1/nodes/config", node_credential).status_code == 200
    # The scoped credential registers nodes and does nothing else.
    for path in ("/api/v1/attacks", "/api/v1/tokens", "/api/v1/nodes/config"):
        assert cloud.get(path, credential).status_code == 403, path


def test_a_scoped_credential_for_another_group_is_refused(cloud: Cloud) -> None:
    token = cloud.token("deployment")
    credential = mint_scoped_credential(token, "team-a", "a")
    response = cloud.post(REGISTER, credential, json={"name": "x", "group": "team-b"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda c: c[:-4] + ("AAAA" if not c.endswith("AAAA") else "BBBB"), id="sig"),
        pytest.param(lambda c: "wsc1.e30." + c.split(".")[2], id="payload"),
        pytest.param(lambda c: c + ".extra", id="four-parts"),
        pytest.param(lambda c: "wsc1.!!!.???", id="garbage"),
    ],
)
def test_a_forged_scoped_credential_is_refused(cloud: Cloud, mangle: object) -> None:
    token = cloud.token("deployment")
    credential = mint_scoped_credential(token, "defaultSidecarGroup", "default")
    forged = mangle(credential)  # type: ignore[operator]
    assert cloud.post(REGISTER, forged, json={"name": "x"}).status_code == 401


def test_scoped_credentials_from_unknown_read_only_or_revoked_tokens_are_refused(
    cloud: Cloud,
) -> None:
    unknown = mint_scoped_credential("never-created", "defaultSidecarGroup", "default")
    assert cloud.post(REGISTER, unknown, json={"name": "x"}).status_code == 401
    reader = cloud.token("read-only")
    from_reader = mint_scoped_credential(reader, "defaultSidecarGroup", "default")
    assert cloud.post(REGISTER, from_reader, json={"name": "x"}).status_code == 401
    created = cloud.post("/api/v1/tokens", json={"usage": "deployment"}).json()
    credential = mint_scoped_credential(created["token"], "defaultSidecarGroup", "default")
    assert cloud.post(REGISTER, credential, json={"name": "y"}).status_code == 200
    cloud.post(f"/api/v1/tokens/{created['id']}/revoke")
    assert cloud.post(REGISTER, credential, json={"name": "z"}).status_code == 401


def test_registering_again_keeps_the_node_and_replaces_its_credential(cloud: Cloud) -> None:
    first = cloud.post(REGISTER, json={"name": "pod-1"}).json()
    second = cloud.post(REGISTER, json={"name": "pod-1"}).json()
    assert first["id"] == second["id"]
    assert cloud.get("/api/v1/nodes/config", first["node_credential"]).status_code == 401
    assert cloud.get("/api/v1/nodes/config", second["node_credential"]).status_code == 200


def test_nodes_are_listed_by_group_with_last_seen(cloud: Cloud) -> None:
    for name, group in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        cloud.node(name, group)
    in_a = cloud.get("/api/v1/nodes", params={"group": "a"}).json()
    assert [node["name"] for node in in_a["items"]] == ["a1", "a2"]
    assert all(node["last_seen"] >= node["registered_at"] for node in in_a["items"])
    page = cloud.get("/api/v1/nodes", params={"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_offset"] == 2
    rest = cloud.get("/api/v1/nodes", params={"limit": 2, "offset": 2}).json()
    assert [node["name"] for node in rest["items"]] == ["b1"] and rest["next_offset"] is None
    later = in_a["items"][0]["last_seen"] + 3600
    assert cloud.get("/api/v1/nodes", params={"seen_since": later}).json()["items"] == []


def test_a_revoked_node_credential_is_refused(cloud: Cloud) -> None:
    registered = cloud.post(REGISTER, json={"name": "pod-9"}).json()
    credential = registered["node_credential"]
    assert cloud.get("/api/v1/nodes/config", credential).status_code == 200
    assert cloud.post(f"/api/v1/nodes/{registered['id']}/revoke").status_code == 200
    assert cloud.get("/api/v1/nodes/config", credential).status_code == 401
    assert cloud.post("/api/v1/hits", credential, json={"records": []}).status_code == 401
    assert cloud.post("/api/v1/nodes/9999/revoke").status_code == 404
