"""Idempotent hits ingest and attacks grouped from hits."""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Any

from tests.cloud.conftest import Cloud
from wallarm_sidecar.cloud import ATTACK_WINDOW
from wallarm_sidecar.wire import HitRecord, RequestRecord

T0 = 1_767_225_600.0


def record(
    request_id: str,
    *,
    time: float = T0,
    attack: str = "ptrav",
    client_ip: str = "198.51.100.9",
    path: str = "/etc/passwd",
    blocked: bool = False,
    node: str = "pod-1",
    points: tuple[str, ...] = ("uri",),
) -> dict[str, Any]:
    """A record as the wire carries it, in the JSON shape of POST /hits."""
    wire = RequestRecord(
        request_id=request_id,
        time=time,
        node=node,
        application="shop",
        client_ip=client_ip,
        method="GET",
        host="app.example",
        path=path,
        status=403 if blocked else 404,
        blocked=blocked,
        mode="block" if blocked else "monitoring",
        hits=[
            HitRecord(
                attack_type=attack, point=p, fragment="../", rule_id="930100", blocked=blocked
            )
            for p in points
        ],
    )
    # The wire's own dataclass, as JSON: extra fields (parameters, bytes) are ignored.
    return asdict(wire)


def ingest(cloud: Cloud, token: str, *records: dict[str, Any]) -> dict[str, int]:
    response = cloud.post("/api/v1/hits", token, json={"records": list(records)})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_same_batch_twice_is_stored_once(cloud: Cloud) -> None:
    node = cloud.node("pod-1", "shop-group")
    batch = [record(f"r{i}", points=("uri", 'get_param "id"')) for i in range(5)]
    assert ingest(cloud, node, *batch) == {"stored": 10, "duplicates": 0}
    assert ingest(cloud, node, *batch) == {"stored": 0, "duplicates": 10}
    hits = cloud.get("/api/v1/hits", params={"limit": 500}).json()["items"]
    assert len(hits) == 10
    assert {hit["node_group"] for hit in hits} == {"shop-group"}
    assert {hit["node"] for hit in hits} == {"pod-1"}


def test_a_batch_with_a_hit_repeated_inside_stores_it_once(cloud: Cloud) -> None:
    assert ingest(cloud, cloud.admin, record("r1"), record("r1")) == {
        "stored": 1,
        "duplicates": 1,
    }


def test_concurrent_ingest_loses_and_doubles_nothing(cloud: Cloud) -> None:
    nodes = [cloud.node(f"pod-{n}") for n in range(4)]
    # Each thread sends its own records and, overlapping, everyone else's: retries in flight.
    batches = [[record(f"req-{n}-{i}") for i in range(30)] for n in range(4)]
    everything = [r for batch in batches for r in batch]
    results: list[dict[str, int]] = []
    lock = threading.Lock()

    def send(n: int) -> None:
        for part in (batches[n], everything[n * 20 : n * 20 + 40]):
            outcome = ingest(cloud, nodes[n], *part)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["stored"] for r in results) == len(everything)
    assert sum(r["stored"] + r["duplicates"] for r in results) == 4 * (30 + 40)
    stored = cloud.get("/api/v1/hits", params={"limit": 500}).json()["items"]
    assert sorted(h["request_id"] for h in stored) == sorted(r["request_id"] for r in everything)
    attacks = cloud.get("/api/v1/attacks").json()["items"]
    assert sum(attack["hits"] for attack in attacks) == len(everything)


def test_hits_of_one_type_source_and_target_within_the_window_are_one_attack(
    cloud: Cloud,
) -> None:
    ingest(
        cloud,
        cloud.admin,
        record("a1", time=T0),
        record("a2", time=T0 + 60, blocked=True),
        record("a3", time=T0 + 120),
        record("b1", time=T0 + 30, client_ip="192.0.2.1"),  # another source
        record("c1", time=T0 + 30, path="/other"),  # another target
        record("d1", time=T0 + 30, attack="sqli"),  # another type
        record("e1", time=T0 + 120 + ATTACK_WINDOW + 1),  # after the window
    )
    attacks = cloud.get("/api/v1/attacks", params={"type": "ptrav"}).json()["items"]
    assert len(attacks) == 4
    main = next(a for a in attacks if a["first_seen"] == T0)
    assert (main["hits"], main["blocked_hits"], main["last_seen"]) == (3, 1, T0 + 120)
    assert main["blocked"] is True
    hits = cloud.get("/api/v1/hits", params={"attack_id": main["id"]}).json()["items"]
    assert sorted(h["request_id"] for h in hits) == ["a1", "a2", "a3"]


def test_attack_filters(cloud: Cloud) -> None:
    cloud.node("pod-a", "group-a")
    ingest(
        cloud,
        cloud.admin,
        record("x1", time=T0, node="pod-a", blocked=True),
        record("x2", time=T0 + 5000, attack="sqli"),
    )

    def ids(**params: Any) -> list[str]:
        items = cloud.get("/api/v1/attacks", params=params).json()["items"]
        return sorted(a["attack_type"] for a in items)

    assert ids() == ["ptrav", "sqli"]
    assert ids(type="sqli") == ["sqli"]
    assert ids(node_group="group-a") == ["ptrav"]
    assert ids(blocked=True) == ["ptrav"]
    assert ids(blocked=False) == ["sqli"]
    assert ids(since=T0 + 1000) == ["sqli"]
    assert ids(until=T0 + 1000) == ["ptrav"]
    assert ids(application="shop") == ["ptrav", "sqli"]
    assert ids(application="other") == []
