"""Wire records (docs/wire-protocol.md) to the Cloud's JSON records (POST /api/v1/hits).

The Cloud validates every field against a bound (docs/cloud.md) and refuses a whole
batch with 422 if one record breaks one. A record that wstore accepted must never stall
the export that way, so every string is cut to the Cloud's bound here, and a record with
more hits than the Cloud takes in one record is split into several records with the
same request id (the Cloud keys hits by request id, point and attack type, so the split
changes nothing there).
"""

from __future__ import annotations

import math
from typing import Any

from wallarm_sidecar.wire import RequestRecord

#: The Cloud's bounds (cloud/_schemas.py), repeated so postanalytics does not import
#: the Cloud's server code.
MAX_RECORDS_PER_POST = 500
MAX_HITS_PER_RECORD = 64
_LIMITS = {
    "request_id": 128,
    "node": 253,
    "application": 200,
    "client_ip": 64,
    "method": 16,
    "host": 255,
    "path": 2048,
    "mode": 20,
}
_HIT_LIMITS = {"attack_type": 64, "point": 512, "fragment": 2048, "rule_id": 128}

CloudRecord = dict[str, Any]


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[:limit]


def decode_record(raw: Any) -> RequestRecord:
    """A record array as wstore exports it; ValueError if malformed."""
    return RequestRecord.from_wire(raw)


def cloud_records(record: RequestRecord) -> list[CloudRecord]:
    """The record as the Cloud's JSON, one dict per (at most 64) hits; [] without hits."""
    if not record.hits:
        return []
    time = record.time if math.isfinite(record.time) and record.time >= 0 else 0.0
    status = record.status if 0 <= record.status <= 999 else 0
    base: CloudRecord = {
        "request_id": _cut(record.request_id, _LIMITS["request_id"]) or "-",
        "time": time,
        "node": _cut(record.node, _LIMITS["node"]),
        "application": _cut(record.application, _LIMITS["application"]),
        "client_ip": _cut(record.client_ip, _LIMITS["client_ip"]),
        "method": _cut(record.method, _LIMITS["method"]),
        "host": _cut(record.host, _LIMITS["host"]),
        "path": _cut(record.path, _LIMITS["path"]),
        "status": status,
        "blocked": record.blocked,
        "mode": _cut(record.mode, _LIMITS["mode"]),
    }
    hits = [
        {
            "attack_type": _cut(hit.attack_type, _HIT_LIMITS["attack_type"]) or "unknown",
            "point": _cut(hit.point, _HIT_LIMITS["point"]),
            "fragment": _cut(hit.fragment, _HIT_LIMITS["fragment"]),
            "rule_id": _cut(hit.rule_id, _HIT_LIMITS["rule_id"]),
            "blocked": hit.blocked,
        }
        for hit in record.hits
    ]
    return [
        {**base, "hits": hits[start : start + MAX_HITS_PER_RECORD]}
        for start in range(0, len(hits), MAX_HITS_PER_RECORD)
    ]


def hit_count(records: list[CloudRecord]) -> int:
    return sum(len(record["hits"]) for record in records)


__all__ = [
    "MAX_HITS_PER_RECORD",
    "MAX_RECORDS_PER_POST",
    "CloudRecord",
    "cloud_records",
    "decode_record",
    "hit_count",
]
