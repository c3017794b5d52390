"""Golden files: one input pod per feature, the expected patched pod beside it.

Regenerate with `UPDATE_GOLDEN=1 python -m pytest tests/injector/test_golden.py`, then
read the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.injector.helpers import run

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(path.name.removesuffix(".in.yaml") for path in GOLDEN.glob("*.in.yaml"))


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_golden(case: str) -> None:
    given = yaml.safe_load((GOLDEN / f"{case}.in.yaml").read_text())
    result = run(given["pod"], given.get("config"), given["namespace"])
    assert result.decision == "injected", result.message
    actual = {"warnings": list(result.warnings), "pod": result.pod}
    expected_file = GOLDEN / f"{case}.out.yaml"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_file.write_text(
            f"# Generated from {case}.in.yaml by UPDATE_GOLDEN=1; review diffs by hand.\n"
            + yaml.safe_dump(actual, sort_keys=False, width=100)
        )
    assert actual == yaml.safe_load(expected_file.read_text())


def test_every_golden_has_an_expected_file() -> None:
    outputs = sorted(path.name.removesuffix(".out.yaml") for path in GOLDEN.glob("*.out.yaml"))
    assert outputs == CASES


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_golden_pods_are_valid_for_the_oldest_supported_kubernetes(case: str) -> None:
    """DESIGN §4 supports Kubernetes >= 1.25; native sidecars need 1.29 (restartPolicy)."""
    pod = yaml.safe_load((GOLDEN / f"{case}.out.yaml").read_text())["pod"]
    version = "1.29.0" if "native" in case else "1.25.0"
    assert kubernetes_validate.validate(pod, version, strict=True) == version.rsplit(".", 1)[0]
