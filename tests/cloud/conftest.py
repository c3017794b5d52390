"""A Cloud over a fresh database per test (SQLite and PostgreSQL), through FastAPI's TestClient.

Every test that takes `cloud` or `db_url` runs twice: `[sqlite]` on a file in its
tmp_path, `[postgresql]` on a new database of one throwaway PostgreSQL server started
for the session (tests/cloud/_postgres.py). Without PostgreSQL those runs skip, except
under CI=true, where they fail.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from tests.cloud._postgres import PostgresServer
from wallarm_sidecar.cloud import Database, bootstrap_admin, create_app, database_url

ADMIN = "wsk_admin-token-for-the-cloud-tests"


@dataclass
class Cloud:
    client: TestClient
    database: Database
    admin: str

    def dump(self) -> str:
        """Every row of every table as text (SQLite's iterdump, portable)."""
        lines = []
        with self.database.engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                    lines.append(f"{table}: {tuple(row)!r}")
        return "\n".join(lines)

    def as_(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def post(self, path: str, token: str | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, headers=self.as_(token or self.admin), **kwargs)

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.as_(token or self.admin), **kwargs)

    def token(self, usage: str, group: str | None = None) -> str:
        body: dict[str, Any] = {"usage": usage}
        if group:
            body["group"] = group
        response = self.post("/api/v1/tokens", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["token"])

    def node(self, name: str = "pod-1", group: str = "defaultSidecarGroup") -> str:
        response = self.post("/api/v1/nodes/register", json={"name": name, "group": group})
        assert response.status_code == 200, response.text
        return str(response.json()["node_credential"])


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL: a SQLite file, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        yield database_url(tmp_path, None)
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture
def cloud(db_url: str) -> Iterator[Cloud]:
    database = Database(db_url)
    database.migrate()
    bootstrap_admin(database, ADMIN, io.StringIO())
    with TestClient(create_app(database)) as client:
        yield Cloud(client=client, database=database, admin=ADMIN)
    database.dispose()
