"""Request records and hits: what a proxy tells postanalytics about each request.

Records travel as msgpack arrays (positional, compact); `RECORD_FIELDS` fixes the
order. A reader accepts longer arrays (fields added by a newer sender) and ignores
the extra positions, so senders can add fields at the end without a version bump.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack

HIT_FIELDS = ("attack_type", "point", "fragment", "rule_id", "blocked")
RECORD_FIELDS = (
    "request_id",
    "time",
    "node",
    "application",
    "client_ip",
    "method",
    "host",
    "path",
    "parameters",
    "status",
    "duration_ms",
    "bytes_in",
    "bytes_out",
    "blocked",
    "mode",
    "hits",
)


@dataclass(slots=True, kw_only=True)
class HitRecord:
    attack_type: str
    point: str
    fragment: str
    rule_id: str
    blocked: bool


@dataclass(slots=True, kw_only=True)
class RequestRecord:
    request_id: str
    time: float
    node: str
    application: str
    client_ip: str
    method: str
    host: str
    path: str
    parameters: list[tuple[str, str]] = field(default_factory=list)
    status: int = 0
    duration_ms: float = 0.0
    bytes_in: int = 0
    bytes_out: int = 0
    blocked: bool = False
    mode: str = ""
    hits: list[HitRecord] = field(default_factory=list)

    def to_wire(self) -> list[Any]:
        return [
            self.request_id,
            self.time,
            self.node,
            self.application,
            self.client_ip,
            self.method,
            self.host,
            self.path,
            [list(p) for p in self.parameters],
            self.status,
            self.duration_ms,
            self.bytes_in,
            self.bytes_out,
            self.blocked,
            self.mode,
            [[h.attack_type, h.point, h.fragment, h.rule_id, h.blocked] for h in self.hits],
        ]

    @classmethod
    def from_wire(cls, raw: Any) -> RequestRecord:
        """Validate a decoded record array; raises ValueError on a malformed one."""
        if not isinstance(raw, list) or len(raw) < len(RECORD_FIELDS):
            raise ValueError("record is not an array of the expected length")
        try:
            hits = [
                HitRecord(
                    attack_type=_text(h[0]),
                    point=_text(h[1]),
                    fragment=_text(h[2]),
                    rule_id=_text(h[3]),
                    blocked=bool(h[4]),
                )
                for h in raw[15]
            ]
            return cls(
                request_id=_text(raw[0]),
                time=float(raw[1]),
                node=_text(raw[2]),
                application=_text(raw[3]),
                client_ip=_text(raw[4]),
                method=_text(raw[5]),
                host=_text(raw[6]),
                path=_text(raw[7]),
                parameters=[(_text(p[0]), _text(p[1])) for p in raw[8]],
                status=int(raw[9]),
                duration_ms=float(raw[10]),
                bytes_in=int(raw[11]),
                bytes_out=int(raw[12]),
                blocked=bool(raw[13]),
                mode=_text(raw[14]),
                hits=hits,
            )
        except (TypeError, IndexError, KeyError) as error:
            raise ValueError(f"malformed record: {error}") from None


def pack_record(
    *,
    request_id: str,
    time: float,
    node: str,
    application: str,
    client_ip: str,
    method: str,
    host: str,
    path: str,
    parameters: Sequence[tuple[str, str]],
    status: int,
    duration_ms: float,
    bytes_in: int,
    bytes_out: int,
    blocked: bool,
    mode: str,
    hits: Sequence[tuple[str, str, str, str]],
) -> bytes:
    """One record packed for the wire, in RECORD_FIELDS order, without building a
    RequestRecord first: the proxy calls this once per request. `hits` are
    (attack type, point, fragment, rule id); each takes the record's `blocked`."""
    return _pack(
        [
            request_id,
            time,
            node,
            application,
            client_ip,
            method,
            host,
            path,
            parameters,
            status,
            duration_ms,
            bytes_in,
            bytes_out,
            blocked,
            mode,
            [(*hit, blocked) for hit in hits],
        ]
    )


_pack = msgpack.Packer(use_bin_type=True).pack


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value
