"""Counters of the proxy, kept per worker and summed across workers.

Workers bump plain attributes on the hot path and copy them into their own row
of a shared-memory table every 250 ms; the status and metrics endpoints sum the
rows. A restarted worker continues from its row, so totals never go backwards.
"""

from __future__ import annotations

import ctypes
import multiprocessing
from typing import Any, Final

#: Monotonic counters (DESIGN §6 keys; `time_detect_us` is shown as `time_detect` seconds).
COUNTERS: Final = (
    "requests",
    "attacks",
    "blocked",
    "blocked_by_acl",
    "acl_allow_list",
    "requests_lost",
    "records_sent",
    "tnt_errors",
    "api_errors",
    "bad_requests",
    "upstream_errors",
    "upstream_timeouts",
    "time_detect_us",
)
#: Gauges: current values, summed as well.
GAUGES: Final = ("connections", "records_queued")
FIELDS: Final = COUNTERS + GAUGES


class WorkerStats:
    """One worker's counters: plain attributes, cheap to bump."""

    __slots__ = FIELDS

    def __init__(self) -> None:
        self.requests = 0
        self.attacks = 0
        self.blocked = 0
        self.blocked_by_acl = 0
        self.acl_allow_list = 0
        self.requests_lost = 0
        self.records_sent = 0
        self.tnt_errors = 0
        self.api_errors = 0
        self.bad_requests = 0
        self.upstream_errors = 0
        self.upstream_timeouts = 0
        self.time_detect_us = 0
        self.connections = 0
        self.records_queued = 0

    def load(self, row: list[int]) -> None:
        """Continue the counters of a previous worker in the same slot."""
        for name, value in zip(COUNTERS, row, strict=False):
            setattr(self, name, value)

    def snapshot(self) -> list[int]:
        return [int(getattr(self, name)) for name in FIELDS]


class StatsTable:
    """Shared memory: one row of FIELDS per worker slot plus a heartbeat per slot."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.width = len(FIELDS)
        self.cells: Any = multiprocessing.RawArray(ctypes.c_uint64, workers * self.width)
        self.heartbeats: Any = multiprocessing.RawArray(ctypes.c_double, workers)

    def write(self, slot: int, values: list[int], now: float) -> None:
        start = slot * self.width
        self.cells[start : start + self.width] = values
        self.heartbeats[slot] = now

    def read(self, slot: int) -> list[int]:
        start = slot * self.width
        return list(self.cells[start : start + self.width])

    def totals(self) -> dict[str, int]:
        sums = [0] * self.width
        for slot in range(self.workers):
            for index, value in enumerate(self.read(slot)):
                sums[index] += value
        return dict(zip(FIELDS, sums, strict=True))


__all__ = ["COUNTERS", "FIELDS", "GAUGES", "StatsTable", "WorkerStats"]
