"""The README's first command runs this script: it must keep working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_proxy_demo_detects_the_documented_attack_in_both_modes() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "proxy_demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "detected: ptrav at uri fragment '/etc/passwd' blocked=False" in result.stdout
    assert "detected: ptrav at uri fragment '/etc/passwd' blocked=True" in result.stdout
    assert "GET /etc/passwd      -> 403" in result.stdout
