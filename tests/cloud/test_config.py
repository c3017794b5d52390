"""Settings and IP lists round trip into the documents the proxy's own loaders accept."""

from __future__ import annotations

import time

import httpx

from tests.cloud.conftest import Cloud
from wallarm_sidecar.proxy import AclStatus, FilteringMode, IpLists, NodeModeRules

RULES: list[dict[str, object]] = [
    {"node_group": None, "application": None, "mode": "monitoring"},
    {"node_group": None, "application": "shop", "mode": "safe_blocking"},
    {"node_group": "payments", "application": None, "mode": "block"},
    {"node_group": "payments", "application": "shop", "mode": "off"},
]


def put_settings(cloud: Cloud, rules: list[dict[str, object]]) -> httpx.Response:
    response: httpx.Response = cloud.client.put(
        "/api/v1/settings", headers=cloud.as_(cloud.admin), json={"rules": rules}
    )
    return response


def test_settings_round_trip_into_node_config(cloud: Cloud) -> None:
    assert put_settings(cloud, RULES).status_code == 200
    stored = cloud.get("/api/v1/settings").json()["rules"]

    def key(rule: dict[str, object]) -> str:
        return f"{rule['node_group'] or ''}/{rule['application'] or ''}"

    assert sorted(stored, key=key) == sorted(RULES, key=key)

    payments = NodeModeRules.from_document(
        cloud.get("/api/v1/nodes/config", params={"group": "payments"}).json()["node_config"]
    )
    assert payments.mode is FilteringMode.BLOCK
    assert payments.mode_for("shop") is FilteringMode.OFF
    assert payments.mode_for("blog") is FilteringMode.BLOCK

    node = cloud.node("pod-1", "defaultSidecarGroup")
    default = NodeModeRules.from_document(
        cloud.get("/api/v1/nodes/config", node).json()["node_config"]
    )
    assert default.mode is FilteringMode.MONITORING
    assert default.mode_for("shop") is FilteringMode.SAFE_BLOCKING

    assert put_settings(cloud, []).status_code == 200
    empty = cloud.get("/api/v1/nodes/config", node).json()["node_config"]
    assert NodeModeRules.from_document(empty) == NodeModeRules()


def test_ip_lists_round_trip_into_ip_lists_json(cloud: Cloud) -> None:
    now = time.time()
    entries = [
        {"list": "deny", "ip": "203.0.113.0/24"},
        {"list": "allow", "ip": "203.0.113.7", "comment": "office"},
        {"list": "gray", "ip": "2001:db8::/32", "application": "shop"},
        {"list": "deny", "ip": "198.51.100.1", "expires_at": now + 3600},
        {"list": "deny", "ip": "192.0.2.1", "expires_at": now - 1},
    ]
    ids = []
    for entry in entries:
        response = cloud.post("/api/v1/ip-lists", json=entry)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    listed = cloud.get("/api/v1/ip-lists").json()["items"]
    assert len(listed) == 4  # the expired one is hidden
    assert listed[1]["ip"] == "203.0.113.7/32"
    everything = cloud.get("/api/v1/ip-lists", params={"include_expired": True}).json()
    assert len(everything["items"]) == 5
    assert len(cloud.get("/api/v1/ip-lists", params={"list": "deny"}).json()["items"]) == 2

    node = cloud.node()
    lists = IpLists.from_document(cloud.get("/api/v1/nodes/config", node).json()["ip_lists"])
    assert lists.lookup("203.0.113.9", "", now) is AclStatus.DENY
    assert lists.lookup("203.0.113.7", "", now) is AclStatus.ALLOW
    assert lists.lookup("2001:db8::1", "shop", now) is AclStatus.GRAY
    assert lists.lookup("2001:db8::1", "blog", now) is AclStatus.NONE
    assert lists.lookup("198.51.100.1", "", now) is AclStatus.DENY
    assert lists.lookup("198.51.100.1", "", now + 7200) is AclStatus.NONE
    assert lists.lookup("192.0.2.1", "", now) is AclStatus.NONE

    deleted = cloud.client.delete(f"/api/v1/ip-lists/{ids[0]}", headers=cloud.as_(cloud.admin))
    assert deleted.status_code == 204
    again = cloud.client.delete(f"/api/v1/ip-lists/{ids[0]}", headers=cloud.as_(cloud.admin))
    assert again.status_code == 404
    lists = IpLists.from_document(cloud.get("/api/v1/nodes/config", node).json()["ip_lists"])
    assert lists.lookup("203.0.113.9", "", now) is AclStatus.NONE
