"""bench/cloud.py on a tiny scale: it seeds, ingests, queries and checks itself on both databases."""

from __future__ import annotations

import importlib
import os
import random
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # after the installed packages: bench modules shadow nothing
bench = importlib.import_module("cloud")  # it puts the repository on sys.path
postgres_tools = importlib.import_module("tests.cloud._postgres")


def test_seeded_attacks_add_up_to_the_hits() -> None:
    attacks = bench.plan_attacks(10_007, random.Random(1))
    assert sum(a.row[9] for a in attacks) == 10_007 == sum(len(a.times) for a in attacks)
    assert len(attacks) == 10_007 // bench.HITS_PER_ATTACK
    sizes = sorted((a.row[9] for a in attacks), reverse=True)
    assert sizes[0] > 5 * sizes[len(sizes) // 2]  # skewed: a few large attacks, many small
    for attack in attacks:
        assert attack.row[7] == attack.times[0] and attack.row[8] == attack.times[-1]
        gaps = [b - a for a, b in zip(attack.times, attack.times[1:], strict=False)]
        assert all(0 <= gap <= 60 for gap in gaps)  # one attack by the Cloud's own rule


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_tiny_run_prints_the_table(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    if database == "postgresql":
        try:
            postgres_tools.server_binaries()
        except (
            postgres_tools.PostgresUnavailable
        ) as error:  # the Cloud tests' rule: never skip under CI
            if os.environ.get("CI"):
                pytest.fail(str(error))
            pytest.skip(str(error))
    args = ["--hits", "3000", "--database", database, "--clients", "2", "--batches", "2"]
    assert bench.main([*args, "--records", "20", "--queries", "3"]) == 0
    out = capsys.readouterr().out
    assert f"| {database} | 3,000 | 150 |" in out
    for label in bench.FILTERS:
        assert f"| {label} | " in out
