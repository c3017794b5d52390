"""`NodeJobs` in this process against a real Cloud: registration, sync, failures."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cloudlink.conftest import ADMIN, CloudProcess, eventually
from tests.cloudlink.test_client import ScriptedServer, _answer
from wallarm_sidecar.cloudlink import (
    CloudClient,
    CloudError,
    NodeJobs,
    NodeSyncSettings,
    SyncState,
    load_registration,
)
from wallarm_sidecar.injector import mint_scoped_credential


def settings_for(cloud: CloudProcess, tmp_path: Path, **values: Any) -> NodeSyncSettings:
    base: dict[str, Any] = {
        "api_host": "127.0.0.1",
        "api_port": cloud.port,
        "api_use_ssl": cloud.tls is not None,
        "api_ca_verify": False,
        "node_name": "pod-1",
        "node_dir": str(tmp_path / "wallarm"),
        "acl_dir": str(tmp_path / "wallarm-acl"),
        "sync_interval": 0.2,
        "api_timeout": 2.0,
    }
    base.update(values)
    return NodeSyncSettings.model_validate(base)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.mark.parametrize("mode", ["scoped", "node-token", "api-token-and-group"])
def test_registration_in_each_token_mode_is_saved_and_reused(
    shared_cloud: CloudProcess, tmp_path: Path, mode: str
) -> None:
    group = f"jobs-{mode}"
    credential = {
        "scoped": lambda: mint_scoped_credential(ADMIN, group, "shop", issued_at=1),
        "node-token": lambda: shared_cloud.token("node", group=group),
        "api-token-and-group": lambda: ADMIN,
    }[mode]()
    labels = "" if mode == "node-token" else f"group={group}"
    settings = settings_for(
        shared_cloud,
        tmp_path,
        api_credential=credential if mode == "scoped" else "",
        api_token="" if mode == "scoped" else credential,
        node_group=labels,
        namespace="shop",
        node_name=f"pod-{mode}",
    )
    registration = NodeJobs(settings).register(deadline=None)
    assert registration is not None and registration.group == group
    assert load_registration(Path(settings.node_dir)) == registration
    listed = shared_cloud.nodes(group)
    assert [(n["name"], n["namespace"]) for n in listed] == [(f"pod-{mode}", "shop")]
    # A restarted container finds the saved credential and does not register again.
    again = NodeJobs(settings).register(deadline=None)
    assert again == registration
    assert [n["registered_at"] for n in shared_cloud.nodes(group)] == [listed[0]["registered_at"]]
    status = read_json(Path(settings.node_dir) / "sync-status.json")
    assert status["state"] == "registered" and status["node_id"] == registration.node_id


def test_a_saved_registration_of_another_pod_is_replaced(
    shared_cloud: CloudProcess, tmp_path: Path
) -> None:
    first = settings_for(shared_cloud, tmp_path, api_token=ADMIN, node_name="old-pod")
    old = NodeJobs(first).register(deadline=None)
    second = settings_for(shared_cloud, tmp_path, api_token=ADMIN, node_name="new-pod")
    new = NodeJobs(second).register(deadline=None)
    assert old is not None and new is not None and new.name == "new-pod"
    assert new.node_id != old.node_id


def test_sync_writes_the_files_atomically_and_only_when_they_change(
    shared_cloud: CloudProcess, tmp_path: Path
) -> None:
    settings = settings_for(
        shared_cloud, tmp_path, api_token=ADMIN, node_group="group=sync-files", node_name="s-pod"
    )
    jobs = NodeJobs(settings)
    registration = jobs.register(deadline=None)
    assert registration is not None
    shared_cloud.set_rules({"node_group": "sync-files", "mode": "safe_blocking"})
    node_config = Path(settings.node_dir) / "node-config.json"
    ip_lists = Path(settings.acl_dir) / "ip-lists.json"
    with CloudClient(settings.endpoint, registration.node_credential) as client:
        assert jobs.sync_once(client) is True
        assert read_json(node_config)["mode"] == "safe_blocking"
        assert "entries" in read_json(ip_lists)
        stamps = (node_config.stat().st_mtime_ns, ip_lists.stat().st_ino)
        assert jobs.sync_once(client) is False  # nothing changed: nothing rewritten
        assert (node_config.stat().st_mtime_ns, ip_lists.stat().st_ino) == stamps
        shared_cloud.set_rules({"node_group": "sync-files", "mode": "off"})
        assert jobs.sync_once(client) is True
        assert read_json(node_config)["mode"] == "off"
    leftovers = [p.name for p in Path(settings.node_dir).iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_config_the_proxy_would_refuse_is_not_written(tmp_path: Path) -> None:
    bad = json.dumps(
        {"node_config": {"mode": "nonsense"}, "ip_lists": {"version": 1, "entries": []}}
    ).encode()
    server = ScriptedServer([_answer("200 OK", bad)])
    node_dir = tmp_path / "wallarm"
    node_dir.mkdir()
    (node_dir / "node-config.json").write_text('{"mode": "block"}')
    settings = NodeSyncSettings.model_validate(
        {"node_dir": str(node_dir), "acl_dir": str(tmp_path / "acl"), "api_use_ssl": False}
    )
    try:
        with server.client() as client, pytest.raises(CloudError, match="unusable"):
            NodeJobs(settings).sync_once(client)
    finally:
        server.close()
    assert (node_dir / "node-config.json").read_text() == '{"mode": "block"}'
    assert not (tmp_path / "acl").exists()


def test_cloud_down_then_back_retries_and_recovers(own_cloud: CloudProcess, tmp_path: Path) -> None:
    own_cloud.start()
    settings = settings_for(own_cloud, tmp_path, api_token=ADMIN, node_group="group=downs")
    jobs = NodeJobs(settings, rng=random.Random(1))
    jobs.start()
    try:
        eventually(lambda: jobs.state is SyncState.SYNCED)
        own_cloud.stop()
        eventually(lambda: jobs.status()["api_errors"] >= 3)
        status = jobs.status()
        assert status["state"] == "retrying" and status["last_error"]
        assert (Path(settings.node_dir) / "node-config.json").exists()  # the last config stays
        own_cloud.start()
        own_cloud.set_rules({"node_group": "downs", "mode": "block"})
        node_config = Path(settings.node_dir) / "node-config.json"
        eventually(lambda: read_json(node_config)["mode"] == "block")
        eventually(lambda: jobs.state is SyncState.SYNCED)
    finally:
        jobs.stop()
    assert jobs.status()["api_errors"] >= 3


def test_cloud_down_at_start_registers_when_it_comes(
    own_cloud: CloudProcess, tmp_path: Path
) -> None:
    settings = settings_for(own_cloud, tmp_path, api_token=ADMIN, node_group="group=late")
    jobs = NodeJobs(settings, rng=random.Random(2))
    assert jobs.register(deadline=time.monotonic() + 0.5) is None
    assert jobs.state is SyncState.REGISTERING and jobs.status()["api_errors"] >= 1
    jobs.start()
    try:
        own_cloud.start()
        eventually(lambda: jobs.state is SyncState.SYNCED)
    finally:
        jobs.stop()
    assert [n["name"] for n in own_cloud.nodes("late")] == ["pod-1"]


def test_a_revoked_node_credential_stops_the_sync_and_keeps_the_files(
    shared_cloud: CloudProcess, tmp_path: Path
) -> None:
    settings = settings_for(
        shared_cloud, tmp_path, api_token=ADMIN, node_group="group=revoked", node_name="r-pod"
    )
    jobs = NodeJobs(settings)
    jobs.start()
    try:
        eventually(lambda: jobs.state is SyncState.SYNCED)
        shared_cloud.revoke_node(int(jobs.status()["node_id"]))
        eventually(lambda: jobs.state is SyncState.REJECTED)
        assert jobs._thread is not None
        eventually(lambda: not jobs._thread.is_alive())  # type: ignore[union-attr]
    finally:
        jobs.stop()
    status = jobs.status()
    assert "401" in status["last_error"] and status["api_errors"] == 1
    assert (Path(settings.node_dir) / "node-config.json").exists()
    assert read_json(Path(settings.node_dir) / "sync-status.json")["state"] == "rejected"


def test_a_refused_registration_stops_without_retrying(
    shared_cloud: CloudProcess, tmp_path: Path
) -> None:
    forged = mint_scoped_credential("wsk_some-other-organisation", "g", "ns")
    jobs = NodeJobs(settings_for(shared_cloud, tmp_path, api_credential=forged))
    assert jobs.register(deadline=None) is None
    assert jobs.state is SyncState.REJECTED and jobs.status()["api_errors"] == 1


def test_without_any_credential_the_jobs_say_so(shared_cloud: CloudProcess, tmp_path: Path) -> None:
    jobs = NodeJobs(settings_for(shared_cloud, tmp_path))
    jobs.run()
    status = jobs.status()
    assert status["state"] == "no_credential" and "WALLARM_API_CREDENTIAL" in status["last_error"]
    assert status["api_errors"] == 0


def test_an_unwritable_volume_is_retried_but_is_no_api_error(
    shared_cloud: CloudProcess, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the wallarm-acl volume should be")
    settings = settings_for(
        shared_cloud, tmp_path, api_token=ADMIN, acl_dir=str(blocker / "acl"), node_name="ro-pod"
    )
    jobs = NodeJobs(settings)
    jobs.start()
    try:
        eventually(lambda: jobs.status()["last_error"] is not None)
        eventually(lambda: jobs.state is SyncState.RETRYING)
    finally:
        jobs.stop()
    status = jobs.status()
    assert status["api_errors"] == 0 and "Not a directory" in status["last_error"]
