"""What the sync decides, without I/O: the files to write, the state, the next wait.

`SyncStatus` is the small state table the jobs walk through; the loop in `_jobs.py`
only calls the Cloud, writes files and sleeps for `next_wait`.
"""

from __future__ import annotations

import enum
import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from wallarm_sidecar.cloudlink._backoff import backoff_delays
from wallarm_sidecar.proxy import IpLists, NodeModeRules

NODE_CONFIG_FILE = "node-config.json"
IP_LISTS_FILE = "ip-lists.json"
SYNC_STATUS_FILE = "sync-status.json"
#: Regular syncs are spread by up to this fraction of the interval, either way.
INTERVAL_JITTER = 0.1
#: Retries after failures wait at most this many sync intervals.
BACKOFF_CAP_INTERVALS = 4.0


class SyncState(enum.StrEnum):
    STARTING = "starting"  # nothing tried yet
    REGISTERING = "registering"  # no usable registration yet; retrying
    REGISTERED = "registered"  # registered, no sync done yet
    SYNCED = "synced"  # the last sync worked
    RETRYING = "retrying"  # the last call failed; retrying with backoff
    REJECTED = "rejected"  # 401/403: the jobs stopped; traffic keeps flowing
    NO_CREDENTIAL = "no_credential"  # neither a credential nor a registration: jobs off
    STOPPED = "stopped"


@dataclass(frozen=True)
class SyncStatus:
    state: SyncState = SyncState.STARTING
    api_errors: int = 0
    failures_in_a_row: int = 0
    node_id: int | None = None
    group: str | None = None
    last_sync: float | None = None
    last_error: str | None = None

    def registered(self, node_id: int, group: str) -> SyncStatus:
        return replace(
            self, state=SyncState.REGISTERED, node_id=node_id, group=group, failures_in_a_row=0
        )

    def synced(self, now: float) -> SyncStatus:
        return replace(self, state=SyncState.SYNCED, failures_in_a_row=0, last_sync=now)

    def failed(self, error: str, *, registering: bool, api: bool = True) -> SyncStatus:
        """A failed attempt; `api=False` for local failures (a volume that is not writable),
        which are retried the same way but are not Cloud API errors."""
        return replace(
            self,
            state=SyncState.REGISTERING if registering else SyncState.RETRYING,
            api_errors=self.api_errors + int(api),
            failures_in_a_row=self.failures_in_a_row + 1,
            last_error=error,
        )

    def rejected(self, error: str) -> SyncStatus:
        return replace(
            self, state=SyncState.REJECTED, api_errors=self.api_errors + 1, last_error=error
        )

    def moved_to(self, state: SyncState, error: str | None = None) -> SyncStatus:
        return replace(self, state=state, last_error=error or self.last_error)

    def document(self) -> dict[str, Any]:
        """For `sync-status.json` and the `cloud` key of `/wallarm-status`."""
        return {
            "state": str(self.state),
            "api_errors": self.api_errors,
            "node_id": self.node_id,
            "group": self.group,
            "last_sync": self.last_sync,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class NodeFiles:
    """The two files the proxy reads, as bytes ready to be written."""

    node_config: bytes
    ip_lists: bytes


def _canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def render_files(answer: Mapping[str, Any]) -> NodeFiles:
    """Check the Cloud's answer as the proxy will read it; ValueError names what is wrong.

    A document the proxy would refuse is never written: the node keeps the last good one.
    """
    try:
        NodeModeRules.from_document(answer.get("node_config"))
    except ValueError as error:
        raise ValueError(f"node_config refused: {error}") from None
    try:
        IpLists.from_document(answer.get("ip_lists"))
    except ValueError as error:
        raise ValueError(f"ip_lists refused: {error}") from None
    return NodeFiles(_canonical(answer["node_config"]), _canonical(answer["ip_lists"]))


class Waits:
    """How long to sleep before the next call: the interval after a success (spread a
    little), exponential backoff with full jitter after failures."""

    def __init__(self, interval: float, rng: random.Random) -> None:
        self.interval = interval
        self.rng = rng
        self._backoff: Iterator[float] | None = None

    def after_success(self) -> float:
        self._backoff = None
        spread = self.interval * INTERVAL_JITTER
        return self.rng.uniform(self.interval - spread, self.interval + spread)

    def after_failure(self) -> float:
        if self._backoff is None:
            base = min(1.0, self.interval)
            self._backoff = backoff_delays(base, self.interval * BACKOFF_CAP_INTERVALS, self.rng)
        return next(self._backoff)


def registration_matches(saved_name: str, saved_group: str, name: str, group: str) -> bool:
    """A saved registration is this node's if the name matches, and the group when known
    (a node token or scoped credential chooses the group; WALLARM_LABELS may be empty)."""
    return saved_name == name and (not group or saved_group == group)


def parse_sync_status(data: bytes | None) -> dict[str, Any]:
    """The helper's `sync-status.json`, as the proxy shows it; {} when absent or unusable."""
    if not data:
        return {}
    try:
        document = json.loads(data)
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    errors = document.get("api_errors")
    if isinstance(errors, bool) or not isinstance(errors, int) or errors < 0:
        return {}
    keys = ("state", "api_errors", "node_id", "group", "last_sync", "last_error")
    return {key: document.get(key) for key in keys}


__all__ = [
    "IP_LISTS_FILE",
    "NODE_CONFIG_FILE",
    "SYNC_STATUS_FILE",
    "NodeFiles",
    "SyncState",
    "SyncStatus",
    "Waits",
    "parse_sync_status",
    "registration_matches",
    "render_files",
]
