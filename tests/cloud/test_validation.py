"""Bad input is a 422 naming the field; bodies and pages are bounded."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cloud.conftest import Cloud

CASES = [
    ("post", "/api/v1/tokens", {"usage": "admin"}, "usage"),
    ("post", "/api/v1/tokens", {"usage": "node"}, "group"),
    ("post", "/api/v1/tokens", {"usage": "read-only", "group": "g"}, "group"),
    ("post", "/api/v1/tokens", {"usage": "deployment", "extra": 1}, "extra"),
    ("post", "/api/v1/nodes/register", {"name": ""}, "name"),
    ("post", "/api/v1/nodes/register", {}, "name"),
    ("post", "/api/v1/hits", {"records": [{"time": 1}]}, "records.0.request_id"),
    ("post", "/api/v1/hits", {"records": [{"request_id": "r", "time": -1}]}, "records.0.time"),
    (
        "post",
        "/api/v1/hits",
        {"records": [{"request_id": "r", "time": 1, "hits": [{"point": "uri"}]}]},
        "records.0.hits.0.attack_type",
    ),
    ("post", "/api/v1/hits", {"records": [{"request_id": "r", "time": 1}] * 501}, "records"),
    ("put", "/api/v1/settings", {"rules": [{"mode": "loud"}]}, "rules.0.mode"),
    ("put", "/api/v1/settings", {"rules": [{"mode": "off"}, {"mode": "block"}]}, "rules"),
    ("post", "/api/v1/ip-lists", {"list": "black", "ip": "1.2.3.4"}, "list"),
    ("post", "/api/v1/ip-lists", {"list": "deny", "ip": "1.2.3.400"}, "ip"),
    ("post", "/api/v1/ip-lists", {"list": "deny", "ip": "1.2.3.4", "expires_at": -5}, "expires_at"),
    ("get", "/api/v1/attacks?limit=501", None, "limit"),
    ("get", "/api/v1/hits?offset=-1", None, "offset"),
    ("get", "/api/v1/attacks?since=yesterday", None, "since"),
    ("get", "/api/v1/ip-lists?list=black", None, "list"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"), CASES, ids=[f"{c[1]}:{c[3]}" for c in CASES]
)
def test_422_names_the_field(
    cloud: Cloud, method: str, path: str, body: dict[str, Any] | None, field: str
) -> None:
    response = cloud.client.request(method, path, headers=cloud.as_(cloud.admin), json=body)
    assert response.status_code == 422, response.text
    document = response.json()
    assert f"{field}:" in document["message"] or f".{field}:" in document["message"], document
    assert document["detail"]


def test_oversized_bodies_are_refused_unread(cloud: Cloud) -> None:
    response = cloud.client.post(
        "/api/v1/hits",
        headers={**cloud.as_(cloud.admin), "content-type": "application/json"},
        content=b"{" + b" " * (9 * 1024 * 1024) + b"}",
    )
    assert response.status_code == 413


def test_no_trailing_slashes(cloud: Cloud) -> None:
    response = cloud.client.get(
        "/api/v1/attacks/", headers=cloud.as_(cloud.admin), follow_redirects=False
    )
    assert response.status_code in (307, 404)
    assert all(not path.endswith("/") for path in cloud.client.get("/openapi.json").json()["paths"])


@pytest.mark.parametrize("number", [b"Infinity", b"NaN", b"1e999"])
def test_non_finite_numbers_are_refused(cloud: Cloud, number: bytes) -> None:
    body = b'{"records": [{"request_id": "r", "time": ' + number + b"}]}"
    response = cloud.client.post(
        "/api/v1/hits",
        headers={**cloud.as_(cloud.admin), "content-type": "application/json"},
        content=body,
    )
    assert response.status_code == 422, response.text
    assert "records.0.time" in response.json()["message"]
