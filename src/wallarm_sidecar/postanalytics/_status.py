"""What wstore's health and metrics endpoints answer (pure rendering of counters)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest

from wallarm_sidecar.postanalytics._store import RecordStore


@dataclass(slots=True)
class ServerCounters:
    """What the protocol shell counts (the store counts the rest)."""

    connections: int = 0
    accepted: int = 0
    dropped: int = 0
    duplicates: int = 0
    paused: int = 0


#: (metric name, kind, help, value) rows; the metric names are the public contract.
def _rows(store: RecordStore, server: ServerCounters) -> list[tuple[str, str, str, float]]:
    counters = store.counters
    return [
        ("wallarm_wstore_requests", "counter", "Request records stored", counters.stored),
        ("wallarm_wstore_hits", "counter", "Hits in the stored request records", counters.hits),
        (
            "wallarm_wstore_evictions",
            "counter",
            "Records evicted, oldest first, to stay inside the arena",
            counters.evictions,
        ),
        (
            "wallarm_wstore_evicted_unexported",
            "counter",
            "Evicted records the jobs process had not exported yet",
            counters.evicted_unexported,
        ),
        (
            "wallarm_wstore_rejected",
            "counter",
            "Records refused because one alone is larger than the arena",
            counters.rejected,
        ),
        (
            "wallarm_wstore_duplicates",
            "counter",
            "Resent batches acknowledged again but not stored twice",
            server.duplicates,
        ),
        (
            "wallarm_wstore_connections_accepted",
            "counter",
            "Proxy connections accepted",
            server.accepted,
        ),
        (
            "wallarm_wstore_connections_dropped",
            "counter",
            "Connections dropped for a protocol error, a timeout or the connection limit",
            server.dropped,
        ),
        (
            "wallarm_wstore_ingest_pauses",
            "counter",
            "Times a connection was paused because partly received frames filled the buffer",
            server.paused,
        ),
        ("wallarm_wstore_connections", "gauge", "Open proxy connections", server.connections),
        ("wallarm_wstore_arena_bytes", "gauge", "Memory budget of the store", store.budget),
        ("wallarm_wstore_used_bytes", "gauge", "Bytes charged to the store", store.used),
        ("wallarm_wstore_records", "gauge", "Records held", len(store)),
        (
            "wallarm_wstore_export_cursor",
            "gauge",
            "Sequence number of the last record the jobs process exported",
            store.export_cursor,
        ),
        (
            "wallarm_wstore_last_seq",
            "gauge",
            "Sequence number of the newest record",
            store.next_seq - 1,
        ),
    ]


class _WstoreCollector:
    def __init__(self, store: RecordStore, server: ServerCounters) -> None:
        self.store = store
        self.server = server

    def collect(self) -> Iterator[Metric]:
        for name, kind, text, value in _rows(self.store, self.server):
            family: Metric
            if kind == "counter":
                family = CounterMetricFamily(name, text, value=value)
            else:
                family = GaugeMetricFamily(name, text, value=value)
            yield family


def metrics_registry(store: RecordStore, server: ServerCounters) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_WstoreCollector(store, server))
    return registry


def metrics_text(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def health_document(
    store: RecordStore, server: ServerCounters, *, stopping: bool
) -> dict[str, Any]:
    return {
        "status": "stopping" if stopping else "ok",
        "connections": server.connections,
        "records": len(store),
        "arena_bytes": store.budget,
        "used_bytes": store.used,
        "first_seq": store.first_seq,
        "last_seq": store.next_seq - 1,
        "export_cursor": store.export_cursor,
    }


def health_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode() + b"\n"


__all__ = ["ServerCounters", "health_document", "health_json", "metrics_registry", "metrics_text"]
