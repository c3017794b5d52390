"""The benign corpus (tests/data/benign, written by bench/gen_benign.py) must pass the
engine untouched: every request it flags is a false positive, and a false positive is a bug.

Each failure line names the corpus file and line, what the request is, and the hits, so
``PYTHONPATH=src python bench/detection.py --no-modsec --show-misses benign`` is the place
to look at the whole request.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # after the installed packages: bench modules shadow nothing
benign_corpus = importlib.import_module("_benign_corpus")
crs = importlib.import_module("_crs_corpus")
detection = importlib.import_module("detection")


@pytest.fixture(scope="module")
def requests() -> list:
    return benign_corpus.load_benign()


def test_corpus_is_large_and_well_formed(requests: list) -> None:
    assert len(requests) >= 1500
    rejected = [r.source for r in requests if crs.frame(r.raw).outcome != crs.FRAMED]
    assert not rejected, f"corpus requests the HTTP parser refuses: {rejected}"


def test_engine_passes_every_benign_request(requests: list) -> None:
    from wallarm_sidecar.detect import DetectionEngine

    engine = DetectionEngine()
    false_positives = []
    for request in requests:
        outcome = detection.inspect_raw(engine, request.raw)
        if outcome.blocked or outcome.why:
            hits = "; ".join(
                f"{kind} at {point}: {fragment[:80]!r}" for kind, point, fragment in outcome.hits
            )
            false_positives.append(f"{request.source} ({request.note}): {outcome.why} {hits}")
    assert not false_positives, (
        f"{len(false_positives)} false positives in {len(requests)} benign requests:\n"
        + "\n".join(false_positives)
    )
