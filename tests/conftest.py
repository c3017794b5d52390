"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.cloud._postgres import PostgresServer, PostgresUnavailable, start_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole session (tests/cloud/_postgres.py),
    stopped and removed at its end; each user makes its own database on it."""
    try:
        server = start_postgres()
    except PostgresUnavailable as error:
        if os.environ.get("CI"):  # CI installs PostgreSQL: never skip there
            pytest.fail(str(error))
        pytest.skip(str(error))
    try:
        yield server
    finally:
        server.stop()
