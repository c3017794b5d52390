"""Behavioural detections: attacks visible only across many requests (sans-IO).

Each detector is fed request records in arrival order with the record's own time (no
clock is read here) and returns the detections it makes. A detection becomes one hit in
a synthetic record (`synthetic_record`), exported to the Cloud like any other hit, so
the Cloud groups the hits of one source against one target into one attack.

* `brute`: attempts on one auth endpoint (a POST/PUT to a login-like path, or a 401/403
  answer), keyed by client, host and path;
* `dirbust`: distinct paths answered 404, keyed by client and host;
* `bola`: distinct object ids reached through one path template (`/api/users/{id}`),
  keyed by client, host, method and template.

A detector fires when its count reaches the threshold within the window, then starts
counting afresh for that key: a long attack gives one hit per threshold's worth of
requests, not one per request. Requests the proxy blocked are not counted (they are
hits already). State is bounded: at most `max_keys` keys (least recently used forgotten
first) and, per key, at most `threshold` entries.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wallarm_sidecar.postanalytics._paths import template_path
from wallarm_sidecar.wire import RequestRecord

DEFAULT_AUTH_PATHS = (
    r"(?i)(^|/)(login|log-in|signin|sign-in|sign_in|logon|auth|authenticate|"
    r"token|oauth2?|session|sessions|password|passwd|2fa|otp|mfa)(/|$|\.)"
)
ATTACK_TYPES = ("brute", "dirbust", "bola")


class BehaviourSettings(BaseModel):
    """Thresholds (events within a window, in seconds) per detection; 0 turns one off."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    brute_threshold: Annotated[int, Field(ge=0, le=1_000_000)] = 30
    brute_window: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    brute_paths: str = DEFAULT_AUTH_PATHS
    dirbust_threshold: Annotated[int, Field(ge=0, le=1_000_000)] = 30
    dirbust_window: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    bola_threshold: Annotated[int, Field(ge=0, le=1_000_000)] = 30
    bola_window: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    max_keys: Annotated[int, Field(ge=1, le=10_000_000)] = 100_000

    @field_validator("brute_paths")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"not a regular expression: {error}") from None
        return value


@dataclass(frozen=True, slots=True)
class Detection:
    attack_type: str
    client_ip: str
    host: str
    #: The target: the auth path, "/" for forced browsing, the template for BOLA.
    path: str
    time: float
    count: int
    window: float
    #: The record that crossed the threshold: its id makes the synthetic one's, so a
    #: detection made again from the same records is stored once in the Cloud.
    trigger_request_id: str
    node: str
    application: str
    method: str
    status: int
    mode: str
    samples: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        text = {
            "brute": f"{self.count} attempts on {self.path} within {self.window:g}s",
            "dirbust": f"{self.count} distinct paths answered 404 within {self.window:g}s",
            "bola": f"{self.count} distinct ids through {self.path} within {self.window:g}s",
        }[self.attack_type]
        if self.samples:
            text += ": " + ", ".join(self.samples)
        return text[:2048]


def synthetic_record(detection: Detection) -> dict[str, Any]:
    """The Cloud JSON record carrying the detection as one hit."""
    request_id = f"{detection.attack_type}:{detection.trigger_request_id}"
    if len(request_id) > 128:
        digest = hashlib.sha256(detection.trigger_request_id.encode()).hexdigest()
        request_id = f"{detection.attack_type}:{digest}"
    return {
        "request_id": request_id,
        "time": detection.time if math.isfinite(detection.time) and detection.time >= 0 else 0.0,
        "node": detection.node[:253],
        "application": detection.application[:200],
        "client_ip": detection.client_ip[:64],
        "method": detection.method[:16],
        "host": detection.host[:255],
        "path": detection.path[:2048],
        "status": detection.status if 0 <= detection.status <= 999 else 0,
        "blocked": False,
        "mode": detection.mode[:20],
        "hits": [
            {
                "attack_type": detection.attack_type,
                "point": "behavioral",
                "fragment": detection.description,
                "rule_id": f"behav-{detection.attack_type}",
                "blocked": False,
            }
        ],
    }


@dataclass(slots=True)
class _Events:
    """Times of the events of one key, oldest first, at most `threshold` of them."""

    times: deque[float] = field(default_factory=deque)


@dataclass(slots=True)
class _Distinct:
    """Distinct values of one key with the time each was last seen."""

    seen: OrderedDict[str, float] = field(default_factory=OrderedDict)


class _Keyed:
    """Per-key state with a bound on keys: least recently used forgotten first."""

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self.state: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self.forgotten = 0

    def get(self, key: tuple[str, ...], factory: type[Any]) -> Any:
        value = self.state.get(key)
        if value is None:
            value = factory()
            self.state[key] = value
            if len(self.state) > self.max_keys:
                self.state.popitem(last=False)
                self.forgotten += 1
        else:
            self.state.move_to_end(key)
        return value

    def reset(self, key: tuple[str, ...]) -> None:
        self.state.pop(key, None)

    def __len__(self) -> int:
        return len(self.state)


class BruteForceDetector:
    """Many attempts on one auth endpoint from one source."""

    attack_type = "brute"

    def __init__(self, *, threshold: int, window: float, paths: str, max_keys: int) -> None:
        self.threshold = threshold
        self.window = window
        self.paths = re.compile(paths)
        self.keys = _Keyed(max_keys)

    def is_attempt(self, record: RequestRecord) -> bool:
        if record.status in (401, 403):
            return True
        return record.method in ("POST", "PUT") and self.paths.search(record.path) is not None

    def feed(self, record: RequestRecord) -> Detection | None:
        if self.threshold == 0 or record.blocked or not self.is_attempt(record):
            return None
        key = (record.client_ip, record.host, record.path)
        events: _Events = self.keys.get(key, _Events)
        times = events.times
        times.append(record.time)
        while times and times[0] <= record.time - self.window:
            times.popleft()
        if len(times) > self.threshold:
            times.popleft()
        if len(times) < self.threshold:
            return None
        self.keys.reset(key)
        return _detection(self.attack_type, record, record.path, self.threshold, self.window)


class ForcedBrowsingDetector:
    """Many distinct paths answered 404 to one source on one host."""

    attack_type = "dirbust"

    def __init__(self, *, threshold: int, window: float, max_keys: int) -> None:
        self.threshold = threshold
        self.window = window
        self.keys = _Keyed(max_keys)

    def feed(self, record: RequestRecord) -> Detection | None:
        if self.threshold == 0 or record.blocked or record.status != 404:
            return None
        key = (record.client_ip, record.host)
        state: _Distinct = self.keys.get(key, _Distinct)
        if not _add_distinct(state, record.path[:512], record.time, self.window, self.threshold):
            return None
        samples = tuple(list(state.seen)[-5:])
        self.keys.reset(key)
        return _detection(
            self.attack_type, record, "/", self.threshold, self.window, samples=samples
        )


class BolaDetector:
    """One source reaching many distinct object ids through one path template."""

    attack_type = "bola"

    def __init__(self, *, threshold: int, window: float, max_keys: int) -> None:
        self.threshold = threshold
        self.window = window
        self.keys = _Keyed(max_keys)

    def feed(self, record: RequestRecord) -> Detection | None:
        if self.threshold == 0 or record.blocked or record.status >= 500:
            return None
        shape = template_path(record.path)
        if not shape.ids:
            return None
        key = (record.client_ip, record.host, record.method, shape.template)
        state: _Distinct = self.keys.get(key, _Distinct)
        value = "/".join(shape.ids)
        if not _add_distinct(state, value, record.time, self.window, self.threshold):
            return None
        samples = tuple(list(state.seen)[-5:])
        self.keys.reset(key)
        return _detection(
            self.attack_type, record, shape.template, self.threshold, self.window, samples=samples
        )


def _add_distinct(state: _Distinct, value: str, now: float, window: float, threshold: int) -> bool:
    """Record `value` at `now`; True when `threshold` distinct values fall in the window."""
    seen = state.seen
    seen.pop(value, None)
    seen[value] = now
    while seen:
        oldest_value, oldest_time = next(iter(seen.items()))
        if oldest_time > now - window and len(seen) <= threshold:
            break
        del seen[oldest_value]
    return len(seen) >= threshold


def _detection(
    attack_type: str,
    record: RequestRecord,
    path: str,
    count: int,
    window: float,
    *,
    samples: tuple[str, ...] = (),
) -> Detection:
    return Detection(
        attack_type=attack_type,
        client_ip=record.client_ip,
        host=record.host,
        path=path,
        time=record.time,
        count=count,
        window=window,
        trigger_request_id=record.request_id,
        node=record.node,
        application=record.application,
        method=record.method,
        status=record.status,
        mode=record.mode,
        samples=tuple(sample[:100] for sample in samples),
    )


class BehaviourEngine:
    """The three detectors over one stream of records."""

    def __init__(self, settings: BehaviourSettings | None = None) -> None:
        settings = settings or BehaviourSettings()
        self.settings = settings
        self.brute = BruteForceDetector(
            threshold=settings.brute_threshold,
            window=settings.brute_window,
            paths=settings.brute_paths,
            max_keys=settings.max_keys,
        )
        self.dirbust = ForcedBrowsingDetector(
            threshold=settings.dirbust_threshold,
            window=settings.dirbust_window,
            max_keys=settings.max_keys,
        )
        self.bola = BolaDetector(
            threshold=settings.bola_threshold,
            window=settings.bola_window,
            max_keys=settings.max_keys,
        )
        self.detections: dict[str, int] = dict.fromkeys(ATTACK_TYPES, 0)

    def feed(self, record: RequestRecord) -> list[Detection]:
        found = []
        for detector in (self.brute, self.dirbust, self.bola):
            detection = detector.feed(record)
            if detection is not None:
                self.detections[detection.attack_type] += 1
                found.append(detection)
        return found


class AutoLister:
    """Which sources to put on an IP list after a detection (off by default).

    A source listed once is not listed again until its entry expires, so a long attack
    makes one Cloud call, not one per detection.
    """

    def __init__(self, *, list_kind: str, ttl: float, max_entries: int = 100_000) -> None:
        self.list_kind = list_kind
        self.ttl = ttl
        self.max_entries = max_entries
        self.listed: OrderedDict[str, float] = OrderedDict()

    def entries(self, detections: list[Detection], now: float) -> list[dict[str, Any]]:
        """`POST /api/v1/ip-lists` bodies for the detections' sources not listed yet."""
        if self.list_kind == "off":
            return []
        bodies = []
        for detection in detections:
            ip = detection.client_ip
            expires = self.listed.get(ip)
            if expires is not None and expires > now:
                continue
            self.listed[ip] = now + self.ttl
            self.listed.move_to_end(ip)
            while len(self.listed) > self.max_entries:
                self.listed.popitem(last=False)
            bodies.append(
                {
                    "list": self.list_kind,
                    "ip": ip,
                    "expires_at": now + self.ttl,
                    "application": None,
                    "comment": f"postanalytics: {detection.attack_type}: {detection.description}"[
                        :500
                    ],
                }
            )
        return bodies

    def forget(self, ip: str) -> None:
        """The Cloud refused the entry: allow a later detection to try again."""
        self.listed.pop(ip, None)


__all__ = [
    "ATTACK_TYPES",
    "DEFAULT_AUTH_PATHS",
    "AutoLister",
    "BehaviourEngine",
    "BehaviourSettings",
    "BolaDetector",
    "BruteForceDetector",
    "Detection",
    "ForcedBrowsingDetector",
    "synthetic_record",
]
