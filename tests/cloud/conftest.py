"""A Cloud over a fresh SQLite file per test, driven through FastAPI's TestClient."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from wallarm_sidecar.cloud import Database, bootstrap_admin, create_app, database_url

ADMIN = "wsk_admin-token-for-the-cloud-tests"


@dataclass
class Cloud:
    client: TestClient
    database: Database
    admin: str

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


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    database = Database(database_url(tmp_path, None))
    database.migrate()
    bootstrap_admin(database, ADMIN, io.StringIO())
    with TestClient(create_app(database)) as client:
        yield Cloud(client=client, database=database, admin=ADMIN)
    database.dispose()
