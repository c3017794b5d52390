"""Bearer tokens on every endpoint: 401 without, revoked tokens refused, roles enforced."""

from __future__ import annotations

import re

import pytest

from tests.cloud.conftest import Cloud
from wallarm_sidecar.cloud._tokens import hash_secret

ENDPOINTS = [
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("post", "/api/v1/tokens/1/revoke"),
    ("post", "/api/v1/nodes/register"),
    ("get", "/api/v1/nodes"),
    ("get", "/api/v1/nodes/config"),
    ("post", "/api/v1/nodes/1/revoke"),
    ("post", "/api/v1/hits"),
    ("get", "/api/v1/hits"),
    ("get", "/api/v1/attacks"),
    ("get", "/api/v1/settings"),
    ("put", "/api/v1/settings"),
    ("get", "/api/v1/ip-lists"),
    ("post", "/api/v1/ip-lists"),
    ("delete", "/api/v1/ip-lists/1"),
    ("post", "/api/v1/api-inventory"),
    ("get", "/api/v1/api-inventory"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
@pytest.mark.parametrize("header", [None, "Bearer ", "Basic abc", "Bearer wrong-token"])
def test_every_endpoint_needs_a_valid_bearer_token(
    cloud: Cloud, method: str, path: str, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = cloud.client.request(method, path, headers=headers, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_every_api_path_is_in_the_table(cloud: Cloud) -> None:
    document = cloud.client.get("/openapi.json").json()
    listed = set(ENDPOINTS)
    for path, operations in document["paths"].items():
        assert not path.endswith("/"), path
        for method in operations:
            concrete = re.sub(r"\{\w+\}", "1", path)
            assert (method, concrete) in listed or path == "/api/v1/tokens/{token_id}"
    assert "HTTPBearer" in document["components"]["securitySchemes"]


def test_a_revoked_token_is_refused(cloud: Cloud) -> None:
    created = cloud.post("/api/v1/tokens", json={"usage": "deployment", "name": "ci"}).json()
    assert cloud.get("/api/v1/tokens", created["token"]).status_code == 200
    revoked = cloud.post(f"/api/v1/tokens/{created['id']}/revoke").json()
    assert revoked["revoked_at"] is not None
    assert cloud.get("/api/v1/tokens", created["token"]).status_code == 401


def test_tokens_are_stored_hashed_and_listed_without_the_secret(cloud: Cloud) -> None:
    token = cloud.token("read-only")
    listed = cloud.get("/api/v1/tokens").json()["items"]
    assert all("token" not in item for item in listed)
    assert {item["usage"] for item in listed} == {"deployment", "read-only"}
    dump = cloud.dump()
    assert hash_secret(cloud.admin) in dump
    assert token not in dump and cloud.admin not in dump


def test_read_only_reads_but_does_not_write(cloud: Cloud) -> None:
    reader = cloud.token("read-only")
    for path in ("/api/v1/tokens", "/api/v1/attacks", "/api/v1/settings", "/api/v1/ip-lists"):
        assert cloud.get(path, reader).status_code == 200, path
    assert cloud.post("/api/v1/tokens", reader, json={"usage": "read-only"}).status_code == 403
    entry = {"list": "deny", "ip": "203.0.113.7"}
    assert cloud.post("/api/v1/ip-lists", reader, json=entry).status_code == 403
    response = cloud.client.put("/api/v1/settings", headers=cloud.as_(reader), json={"rules": []})
    assert response.status_code == 403
    assert cloud.post("/api/v1/nodes/register", reader, json={"name": "x"}).status_code == 403
    assert cloud.post("/api/v1/hits", reader, json={"records": []}).status_code == 403


def test_a_node_credential_only_ingests_and_syncs(cloud: Cloud) -> None:
    node = cloud.node()
    assert cloud.post("/api/v1/hits", node, json={"records": []}).status_code == 200
    assert cloud.get("/api/v1/nodes/config", node).status_code == 200
    assert cloud.get("/api/v1/attacks", node).status_code == 403
    assert cloud.get("/api/v1/tokens", node).status_code == 403
    other = cloud.get("/api/v1/nodes/config", node, params={"group": "other"})
    assert other.status_code == 403


def test_delete_revokes_like_revoke(cloud: Cloud) -> None:
    created = cloud.post("/api/v1/tokens", json={"usage": "read-only"}).json()
    response = cloud.client.delete(
        f"/api/v1/tokens/{created['id']}", headers=cloud.as_(cloud.admin)
    )
    assert response.status_code == 200 and response.json()["revoked_at"] is not None
    assert cloud.get("/api/v1/tokens", created["token"]).status_code == 401
    assert cloud.post("/api/v1/tokens/9999/revoke").status_code == 404


def test_a_node_token_only_registers(cloud: Cloud) -> None:
    token = cloud.token("node", group="shop")
    assert cloud.get("/api/v1/attacks", token).status_code == 403
    assert cloud.post("/api/v1/hits", token, json={"records": []}).status_code == 403
    assert cloud.get("/api/v1/nodes/config", token).status_code == 403
