"""Attacks grouped by ingest match the rule hit by hit, whatever the batches (property test).

The reference: batches in the order sent, the new hits of a batch in time order; each hit
joins the attack of its key (type, source, target, node group) with the latest last_seen
whose span it falls within ATTACK_WINDOW of, else starts one. The Cloud loads candidate
attacks in bulk and groups in memory: it must give the same attacks on both databases.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cloud.conftest import Cloud
from wallarm_sidecar.cloud import ATTACK_WINDOW

T0 = 1_767_225_600.0
_examples = itertools.count()

hit_strategy = st.tuples(
    st.sampled_from(["sqli", "xss"]),  # attack type
    st.sampled_from(["198.51.100.1", "198.51.100.2"]),  # source
    st.integers(min_value=0, max_value=8),  # time, in units of a third of the window
    st.integers(min_value=0, max_value=5),  # request id (repeats: resends)
)


def reference(batches: list[list[dict[str, Any]]]) -> list[frozenset[str]]:
    """Attacks as sets of request ids, by the rule hit by hit."""
    attacks: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for batch in batches:
        fresh = []
        for record in batch:
            key = (record["request_id"], record["hits"][0]["attack_type"])
            if key not in seen:
                seen.add(key)
                fresh.append(record)
        for record in sorted(fresh, key=lambda r: (r["time"], r["request_id"])):
            kind, ip, moment = record["hits"][0]["attack_type"], record["client_ip"], record["time"]
            near = [
                a
                for a in attacks
                if a["key"] == (kind, ip)
                and a["last"] >= moment - ATTACK_WINDOW
                and a["first"] <= moment + ATTACK_WINDOW
            ]
            if near:
                attack = max(near, key=lambda a: a["last"])
            else:
                attack = {"key": (kind, ip), "first": moment, "last": moment, "ids": set()}
                attacks.append(attack)
            attack["first"] = min(attack["first"], moment)
            attack["last"] = max(attack["last"], moment)
            attack["ids"].add(record["request_id"])
    return sorted((frozenset(a["ids"]) for a in attacks), key=sorted)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.lists(hit_strategy, min_size=1, max_size=6), min_size=1, max_size=4))
def test_ingest_groups_hits_as_the_rule_says(
    cloud: Cloud, batches: list[list[tuple[str, str, int, int]]]
) -> None:
    example = next(_examples)
    host = f"example-{example}.test"  # each example its own target: no attack shared
    sent = [
        [
            {
                "request_id": f"e{example}-{kind}-r{number}",
                "time": T0 + step * ATTACK_WINDOW / 3 + number,
                "client_ip": ip,
                "host": host,
                "path": "/login",
                "hits": [{"attack_type": kind, "point": "uri"}],
            }
            for kind, ip, step, number in batch
        ]
        for batch in batches
    ]
    # A request id names one request: the same id always has the same time and source.
    canonical: dict[str, dict[str, Any]] = {}
    sent = [[canonical.setdefault(r["request_id"], r) for r in batch] for batch in sent]
    for batch in sent:
        response = cloud.post("/api/v1/hits", json={"records": batch})
        assert response.status_code == 200, response.text
    attacks = [
        a
        for a in cloud.get("/api/v1/attacks", params={"limit": 500}).json()["items"]
        if a["host"] == host
    ]
    got = []
    for attack in attacks:
        hits = cloud.get("/api/v1/hits", params={"attack_id": attack["id"]}).json()["items"]
        assert attack["hits"] == len(hits)
        got.append(frozenset(h["request_id"] for h in hits))
    assert sorted(got, key=sorted) == reference(sent)
