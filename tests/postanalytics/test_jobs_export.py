"""jobs and appstructure as real processes against a real wstore and a real Cloud.

Budget: about 50 s on 2 cores (each test starts wstore, the Cloud and jobs).
"""

from __future__ import annotations

import json
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postanalytics._stack import (
    ADMIN,
    BadCloud,
    Processes,
    cloud_hits,
    get_json,
    record,
    send,
    start_cloud,
    start_jobs,
    start_wstore,
    wait_until,
)
from tests.support import free_port
from wallarm_sidecar.cloudlink import CloudClient, CloudEndpoint, save_registration


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    running = Processes(logs=tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


def health(port: int) -> dict[str, object]:
    result: dict[str, object] = get_json(f"http://127.0.0.1:{port}/health")
    return result


def exported(port: int) -> dict[str, int]:
    return health(port)["export"]  # type: ignore[return-value]


def test_every_hit_reaches_the_cloud_once_and_the_cursor_follows(
    processes: Processes, tmp_path: Path
) -> None:
    wstore = start_wstore(processes)
    cloud = start_cloud(processes, tmp_path / "cloud")
    send(wstore.port, [record(i, hits=2 if i % 3 == 0 else 1) for i in range(1, 301)])
    send(wstore.port, [record(i, hits=0) for i in range(301, 351)], session="no-hits")
    jobs = start_jobs(processes, wstore, cloud, tmp_path / "node", "--page-size", "64")
    wait_until(lambda: wstore.cursor["export_cursor"] == 350, 30, "the cursor at 350")
    hits = cloud_hits(cloud)
    expected = {
        (f"r-{i}", f'get_param "q{n}"')
        for i in range(1, 301)
        for n in range(2 if i % 3 == 0 else 1)
    }
    assert set(hits) == expected
    assert max(hits.values()) == 1
    counters = exported(jobs)
    assert counters["hits_stored"] == len(expected) and counters["hits_duplicate"] == 0
    assert counters["records_read"] == 350 and counters["records_with_hits"] == 300
    # jobs registered itself (no `register` init container here) and saved the file
    registration = json.loads((tmp_path / "node" / "node-registration.json").read_text())
    assert registration["name"] == "postanalytics-0"
    assert registration["node_credential"].startswith("wsn_")
    # records arriving later follow
    send(wstore.port, [record(i) for i in range(351, 361)], session="later")
    wait_until(lambda: wstore.cursor["export_cursor"] == 360, 20, "the cursor at 360")
    assert len(cloud_hits(cloud)) == len(expected) + 10
    process = processes.running[-1]
    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    assert f"stopped: {len(expected) + 10} hits stored" in processes.log("jobs")


def test_a_bad_cloud_loses_and_doubles_nothing(processes: Processes, tmp_path: Path) -> None:
    wstore = start_wstore(processes)
    cloud = start_cloud(processes, tmp_path / "cloud")
    plan = [
        "500",
        "lost-ack",
        "stall",
        "ok",
        "reset",
        "duplicate",
        "stall-before",
        "500",
        "double-answer",
        "short-answer",
        "lost-ack",
        "double-answer",
        "duplicate",
    ]
    bad = BadCloud(cloud, wstore, plan)
    send(wstore.port, [record(i) for i in range(1, 201)])
    jobs = start_jobs(processes, wstore, bad.url, tmp_path / "node", "--page-size", "25")
    # an outage in the middle: connections refused for a while
    wait_until(lambda: len(bad.modes) >= 4, 30, "four posts")
    bad.stop()
    wait_until(lambda: "refused" in str(health(jobs)["last_error"]), 10, "refused connections")
    cursor_during_outage = wstore.cursor["export_cursor"]
    assert cursor_during_outage < 200
    bad.start()
    wait_until(lambda: wstore.cursor["export_cursor"] == 200, 60, "the cursor at 200")
    hits = cloud_hits(cloud)
    assert set(hits) == {(f"r-{i}", 'get_param "q0"') for i in range(1, 201)}
    assert max(hits.values()) == 1
    assert bad.violations == []
    assert set(plan) <= set(bad.modes)
    counters = exported(jobs)
    # resends after lost acknowledgements were answered as duplicates, not stored twice
    assert counters["hits_duplicate"] >= 25
    assert counters["post_failures"] >= 6


def test_a_killed_jobs_process_resumes_where_it_stopped(
    processes: Processes, tmp_path: Path
) -> None:
    wstore = start_wstore(processes)
    cloud = start_cloud(processes, tmp_path / "cloud")
    bad = BadCloud(cloud, wstore, ["ok", "hold"])
    send(wstore.port, [record(i) for i in range(1, 101)])
    start_jobs(processes, wstore, bad.url, tmp_path / "node", "--page-size", "20")
    assert bad.held.wait(30), "the second batch never arrived"
    # The Cloud stored the second page; jobs never heard back. Kill it hard.
    first = processes.running[-1]
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert wstore.cursor["export_cursor"] == 20  # only the acknowledged page
    assert len(cloud_hits(cloud)) == 40
    bad.release.set()
    jobs = start_jobs(processes, wstore, bad.url, tmp_path / "node", "--page-size", "20")
    wait_until(lambda: wstore.cursor["export_cursor"] == 100, 30, "the cursor at 100")
    hits = cloud_hits(cloud)
    assert set(hits) == {(f"r-{i}", 'get_param "q0"') for i in range(1, 101)}
    assert max(hits.values()) == 1
    counters = exported(jobs)
    assert counters["hits_duplicate"] == 20 and counters["hits_stored"] == 60
    # the restarted process used the saved registration, it did not register again
    assert "registered as" not in processes.log("jobs").split("jobs exporting")[-1]


def test_behavioural_detections_reach_the_cloud_as_attacks(
    processes: Processes, tmp_path: Path
) -> None:
    wstore = start_wstore(processes)
    cloud = start_cloud(processes, tmp_path / "cloud")
    records = [
        record(i, hits=0, path="/login", method="POST", status=401, client_ip="192.0.2.66")
        for i in range(1, 13)
    ]
    records += [
        record(i, hits=0, path=f"/secret-{i}", status=404, client_ip="192.0.2.77")
        for i in range(13, 25)
    ]
    records += [
        record(i, hits=0, path=f"/api/users/{i}", client_ip="192.0.2.88") for i in range(25, 37)
    ]
    send(wstore.port, records)
    args = ["--brute-threshold", "5", "--dirbust-threshold", "5", "--bola-threshold", "5"]
    args += ["--auto-list", "gray", "--auto-list-ttl", "10m"]
    start_jobs(processes, wstore, cloud, tmp_path / "node", *args)
    wait_until(lambda: wstore.cursor["export_cursor"] == 36, 30, "the cursor at 36")
    attacks = get_json(f"{cloud}/api/v1/attacks", ADMIN)["items"]
    seen = sorted((a["attack_type"], a["client_ip"], a["path"], a["hits"]) for a in attacks)
    assert seen == [
        ("bola", "192.0.2.88", "/api/users/{id}", 2),
        ("brute", "192.0.2.66", "/login", 2),
        ("dirbust", "192.0.2.77", "/", 2),
    ]
    # --auto-list gray: each source graylisted once, for ten minutes
    wait_until(
        lambda: len(get_json(f"{cloud}/api/v1/ip-lists", ADMIN)["items"]) == 3, 10, "3 entries"
    )
    entries = get_json(f"{cloud}/api/v1/ip-lists", ADMIN)["items"]
    assert sorted((e["list"], e["ip"]) for e in entries) == [
        ("gray", "192.0.2.66/32"),
        ("gray", "192.0.2.77/32"),
        ("gray", "192.0.2.88/32"),
    ]
    assert all(500 < e["expires_at"] - e["created_at"] <= 600 for e in entries)


def test_appstructure_reports_the_api_inventory_without_moving_the_cursor(
    processes: Processes, tmp_path: Path
) -> None:
    wstore = start_wstore(processes)
    cloud = start_cloud(processes, tmp_path / "cloud")
    node_dir = tmp_path / "node"
    # What the `register` init container leaves in the shared volume.
    endpoint = CloudEndpoint(
        host="127.0.0.1", port=int(cloud.rsplit(":", 1)[1]), use_ssl=False, ca_verify=False
    )
    with CloudClient(endpoint, ADMIN) as client:
        save_registration(node_dir, client.register("postanalytics-0"))
    records = [record(i, hits=0, path=f"/api/users/{i}") for i in range(1, 41)]
    records += [
        record(i, hits=0, path="/api/orders", method="POST", parameters=[('post "items"', "array")])
        for i in range(41, 51)
    ]
    send(wstore.port, records)
    health_port = free_port()
    processes.start(
        "appstructure",
        [
            "postanalytics",
            "appstructure",
            "--wstore-export",
            f"127.0.0.1:{wstore.export_port}",
            "--health-listen",
            f"127.0.0.1:{health_port}",
            "--node-dir",
            str(node_dir),
            "--report-interval",
            "0.3s",
            "--read-interval",
            "0.1s",
        ],
        {
            "WALLARM_API_HOST": "127.0.0.1",
            "WALLARM_API_PORT": cloud.rsplit(":", 1)[1],
            "WALLARM_API_USE_SSL": "false",
        },
    )

    def inventory() -> dict[tuple[str, str], dict[str, object]]:
        items = get_json(f"{cloud}/api/v1/api-inventory", ADMIN)["items"]
        return {(item["method"], item["path"]): item for item in items}

    wait_until(lambda: len(inventory()) == 2, 30, "two endpoints in the inventory")
    found = inventory()
    users = found[("GET", "/api/users/{id}")]
    assert users["count"] == 40 and users["application"] == "shop"
    assert [(p["point"], p["type"], p["count"]) for p in users["parameters"]] == [  # type: ignore[attr-defined]
        ('get_param "q"', "string", 40)
    ]
    orders = found[("POST", "/api/orders")]
    assert [p["point"] for p in orders["parameters"]] == ['post "items"']  # type: ignore[attr-defined]
    # later records add up in the Cloud
    send(wstore.port, [record(i, hits=0, path="/api/users/7") for i in range(51, 56)], "more")
    wait_until(lambda: inventory()[("GET", "/api/users/{id}")]["count"] == 45, 30, "45 reads")
    # appstructure reads with its own position: the export cursor is jobs' alone
    assert wstore.cursor["export_cursor"] == 0


def test_a_revoked_node_credential_is_replaced_by_registering_again(
    processes: Processes, tmp_path: Path
) -> None:
    wstore = start_wstore(processes)
    cloud = start_cloud(processes, tmp_path / "cloud")
    send(wstore.port, [record(i) for i in range(1, 11)])
    start_jobs(processes, wstore, cloud, tmp_path / "node")
    wait_until(lambda: wstore.cursor["export_cursor"] == 10, 30, "the cursor at 10")
    saved = tmp_path / "node" / "node-registration.json"
    before = json.loads(saved.read_text())["node_credential"]
    node_id = json.loads(saved.read_text())["node_id"]
    request = urllib.request.Request(
        f"{cloud}/api/v1/nodes/{node_id}/revoke",
        method="POST",
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    urllib.request.urlopen(request, timeout=5).close()
    send(wstore.port, [record(i) for i in range(11, 21)], session="after-revoke")
    wait_until(lambda: wstore.cursor["export_cursor"] == 20, 30, "the cursor at 20")
    assert json.loads(saved.read_text())["node_credential"] != before
    hits = cloud_hits(cloud)
    assert len(hits) == 20 and max(hits.values()) == 1


def test_a_restarted_wstore_is_read_from_its_own_beginning(
    processes: Processes, tmp_path: Path
) -> None:
    wstore = start_wstore(processes)
    cloud = start_cloud(processes, tmp_path / "cloud")
    send(wstore.port, [record(i) for i in range(1, 31)])
    jobs = start_jobs(processes, wstore, cloud, tmp_path / "node", "--page-size", "10")
    wait_until(lambda: wstore.cursor["export_cursor"] == 30, 30, "the cursor at 30")
    old = processes.running[0]
    old.send_signal(signal.SIGKILL)
    old.wait(10)
    wait_until(lambda: exported(jobs)["read_failures"] > 0, 10, "jobs noticing")
    # The new wstore numbers its records from 1 again, with an empty store.
    start_wstore(processes, ports=wstore)
    send(wstore.port, [record(i, request_id=f"s-{i}") for i in range(1, 6)], "after")
    wait_until(lambda: wstore.cursor["export_cursor"] == 5, 30, "the new cursor at 5")
    hits = cloud_hits(cloud)
    assert {rid for rid, _ in hits} == {f"r-{i}" for i in range(1, 31)} | {
        f"s-{i}" for i in range(1, 6)
    }
    assert max(hits.values()) == 1
