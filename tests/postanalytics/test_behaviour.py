"""Behavioural detections on generated traffic: attacks found, benign lookalikes not."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from itertools import count

import pytest

from wallarm_sidecar.postanalytics import (
    AutoLister,
    BehaviourEngine,
    BehaviourSettings,
    Detection,
    synthetic_record,
)
from wallarm_sidecar.wire import HitRecord, RequestRecord

_ids = count(1)
T0 = 1_767_225_600.0


def request(
    path: str,
    *,
    ip: str = "198.51.100.9",
    method: str = "GET",
    status: int = 200,
    time: float = T0,
    host: str = "shop.local",
    blocked: bool = False,
) -> RequestRecord:
    return RequestRecord(
        request_id=f"req-{next(_ids)}",
        time=time,
        node="pod-1",
        application="shop",
        client_ip=ip,
        method=method,
        host=host,
        path=path,
        status=status,
        blocked=blocked,
        mode="monitoring",
    )


def feed(engine: BehaviourEngine, records: Iterator[RequestRecord]) -> list[Detection]:
    found: list[Detection] = []
    for record in records:
        found.extend(engine.feed(record))
    return found


def small() -> BehaviourEngine:
    return BehaviourEngine(
        BehaviourSettings(
            brute_threshold=10,
            brute_window=60,
            dirbust_threshold=10,
            dirbust_window=60,
            bola_threshold=10,
            bola_window=60,
        )
    )


def benign_background(rng: random.Random, n: int, start: float) -> Iterator[RequestRecord]:
    """Many users browsing: pages, one login each, a few 404s, their own objects."""
    pages = ["/", "/catalog", "/cart", "/static/app.js", "/api/products", "/search"]
    for i in range(n):
        ip = f"203.0.113.{rng.randrange(1, 250)}"
        t = start + i * 0.05
        roll = rng.random()
        if roll < 0.05:
            yield request("/login", ip=ip, method="POST", status=302, time=t)
        elif roll < 0.08:
            yield request(f"/missing-{rng.randrange(5)}", ip=ip, status=404, time=t)
        elif roll < 0.2:
            # each user reads their own order, a few times
            yield request(f"/api/orders/{ip.rsplit('.', 1)[1]}", ip=ip, time=t)
        else:
            yield request(rng.choice(pages), ip=ip, time=t)


# -- brute force ----------------------------------------------------------------------------


def test_brute_force_on_a_login_endpoint_is_found_among_benign_traffic() -> None:
    engine = small()
    rng = random.Random(7)
    background = list(benign_background(rng, 2000, T0))
    attack = [
        request("/api/v1/auth/login", ip="192.0.2.66", method="POST", status=401, time=T0 + i)
        for i in range(25)
    ]
    mixed = sorted(background + attack, key=lambda record: record.time)
    found = feed(engine, iter(mixed))
    assert [(d.attack_type, d.client_ip, d.path) for d in found] == [
        ("brute", "192.0.2.66", "/api/v1/auth/login")
    ] * 2  # 25 attempts, threshold 10: a hit per 10
    assert found[0].trigger_request_id == attack[9].request_id
    assert found[1].trigger_request_id == attack[19].request_id


def test_401s_on_any_endpoint_count_as_attempts() -> None:
    engine = small()
    found = feed(
        engine, (request("/admin", ip="192.0.2.1", status=401, time=T0 + i) for i in range(10))
    )
    assert [d.attack_type for d in found] == ["brute"]


@pytest.mark.parametrize(
    "lookalike",
    [
        # many users logging in once each
        [request("/login", ip=f"10.0.0.{i}", method="POST", status=302) for i in range(50)],
        # one user reloading the login page (GET, not an attempt)
        [request("/login", time=T0 + i) for i in range(50)],
        # one client posting many orders (not an auth path, 201)
        [request("/api/orders", method="POST", status=201, time=T0 + i) for i in range(50)],
        # a slow, persistent typo-er: 9 failed logins a minute for 10 minutes
        [request("/login", method="POST", status=401, time=T0 + i * 7) for i in range(90)],
        # the blocked attempts the proxy already counted as hits
        [
            request("/login", method="POST", status=403, time=T0 + i, blocked=True)
            for i in range(50)
        ],
        # the paths only look alike: /catalog/authors is not an auth endpoint
        [request("/catalog/authors", method="POST", time=T0 + i) for i in range(50)],
    ],
)
def test_brute_force_lookalikes_are_not_detected(lookalike: list[RequestRecord]) -> None:
    engine = small()
    assert [d.attack_type for d in feed(engine, iter(lookalike)) if d.attack_type == "brute"] == []


# -- forced browsing ------------------------------------------------------------------------


def test_forced_browsing_is_found_and_names_samples() -> None:
    engine = small()
    words = ["admin", "backup", ".git/config", "wp-admin", "phpinfo.php", "old", "test", "tmp"]
    attack = [
        request(f"/{word}{i}", ip="192.0.2.77", status=404, time=T0 + i * 0.5)
        for i, word in enumerate(words * 2)
    ]
    background = list(benign_background(random.Random(3), 1000, T0))
    found = feed(engine, iter(sorted(background + attack, key=lambda r: r.time)))
    assert [(d.attack_type, d.client_ip, d.path) for d in found] == [("dirbust", "192.0.2.77", "/")]
    assert "/phpinfo.php12" not in found[0].description  # only paths before the trigger
    assert "/tmp7" in found[0].description


@pytest.mark.parametrize(
    "lookalike",
    [
        # a monitor polling the same missing favicon
        [request("/favicon.ico", status=404, time=T0 + i) for i in range(100)],
        # a crawler reading many pages that exist
        [request(f"/catalog/item-{i}", time=T0 + i * 0.1) for i in range(100)],
        # many clients each hitting a couple of dead links
        [request(f"/old-{i % 3}", ip=f"10.1.0.{i}", status=404) for i in range(100)],
        # 404s spread thinly: 5 a minute for 20 minutes
        [request(f"/gone-{i}", status=404, time=T0 + i * 12) for i in range(100)],
    ],
)
def test_forced_browsing_lookalikes_are_not_detected(lookalike: list[RequestRecord]) -> None:
    engine = small()
    assert [d for d in feed(engine, iter(lookalike)) if d.attack_type == "dirbust"] == []


# -- BOLA -----------------------------------------------------------------------------------


def test_bola_enumeration_of_object_ids_is_found() -> None:
    engine = small()
    attack = [
        request(f"/api/users/{1000 + i}/profile", ip="192.0.2.88", time=T0 + i * 0.2)
        for i in range(12)
    ]
    background = list(benign_background(random.Random(5), 1000, T0))
    found = feed(engine, iter(sorted(background + attack, key=lambda r: r.time)))
    assert [(d.attack_type, d.client_ip, d.path) for d in found] == [
        ("bola", "192.0.2.88", "/api/users/{id}/profile")
    ]


def test_bola_with_uuids_is_found() -> None:
    engine = small()
    uuids = [f"{i:08x}-1111-2222-3333-444455556666" for i in range(10)]
    found = feed(
        engine,
        (request(f"/api/docs/{u}", ip="192.0.2.5", time=T0 + n) for n, u in enumerate(uuids)),
    )
    assert [d.path for d in found] == ["/api/docs/{uuid}"]


@pytest.mark.parametrize(
    "lookalike",
    [
        # one client reading its own object over and over
        [request("/api/users/42", time=T0 + i) for i in range(100)],
        # many clients, each its own object
        [request(f"/api/users/{i}", ip=f"10.2.0.{i}") for i in range(100)],
        # one client, many distinct pages with no ids in them
        [request(f"/docs/page-{chr(97 + i % 26)}", time=T0 + i) for i in range(100)],
        # one client, ids slowly: a few a minute
        [request(f"/api/users/{i}", time=T0 + i * 10) for i in range(60)],
        # one client, ids through many different endpoints (few per endpoint)
        [request(f"/api/e{i % 20}/{i}") for i in range(60)],
        # the server failing (5xx) is not access to objects
        [request(f"/api/users/{i}", status=503, time=T0 + i * 0.1) for i in range(60)],
    ],
)
def test_bola_lookalikes_are_not_detected(lookalike: list[RequestRecord]) -> None:
    engine = small()
    assert [d for d in feed(engine, iter(lookalike)) if d.attack_type == "bola"] == []


# -- the three together, settings, bounds -----------------------------------------------------


def test_a_zero_threshold_turns_a_detection_off() -> None:
    engine = BehaviourEngine(BehaviourSettings(brute_threshold=0, bola_threshold=0))
    records = [request("/login", method="POST", status=401, time=T0 + i) for i in range(100)]
    records += [request(f"/api/users/{i}", time=T0 + i) for i in range(100)]
    assert feed(engine, iter(records)) == []


def test_state_is_bounded_by_max_keys() -> None:
    engine = BehaviourEngine(BehaviourSettings(dirbust_threshold=3, max_keys=100))
    # 10,000 sources with two 404s each: never more than 100 keys held.
    for i in range(10_000):
        ip = f"10.{i // 256 % 256}.{i % 256}.1"
        engine.feed(request("/a", ip=ip, status=404))
        engine.feed(request("/b", ip=ip, status=404))
        assert len(engine.dirbust.keys) <= 100
    assert engine.dirbust.keys.forgotten > 0


def test_a_detection_is_a_synthetic_record_the_cloud_accepts() -> None:
    from wallarm_sidecar.cloud._schemas import RecordIn

    engine = small()
    found = feed(
        engine,
        (request(f"/api/users/{i}", ip="192.0.2.3", time=T0 + i) for i in range(10)),
    )
    record = synthetic_record(found[0])
    parsed = RecordIn.model_validate(record)
    assert parsed.request_id == f"bola:{found[0].trigger_request_id}"
    assert parsed.hits[0].attack_type == "bola" and parsed.hits[0].point == "behavioral"
    assert (parsed.client_ip, parsed.path) == ("192.0.2.3", "/api/users/{id}")
    # the same trigger gives the same record: the Cloud stores it once
    assert synthetic_record(found[0]) == record
    long = dataclasses.replace(found[0], trigger_request_id="x" * 500)
    assert len(synthetic_record(long)["request_id"]) <= 128


def test_auto_lister_lists_a_source_once_until_it_expires() -> None:
    engine = small()
    found = feed(
        engine,
        (request("/login", ip="192.0.2.9", method="POST", time=T0 + i) for i in range(30)),
    )
    assert len(found) == 3
    off = AutoLister(list_kind="off", ttl=600)
    assert off.entries(found, now=T0) == []
    lister = AutoLister(list_kind="gray", ttl=600)
    first = lister.entries(found, now=T0)
    assert [(e["list"], e["ip"], e["expires_at"]) for e in first] == [
        ("gray", "192.0.2.9", T0 + 600)
    ]
    assert lister.entries(found, now=T0 + 599) == []
    assert len(lister.entries(found, now=T0 + 601)) == 1
    lister.forget("192.0.2.9")
    assert len(lister.entries(found, now=T0 + 602)) == 1


def test_detectors_ignore_records_with_hits_only_if_blocked() -> None:
    # A monitored attack that also enumerates ids is still counted.
    engine = small()
    records = []
    for i in range(10):
        record = request(f"/api/users/{i}", ip="192.0.2.4", time=T0 + i)
        record.hits = [
            HitRecord(attack_type="sqli", point="uri", fragment="'", rule_id="1", blocked=False)
        ]
        records.append(record)
    assert [d.attack_type for d in feed(engine, iter(records))] == ["bola"]
