"""The narrow interface between the proxy and the detection engine.

The proxy builds an `InspectedRequest` from what it parsed, calls
`DetectionEngine.inspect`, and acts on the `Verdict`. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

#: Parser names accepted by `wallarm-parser-disable` / `WALLARM_PARSER_DISABLE`.
PARSER_NAMES: frozenset[str] = frozenset(
    {"cookie", "zlib", "htmljs", "json", "multipart", "base64", "percent", "urlenc", "xml", "jwt"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class InspectedRequest:
    """A request as the proxy received it, decoded only as far as framing needs.

    `target`, header names and values are latin-1 decoded (lossless for bytes);
    header names are lower-case; `body` holds at most the inspection limit.
    """

    method: str
    target: str
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    body_truncated: bool = False
    client_ip: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AttackHit:
    """One detected attack at one request point."""

    attack_type: str
    point: str
    fragment: str
    rule_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The engine's answer: hits (empty when clean) and the parameters it saw.

    `parameters` are (point, value type) pairs for API discovery; the engine fills
    them only when asked to (`collect_parameters=True`).
    """

    hits: tuple[AttackHit, ...] = ()
    parameters: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_attack(self) -> bool:
        return bool(self.hits)


CLEAN = Verdict()
