"""The Cloud's /api/v1/api-inventory: merge, filters, pages, authorisation, bounds."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.cloud._postgres import PostgresServer
from wallarm_sidecar.cloud import Database, _inventory, bootstrap_admin, create_app, database_url
from wallarm_sidecar.cloud._models import ApiEndpoint, ApiParameter

ADMIN = "wsk_admin-token-for-the-inventory-tests"
URL = "/api/v1/api-inventory"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url, server, name = database_url(tmp_path, None), None, ""
    else:
        server = request.getfixturevalue("postgres")
        name = server.create_database()
        url = server.url(name)
    database = Database(url)
    try:
        database.migrate()
        bootstrap_admin(database, ADMIN, io.StringIO())
        yield database
    finally:
        database.dispose()
        if server is not None:
            server.drop_database(name)


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(database)) as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def endpoint(path: str = "/api/users/{id}", **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "application": "shop",
        "host": "shop.local",
        "method": "GET",
        "path": path,
        "count": 3,
        "first_seen": 100.0,
        "last_seen": 200.0,
        "parameters": [
            {
                "point": 'get_param "q"',
                "type": "string",
                "count": 2,
                "first_seen": 100.0,
                "last_seen": 150.0,
            }
        ],
    }
    item.update(changes)
    return item


def token(client: TestClient, usage: str) -> str:
    answer = client.post(
        URL.replace("api-inventory", "tokens"), json={"usage": usage}, headers=auth(ADMIN)
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def node_credential(client: TestClient) -> str:
    answer = client.post(
        "/api/v1/nodes/register", json={"name": "postanalytics-0"}, headers=auth(ADMIN)
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["node_credential"])


def test_observations_merge_counts_add_and_times_widen(client: TestClient) -> None:
    node = node_credential(client)
    first = client.post(URL, json={"endpoints": [endpoint()]}, headers=auth(node))
    assert first.status_code == 200, first.text
    assert first.json() == {"created": 1, "updated": 0, "ignored": 0}
    later = endpoint(count=5, first_seen=50.0, last_seen=300.0)
    later["parameters"].append(
        {
            "point": "header COOKIE",
            "type": "string",
            "count": 1,
            "first_seen": 60.0,
            "last_seen": 60.0,
        }
    )
    later["parameters"][0] |= {"count": 4, "last_seen": 120.0}
    second = client.post(URL, json={"endpoints": [later]}, headers=auth(node))
    assert second.json() == {"created": 0, "updated": 1, "ignored": 0}
    items = client.get(URL, headers=auth(ADMIN)).json()["items"]
    assert len(items) == 1
    item = items[0]
    assert (item["count"], item["first_seen"], item["last_seen"]) == (8, 50.0, 300.0)
    parameters = {p["point"]: p for p in item["parameters"]}
    assert parameters['get_param "q"']["count"] == 6
    assert parameters['get_param "q"']["last_seen"] == 150.0  # max, not the latest report
    assert parameters["header COOKIE"]["count"] == 1


def test_the_same_endpoint_twice_in_one_body_is_one_row(client: TestClient) -> None:
    answer = client.post(
        URL, json={"endpoints": [endpoint(), endpoint(method="get")]}, headers=auth(ADMIN)
    )
    assert answer.json() == {"created": 1, "updated": 0, "ignored": 0}
    item = client.get(URL, headers=auth(ADMIN)).json()["items"][0]
    assert item["method"] == "GET" and item["count"] == 6
    assert item["parameters"][0]["count"] == 4


def test_filters_and_pages(client: TestClient) -> None:
    body = {
        "endpoints": [
            endpoint("/api/users/{id}"),
            endpoint("/api/users/{id}", method="DELETE"),
            endpoint("/api/orders"),
            endpoint("/health", application="other"),
            endpoint("/api_x"),
        ]
    }
    assert client.post(URL, json=body, headers=auth(ADMIN)).json()["created"] == 5
    reader = token(client, "read-only")

    def paths(**query: Any) -> list[tuple[str, str]]:
        answer = client.get(URL, params=query, headers=auth(reader))
        assert answer.status_code == 200, answer.text
        return [(item["method"], item["path"]) for item in answer.json()["items"]]

    assert paths(method="delete") == [("DELETE", "/api/users/{id}")]
    # `_` in the prefix is a character, not a LIKE wildcard.
    assert paths(path_prefix="/api_") == [("GET", "/api_x")]
    assert paths(path_prefix="/api/") == [
        ("GET", "/api/orders"),
        ("DELETE", "/api/users/{id}"),
        ("GET", "/api/users/{id}"),
    ]
    assert paths(application="other") == [("GET", "/health")]
    first = client.get(URL, params={"limit": 2}, headers=auth(reader)).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    rest = client.get(URL, params={"limit": 2, "offset": 4}, headers=auth(reader)).json()
    assert len(rest["items"]) == 1 and rest["next_offset"] is None


def test_who_may_post_and_read(client: TestClient) -> None:
    body = {"endpoints": [endpoint()]}
    assert client.post(URL, json=body).status_code == 401
    assert client.get(URL).status_code == 401
    reader = token(client, "read-only")
    node_token = client.post(
        "/api/v1/tokens", json={"usage": "node", "group": "g"}, headers=auth(ADMIN)
    ).json()["token"]
    node = node_credential(client)
    assert client.post(URL, json=body, headers=auth(reader)).status_code == 403
    assert client.post(URL, json=body, headers=auth(node_token)).status_code == 403
    assert client.get(URL, headers=auth(node)).status_code == 403
    assert client.post(URL, json=body, headers=auth(node)).status_code == 200
    assert client.get(URL, headers=auth(reader)).status_code == 200
    assert "/api/v1/api-inventory" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    "bad",
    [
        {"path": "no-slash"},
        {"method": "GE T"},
        {"count": -1},
        {"first_seen": "soon"},
        {"path": "/" + "a" * 1024},
        {"unknown": 1},
    ],
)
def test_bad_observations_are_422_naming_the_field(client: TestClient, bad: dict[str, Any]) -> None:
    answer = client.post(URL, json={"endpoints": [endpoint(**bad)]}, headers=auth(ADMIN))
    assert answer.status_code == 422
    assert answer.json()["message"].startswith("endpoints.0.")


def test_bounds_ignore_what_does_not_fit(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_inventory, "MAX_ENDPOINTS", 2)
    monkeypatch.setattr(_inventory, "MAX_PARAMETERS", 1)
    many = [endpoint(f"/p{i}") for i in range(3)]
    many[0]["parameters"].append(
        {"point": "header X", "type": "string", "count": 1, "first_seen": 1.0, "last_seen": 1.0}
    )
    answer = client.post(URL, json={"endpoints": many}, headers=auth(ADMIN)).json()
    assert answer == {"created": 2, "updated": 0, "ignored": 2}
    items = client.get(URL, headers=auth(ADMIN)).json()["items"]
    assert [item["path"] for item in items] == ["/p0", "/p1"]
    assert [len(item["parameters"]) for item in items] == [1, 1]


def test_a_writer_that_loses_the_insert_race_merges_into_the_winner(
    postgres: PostgresServer,
) -> None:
    """PostgreSQL: B looks the endpoint up while A's insert is not committed, inserts
    too and waits on the unique key; when A commits, B's insert fails and B merges into
    A's row: counts add up, nothing is lost or doubled."""
    name = postgres.create_database()
    database = Database(postgres.url(name))
    try:
        database.migrate()
        body = [_inventory.EndpointIn.model_validate(endpoint())]
        errors: list[BaseException] = []

        def writer_b() -> None:
            try:
                with database.write() as session:
                    _inventory._merge(session, body)
            except BaseException as error:  # reported by the assertion below
                errors.append(error)

        with database.write() as session:
            _inventory._merge(session, body)
            b = threading.Thread(target=writer_b)
            b.start()
            deadline = time.monotonic() + 30
            with database.engine.connect() as watcher:
                query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                while not watcher.execute(query).scalar():
                    assert time.monotonic() < deadline, "writer B never waited on A's insert"
                    watcher.rollback()
                    time.sleep(0.01)
        b.join(30)
        assert errors == []
        with database.read() as session:
            assert [e.count for e in session.scalars(select(ApiEndpoint))] == [6]
            assert [p.count for p in session.scalars(select(ApiParameter))] == [4]
    finally:
        database.dispose()
        postgres.drop_database(name)
