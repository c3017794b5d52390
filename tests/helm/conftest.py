"""Fixtures of the chart tests: the real helm binaries (Helm 3 and Helm 4) and a renderer."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm._helm import RELEASES, helm_binary

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "wallarm-sidecar"
VALUES = Path(__file__).resolve().parent / "values"
TOKEN = "ORG-API-TOKEN-for-tests-0123456789"


class Helm:
    """One helm binary with its own config, cache and data directories."""

    def __init__(self, binary: Path, major: int, home: Path) -> None:
        self.binary = binary
        self.major = major
        self.env = {
            **os.environ,
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }
        self._renders: dict[tuple[str, ...], subprocess.CompletedProcess[str]] = {}

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.binary), *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=cwd,
            timeout=60,
        )

    def template_process(
        self,
        *,
        values: tuple[str, ...] = (),
        sets: tuple[str, ...] = (),
        release: str = "wallarm-sidecar",
        namespace: str = "wallarm-sidecar",
        chart: str = str(CHART),
        extra: tuple[str, ...] = (),
    ) -> subprocess.CompletedProcess[str]:
        args = ["template", release, chart, "--namespace", namespace, *extra]
        for name in values:
            args += ["--values", str(VALUES / name)]
        for item in sets:
            args += ["--set", item]
        key = tuple(args)
        if key not in self._renders:
            self._renders[key] = self.run(*args)
        return self._renders[key]

    def template(self, **kwargs: Any) -> str:
        result = self.template_process(**kwargs)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def objects(self, **kwargs: Any) -> list[dict[str, Any]]:
        return [doc for doc in yaml.safe_load_all(self.template(**kwargs)) if doc]


@pytest.fixture(scope="session", params=sorted(RELEASES), ids=lambda major: f"helm{major}")
def helm(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Helm]:
    """The real helm binary (fetched and verified on first use; a failure is an error)."""
    major: int = request.param
    binary = helm_binary(major)
    yield Helm(binary, major, tmp_path_factory.mktemp(f"helm{major}-home"))
