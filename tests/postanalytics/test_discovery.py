"""Path templates and API discovery (sans-IO)."""

from __future__ import annotations

import pytest

from wallarm_sidecar.postanalytics import Discovery, template_path
from wallarm_sidecar.postanalytics._appstructure import ReadPosition
from wallarm_sidecar.postanalytics._paths import MAX_SEGMENTS
from wallarm_sidecar.wire import RequestRecord


@pytest.mark.parametrize(
    ("path", "template", "ids"),
    [
        ("/api/users/42", "/api/users/{id}", ("42",)),
        ("/api/users/42/orders/7", "/api/users/{id}/orders/{id}", ("42", "7")),
        (
            "/docs/3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b",
            "/docs/{uuid}",
            ("3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b",),
        ),
        (
            "/blobs/9f86d081884c7d659a2feaa0c55ad015",
            "/blobs/{hash}",
            ("9f86d081884c7d659a2feaa0c55ad015",),
        ),
        ("/s/AbCdEf0123456789xyzQ", "/s/{token}", ("AbCdEf0123456789xyzQ",)),
        ("/products/blue-running-shoes", "/products/blue-running-shoes", ()),
        ("/v2/items/", "/v2/items/", ()),
        ("/", "/", ()),
        ("relative", "/relative", ()),
        ("/api/users/42?x=1", "/api/users/{id}", ("42",)),
    ],
)
def test_templates_collapse_id_segments(path: str, template: str, ids: tuple[str, ...]) -> None:
    shape = template_path(path)
    assert (shape.template, shape.ids) == (template, ids)


def test_a_hostile_path_gives_a_bounded_template() -> None:
    shape = template_path("/" + "/".join(["a" * 10_000] * 1000))
    assert shape.template.endswith("/{...}")
    assert len(shape.template) <= MAX_SEGMENTS * 129 + 10


def record(path: str, method: str = "GET", **kwargs: object) -> RequestRecord:
    values: dict[str, object] = {
        "request_id": "r",
        "time": 100.0,
        "node": "n",
        "application": "shop",
        "client_ip": "192.0.2.1",
        "method": method,
        "host": "shop.local",
        "path": path,
    }
    values.update(kwargs)
    return RequestRecord(**values)  # type: ignore[arg-type]


def test_discovery_counts_endpoints_and_parameters() -> None:
    discovery = Discovery()
    discovery.feed(record("/api/users/1", parameters=[('get_param "fields"', "string")]))
    discovery.feed(
        record("/api/users/2", time=150.0, parameters=[('get_param "fields"', "string")])
    )
    discovery.feed(record("/api/users/3", time=90.0, parameters=[("header X-TOKEN", "base64")]))
    discovery.feed(record("/api/users/3", method="DELETE"))
    report = {(item["method"], item["path"]): item for item in discovery.take()}
    users = report[("GET", "/api/users/{id}")]
    assert (users["count"], users["first_seen"], users["last_seen"]) == (3, 90.0, 150.0)
    assert [(p["point"], p["type"], p["count"]) for p in users["parameters"]] == [
        ('get_param "fields"', "string", 2),
        ("header X-TOKEN", "base64", 1),
    ]
    assert report[("DELETE", "/api/users/{id}")]["count"] == 1
    assert discovery.take() == []  # taken: starts afresh


def test_a_report_restored_after_a_failure_merges_with_what_came_next() -> None:
    discovery = Discovery()
    discovery.feed(record("/a", parameters=[("p", "integer")]))
    report = discovery.take()
    discovery.feed(record("/a", time=200.0, parameters=[("p", "integer")]))
    discovery.restore(report)
    merged = discovery.take()
    assert len(merged) == 1
    assert (merged[0]["count"], merged[0]["first_seen"], merged[0]["last_seen"]) == (
        2,
        100.0,
        200.0,
    )
    assert merged[0]["parameters"][0]["count"] == 2


def test_discovery_is_bounded() -> None:
    discovery = Discovery(max_endpoints=10, max_parameters=3)
    for i in range(100):
        discovery.feed(record(f"/page-{chr(97 + i % 26)}{chr(97 + i // 26)}"))
    discovery.feed(record("/page-aa", parameters=[(f"p{i}", "string") for i in range(10)]))
    assert len(discovery.endpoints) == 10
    assert max(len(e.parameters) for e in discovery.endpoints.values()) == 3
    assert discovery.overflow == 90 + 7


def test_the_read_position_starts_at_the_oldest_record_and_restarts_with_wstore() -> None:
    position = ReadPosition()
    position.start(first_seq=50, instance="a")
    assert position.cursor == 49
    assert position.advance(60, 0, "a") and position.cursor == 60
    assert position.advance(70, 5, "a") and position.missed == 5
    assert not position.advance(3, 0, "b")
    assert position.cursor is None and position.restarts == 1
