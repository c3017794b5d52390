from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.certgen.apiserver import StandInApiServer, start


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[StandInApiServer]:
    api, stop = start(tmp_path)
    try:
        yield api
    finally:
        stop()
