"""Detection engine: pure functions from a request to a verdict (no I/O, no asyncio)."""

from wallarm_sidecar.detect._engine import DetectionEngine
from wallarm_sidecar.detect._model import (
    CLEAN,
    PARSER_NAMES,
    AttackHit,
    InspectedRequest,
    Verdict,
)

__all__ = [
    "CLEAN",
    "PARSER_NAMES",
    "AttackHit",
    "DetectionEngine",
    "InspectedRequest",
    "Verdict",
]
