"""Many nodes at once against a real `wallarm-sidecar cloud` process, on SQLite and PostgreSQL.

Sixteen nodes register into one new group at the same moment, then each ingests its
own records in batches, sends every batch twice (a retry after a lost answer) and also
a neighbour's batch (postanalytics relaying records another node sent too), all
concurrently. Every hit must be stored exactly once, every answer must be a 200, and the
hits must group into exactly one attack per (type, source, target).
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.cloud._process import CloudProcess, cloud_process

NODES = 16
RECORDS = 60
BATCH = 20
KEYS = 12
T0 = 1_767_225_600.0
TYPES = ("sqli", "xss", "ptrav")


def key_of(k: int) -> tuple[str, str, str]:
    return TYPES[k % 3], f"198.51.100.{k}", f"/p{k % 2}"


def records_of(n: int) -> list[dict[str, Any]]:
    """Node n's records: spread over KEYS attack keys, all within 10 minutes."""
    out = []
    for i in range(RECORDS):
        serial = n * RECORDS + i
        attack, ip, path = key_of(serial % KEYS)
        points = ["uri", 'get_param "q"'] if serial % 2 else ["uri"]
        blocked = serial % 5 == 0
        out.append(
            {
                "request_id": f"node{n}-req{i}",
                "time": T0 + (serial * 7) % 600,
                "node": f"pod-{n}",
                "application": "shop",
                "client_ip": ip,
                "method": "GET",
                "host": "app.example",
                "path": path,
                "status": 403 if blocked else 200,
                "blocked": blocked,
                "mode": "block",
                "hits": [
                    {"attack_type": attack, "point": p, "fragment": "x", "blocked": blocked}
                    for p in points
                ],
            }
        )
    return out


def all_pages(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        response = client.get(path, params={**params, "limit": 500, "offset": offset})
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        offset = page["next_offset"]
    return items


def run_concurrently(target: Any, count: int) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            target(n)
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    return errors


def register_all(cloud: CloudProcess) -> list[str]:
    credentials: list[str] = [""] * NODES

    def register(n: int) -> None:
        with httpx.Client(base_url=cloud.base, headers=cloud.headers, timeout=60) as client:
            body = {"name": f"pod-{n}", "group": "shop", "namespace": "ns"}
            response = client.post("/api/v1/nodes/register", json=body)
            assert response.status_code == 200, response.text
            credentials[n] = response.json()["node_credential"]

    errors = run_concurrently(register, NODES)
    assert not errors, f"{errors[0]!r}\n{cloud.stderr()}"
    return credentials


def test_sixteen_nodes_ingest_overlapping_batches_exactly_once(db_url: str, tmp_path: Path) -> None:
    with cloud_process(db_url, tmp_path / "data") as cloud:
        credentials = register_all(cloud)
        outcomes: list[dict[str, int]] = []
        lock = threading.Lock()

        def ingest(n: int) -> None:
            own, neighbour = records_of(n), records_of((n + 1) % NODES)
            headers = {"Authorization": f"Bearer {credentials[n]}"}
            with httpx.Client(base_url=cloud.base, headers=headers, timeout=60) as client:
                for start in range(0, RECORDS, BATCH):
                    for batch in (own, own, neighbour):  # own batch, its resend, a relay
                        body = {"records": batch[start : start + BATCH]}
                        response = client.post("/api/v1/hits", json=body)
                        assert response.status_code == 200, response.text
                        with lock:
                            outcomes.append(response.json())

        errors = run_concurrently(ingest, NODES)
        assert not errors, f"{errors[0]!r}\n{cloud.stderr()}"

        expected = [r for n in range(NODES) for r in records_of(n)]
        expected_hits = {
            (r["request_id"], h["point"], h["attack_type"]) for r in expected for h in r["hits"]
        }
        sent = 3 * sum(len(r["hits"]) for r in expected)
        assert sum(o["stored"] for o in outcomes) == len(expected_hits)
        assert sum(o["stored"] + o["duplicates"] for o in outcomes) == sent

        with httpx.Client(base_url=cloud.base, headers=cloud.headers, timeout=60) as client:
            nodes = all_pages(client, "/api/v1/nodes", group="shop")
            hits = all_pages(client, "/api/v1/hits")
            attacks = all_pages(client, "/api/v1/attacks")
            per_attack = {
                a["id"]: all_pages(client, "/api/v1/hits", attack_id=a["id"]) for a in attacks
            }

    assert sorted(node["name"] for node in nodes) == sorted(f"pod-{n}" for n in range(NODES))
    stored = Counter((h["request_id"], h["point"], h["attack_type"]) for h in hits)
    assert set(stored) == expected_hits
    assert max(stored.values()) == 1, "a hit was stored twice"
    assert {h["node_group"] for h in hits} == {"shop"}

    # One attack per key, holding exactly that key's hits, with the right span and counts.
    by_key: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for record in expected:
        for hit in record["hits"]:
            key = (hit["attack_type"], record["client_ip"], record["path"])
            by_key.setdefault(key, []).append({**hit, "time": record["time"]})
    assert len(by_key) == KEYS
    seen = Counter((a["attack_type"], a["client_ip"], a["path"]) for a in attacks)
    assert seen == Counter(by_key.keys()), "an attack was split or merged"
    for attack in attacks:
        own = by_key[(attack["attack_type"], attack["client_ip"], attack["path"])]
        assert attack["hits"] == len(own) == len(per_attack[attack["id"]])
        assert attack["blocked_hits"] == sum(h["blocked"] for h in own)
        assert attack["first_seen"] == min(h["time"] for h in own)
        assert attack["last_seen"] == max(h["time"] for h in own)
        assert attack["node_group"] == "shop"


def test_relays_of_two_groups_sending_the_same_records_store_each_hit_once(
    db_url: str, tmp_path: Path
) -> None:
    """Eight postanalytics relays in two node groups send the same records (of nodes the
    Cloud does not know, so each relay's own group applies) in differently cut batches, at
    once: the same hits under different attack keys race on the unique constraint alone."""
    relays = 8
    records = [
        {**r, "node": "edge-unregistered", "request_id": f"shared-{i}"}
        for i, r in enumerate(r for n in range(4) for r in records_of(n))
    ]
    expected = {(r["request_id"], h["point"], h["attack_type"]) for r in records for h in r["hits"]}
    with cloud_process(db_url, tmp_path / "data") as cloud:
        credentials = []
        with httpx.Client(base_url=cloud.base, headers=cloud.headers, timeout=60) as client:
            for n in range(relays):
                body = {"name": f"relay-{n}", "group": f"relays-{n % 2}"}
                response = client.post("/api/v1/nodes/register", json=body)
                assert response.status_code == 200, response.text
                credentials.append(response.json()["node_credential"])
        outcomes: list[dict[str, int]] = []
        lock = threading.Lock()

        def relay(n: int) -> None:
            size = 15 + 5 * n  # each relay cuts its batches differently
            ordered = records if n % 2 else records[::-1]
            headers = {"Authorization": f"Bearer {credentials[n]}"}
            with httpx.Client(base_url=cloud.base, headers=headers, timeout=60) as client:
                for start in range(0, len(ordered), size):
                    body = {"records": ordered[start : start + size]}
                    response = client.post("/api/v1/hits", json=body)
                    assert response.status_code == 200, response.text
                    with lock:
                        outcomes.append(response.json())

        errors = run_concurrently(relay, relays)
        assert not errors, f"{errors[0]!r}\n{cloud.stderr()}"
        with httpx.Client(base_url=cloud.base, headers=cloud.headers, timeout=60) as client:
            hits = all_pages(client, "/api/v1/hits")
            attacks = all_pages(client, "/api/v1/attacks")

    assert sum(o["stored"] for o in outcomes) == len(expected)
    assert sum(o["stored"] + o["duplicates"] for o in outcomes) == relays * len(expected)
    stored = Counter((h["request_id"], h["point"], h["attack_type"]) for h in hits)
    assert set(stored) == expected and max(stored.values()) == 1
    assert {h["node_group"] for h in hits} <= {"relays-0", "relays-1"}
    # Each attack holds exactly the hits that point at it.
    per_attack = Counter(h["attack_id"] for h in hits)
    assert {a["id"]: a["hits"] for a in attacks if a["hits"]} == dict(per_attack)


def test_batches_of_many_attack_keys_are_stored_exactly_once_too(
    db_url: str, tmp_path: Path
) -> None:
    """Batches touching more attack keys than are locked one by one (PostgreSQL takes the
    exclusive ingest lock then), overlapping, from four nodes at once."""
    records = [
        {
            "request_id": f"wide-{i}",
            "time": T0 + i,
            "client_ip": f"203.0.113.{i % 250}",
            "host": "wide.example",
            "path": f"/item/{i}",
            "hits": [{"attack_type": "sqli", "point": "uri"}],
        }
        for i in range(600)
    ]
    with cloud_process(db_url, tmp_path / "data") as cloud:

        def send(n: int) -> None:
            with httpx.Client(base_url=cloud.base, headers=cloud.headers, timeout=60) as client:
                for start in range(n * 100, n * 100 + 300, 150):  # 150 keys a batch, overlapping
                    response = client.post(
                        "/api/v1/hits", json={"records": records[start : start + 150]}
                    )
                    assert response.status_code == 200, response.text

        errors = run_concurrently(send, 4)
        assert not errors, f"{errors[0]!r}\n{cloud.stderr()}"
        with httpx.Client(base_url=cloud.base, headers=cloud.headers, timeout=60) as client:
            hits = all_pages(client, "/api/v1/hits")
            attacks = all_pages(client, "/api/v1/attacks")
    assert sorted(h["request_id"] for h in hits) == sorted(f"wide-{i}" for i in range(600))
    assert len(attacks) == 600 and {a["hits"] for a in attacks} == {1}
