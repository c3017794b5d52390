"""What the status and metrics ports answer, rendered from the summed counters (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.core import CollectorRegistry, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest

from wallarm_sidecar.proxy._stats import FIELDS

_HELP = {
    "requests": "Requests received",
    "attacks": "Requests with at least one attack detected",
    "blocked": "Requests blocked for an attack",
    "blocked_by_acl": "Requests blocked by the denylist",
    "acl_allow_list": "Requests from allowlisted sources",
    "requests_lost": "Request records dropped because postanalytics was away and the queue full",
    "records_sent": "Request records acknowledged by postanalytics",
    "tnt_errors": "Errors talking to postanalytics",
    "api_errors": "Errors talking to the Cloud API",
    "bad_requests": "Requests refused at framing (400, 408, 413, 431, 501, 505)",
    "upstream_errors": "Application connection failures (502)",
    "upstream_timeouts": "Application response timeouts (504)",
    "time_detect": "Seconds spent in detection",
    "connections": "Open client connections",
    "records_queued": "Request records waiting for postanalytics",
    "workers": "Worker processes running",
    "stalled_workers_count": "Workers that have not reported for 5 seconds",
}


def status_document(
    totals: Mapping[str, int], *, workers: int, stalled: list[int], extra: Mapping[str, Any]
) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name in FIELDS:
        if name == "time_detect_us":
            document["time_detect"] = round(totals[name] / 1e6, 6)
        else:
            document[name] = totals[name]
    document["workers"] = workers
    document["stalled_workers_count"] = len(stalled)
    document["stalled_workers"] = stalled
    document.update(extra)
    return document


def status_json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, indent=2).encode() + b"\n"


class _DocumentCollector:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def collect(self) -> Iterator[Metric]:
        for key, value in self.document.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            family = GaugeMetricFamily(f"wallarm_{key}", _HELP.get(key, key.replace("_", " ")))
            family.add_metric([], float(value))
            yield family


def metrics_text(document: Mapping[str, Any]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_DocumentCollector(document))
    return generate_latest(registry)
