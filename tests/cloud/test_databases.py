"""What must hold on SQLite and PostgreSQL alike: the schema, and hostile input stored safely.

PostgreSQL's text refuses NUL characters; a lone surrogate (JSON can carry `\\ud800`)
is no valid string; ids past the integer range overflow both databases. Each of these
was a 500 before: now NUL is stored as U+FFFD, the others are refused with a 422.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from tests.cloud.conftest import Cloud
from wallarm_sidecar.cloud import Database, create_app
from wallarm_sidecar.cloud._db import MIGRATIONS
from wallarm_sidecar.cloud._models import Base

REPLACEMENT = "\ufffd"


def test_migrations_make_the_models_schema_and_run_twice(db_url: str) -> None:
    database = Database(db_url)
    try:
        database.migrate()
        database.migrate()
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(config).get_current_head()
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_revision() == head
        constraints = inspect(database.engine).get_unique_constraints("hits")
        assert [c["column_names"] for c in constraints] == [["request_id", "point", "attack_type"]]
    finally:
        database.dispose()


def raw_post(cloud: Cloud, path: str, body: dict[str, Any]) -> Any:
    """POST with the JSON escapes kept (`\\u0000`, `\\ud800`), as a hostile client sends."""
    content = json.dumps(body, ensure_ascii=True)
    headers = {**cloud.as_(cloud.admin), "Content-Type": "application/json"}
    return cloud.client.post(path, content=content, headers=headers)


def test_nul_and_lone_surrogates_are_stored_as_replacement_characters(cloud: Cloud) -> None:
    record = {
        "request_id": "req\x00one",
        "time": 1_767_225_600.0,
        "client_ip": "198.51.100.9",
        "path": "/a\x00b",
        "hits": [{"attack_type": "sqli", "point": "uri\x00", "fragment": "' or 1=1\x00--"}],
    }
    response = raw_post(cloud, "/api/v1/hits", {"records": [record]})
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 1, "duplicates": 0}
    # The same again is a duplicate: the idempotency key survives the replacement.
    assert raw_post(cloud, "/api/v1/hits", {"records": [record]}).json()["duplicates"] == 1
    (hit,) = cloud.get("/api/v1/hits").json()["items"]
    assert hit["request_id"] == f"req{REPLACEMENT}one"
    assert hit["point"] == f"uri{REPLACEMENT}"
    assert hit["fragment"] == f"' or 1=1{REPLACEMENT}--"
    assert hit["path"] == f"/a{REPLACEMENT}b"
    # A filter with the same characters finds it; a NUL in a filter is no 500.
    found = cloud.get("/api/v1/attacks", params={"type": "sqli"}).json()["items"]
    assert [a["path"] for a in found] == [hit["path"]]
    assert cloud.get("/api/v1/hits", params={"type": "sq\x00li"}).status_code == 200

    token = raw_post(cloud, "/api/v1/tokens", {"usage": "read-only", "name": "ci\x00"})
    assert token.status_code == 201, token.text
    names = [t["name"] for t in cloud.get("/api/v1/tokens").json()["items"]]
    assert f"ci{REPLACEMENT}" in names
    entry = {"list": "deny", "ip": "203.0.113.7", "comment": "bad\x00actor"}
    added = raw_post(cloud, "/api/v1/ip-lists", entry)
    assert added.status_code == 201, added.text
    (listed,) = cloud.get("/api/v1/ip-lists").json()["items"]
    assert listed["comment"] == f"bad{REPLACEMENT}actor"


def test_lone_surrogates_are_a_422_naming_the_field(cloud: Cloud) -> None:
    record = {"request_id": "r1", "time": 1.0, "path": "/x\ud800", "hits": []}
    response = raw_post(cloud, "/api/v1/hits", {"records": [record]})
    assert response.status_code == 422
    assert "records.0.path" in response.json()["message"]
    name = raw_post(cloud, "/api/v1/tokens", {"usage": "read-only", "name": "\udfff"})
    assert name.status_code == 422 and "name" in name.json()["message"]


def test_identifiers_past_the_integer_range_are_refused_not_a_500(cloud: Cloud) -> None:
    huge = 2**70
    assert cloud.get("/api/v1/hits", params={"attack_id": huge}).status_code == 422
    assert cloud.post(f"/api/v1/tokens/{huge}/revoke").status_code == 422
    assert cloud.post(f"/api/v1/nodes/{huge}/revoke").status_code == 422
    assert (
        cloud.client.delete(f"/api/v1/ip-lists/{huge}", headers=cloud.as_(cloud.admin)).status_code
        == 422
    )
    # Within the range but unknown: 404, on both databases.
    assert cloud.post(f"/api/v1/tokens/{2**31 - 1}/revoke").status_code == 404
    assert cloud.get("/api/v1/hits", params={"attack_id": 2**31 - 1}).json()["items"] == []


def test_healthz_needs_no_token_and_tells_whether_the_database_answers(cloud: Cloud) -> None:
    response = cloud.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gone = Database(f"postgresql+pg8000://cloud:secret@127.0.0.1:{port}/cloud")
    try:
        with TestClient(create_app(gone)) as client:
            down = client.get("/healthz")
    finally:
        gone.dispose()
    assert down.status_code == 503
    assert down.json() == {"status": "database unavailable"}
