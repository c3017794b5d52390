"""bench/admission.py still runs (a short run; the real one is `python bench/admission.py`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_admission_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "admission.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "admission.py"),
            "--reviews",
            "40",
            "--warmup",
            "5",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "p99" in result.stdout, result.stderr
    report = json.loads(out.read_text())
    assert report["reviews"] == 40 and report["bar_p99_ms"] == 10.0
