"""Waits between retries: exponential growth with full jitter, so that many nodes that
lost the Cloud at the same moment do not all come back at the same moment."""

from __future__ import annotations

import random
from collections.abc import Iterator


def backoff_delays(base: float, cap: float, rng: random.Random) -> Iterator[float]:
    """Endless delays: the n-th is uniform in [0, min(cap, base * 2**n)]."""
    if base <= 0 or cap <= 0:
        raise ValueError("base and cap must be positive")
    ceiling = min(base, cap)
    while True:
        yield rng.uniform(0.0, ceiling)
        ceiling = min(cap, ceiling * 2.0)


__all__ = ["backoff_delays"]
