"""`register`, `node`, `helper` as processes, against a real Cloud process and a real app.

Each node syncs every 0.3 s here (WALLARM_SYNC_INTERVAL), so a change made through the
Cloud API reaches its proxy within a second or two; the waits below allow 30 s.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cloudlink.conftest import (
    ADMIN,
    CloudProcess,
    Command,
    clean_env,
    eventually,
)
from tests.support import free_port
from wallarm_sidecar.injector import mint_scoped_credential

RunCommand = Callable[[str, dict[str, str]], Command]
ATTACK = "/?id=1%27%20or%201=1--"


def node_env(
    cloud: CloudProcess | None,
    tmp_path: Path,
    app_port: int,
    name: str,
    **extra: str,
) -> dict[str, str]:
    api = (
        cloud.env
        if cloud is not None
        else {
            "WALLARM_API_HOST": "127.0.0.1",
            "WALLARM_API_PORT": str(free_port()),
            "WALLARM_API_USE_SSL": "false",
        }
    )
    values = dict(
        **api,
        WALLARM_NODE_NAME=name,
        POD_NAMESPACE="shop",
        WALLARM_NODE_DIR=str(tmp_path / name / "wallarm"),
        WALLARM_ACL_DIR=str(tmp_path / name / "wallarm-acl"),
        WALLARM_SYNC_INTERVAL="300ms",
        WALLARM_MODE="monitoring",
        NGINX_LISTEN_PORT=f"127.0.0.1:{free_port()}",
        NGINX_PROXY_PASS_PORT=str(app_port),
        NGINX_STATUS_PORT=f"127.0.0.1:{free_port()}",
        NGINX_WALLARM_METRICS_PORT=f"127.0.0.1:{free_port()}",
        NGINX_WORKER_PROCESSES="1",
        WALLARM_WSTORE_PORT=str(free_port()),
        WALLARM_ACCESS_LOG="off",
    )
    return clean_env(**{**values, **extra})


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found, name
    return float(found.group(1))


# -- register ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["scoped", "node-token", "api-token-and-group"])
def test_register_in_each_token_mode(
    shared_cloud: CloudProcess, tmp_path: Path, run_command: RunCommand, mode: str
) -> None:
    group = f"cmd-{mode}"
    credentials = {
        "scoped": {"WALLARM_API_CREDENTIAL": mint_scoped_credential(ADMIN, group, "shop")},
        "node-token": {"WALLARM_API_TOKEN": shared_cloud.token("node", group=group)},
        "api-token-and-group": {"WALLARM_API_TOKEN": ADMIN},
    }[mode]
    labels = {} if mode == "node-token" else {"WALLARM_LABELS": f"group={group}"}
    env = node_env(shared_cloud, tmp_path, 1, f"reg-{mode}", **credentials, **labels)
    command = run_command("register", env)
    assert command.process.wait(30) == 0, command.output()
    saved = json.loads((Path(env["WALLARM_NODE_DIR"]) / "node-registration.json").read_text())
    assert saved["group"] == group and saved["node_credential"].startswith("wsn_")
    nodes = shared_cloud.nodes(group)
    assert [(n["name"], n["namespace"], n["id"]) for n in nodes] == [
        (f"reg-{mode}", "shop", saved["node_id"])
    ]
    output = command.output()
    assert "registered node" in output
    for secret in (*credentials.values(), saved["node_credential"]):
        assert secret not in output


def test_register_gives_up_by_the_fallback_setting(tmp_path: Path, run_command: RunCommand) -> None:
    for fallback, code in (("on", 0), ("off", 1)):
        env = node_env(
            None,
            tmp_path,
            1,
            f"away-{fallback}",
            WALLARM_API_TOKEN="wsk_whatever",
            WALLARM_FALLBACK=fallback,
            WALLARM_REGISTER_TIMEOUT="1s",
        )
        command = run_command("register", env)
        assert command.process.wait(30) == code
        assert "registration failed" in command.output()


def test_register_with_a_refused_credential_and_fallback_off_fails(
    shared_cloud: CloudProcess, tmp_path: Path, run_command: RunCommand
) -> None:
    env = node_env(
        shared_cloud,
        tmp_path,
        1,
        "refused",
        WALLARM_API_TOKEN="wsk_unknown",
        WALLARM_FALLBACK="off",
    )
    command = run_command("register", env)
    assert command.process.wait(30) == 1
    assert "refused" in command.output() and "wsk_unknown" not in command.output()


def test_bad_settings_exit_2_with_one_line(tmp_path: Path, run_command: RunCommand) -> None:
    for name in ("register", "helper", "node"):
        command = run_command(name, clean_env(WALLARM_SYNC_INTERVAL="often"))
        assert command.process.wait(30) == 2
        err = command.output().strip()
        assert len(err.splitlines()) == 1 and "WALLARM_SYNC_INTERVAL='often'" in err


# -- node ----------------------------------------------------------------------------------------
def test_mode_and_denylist_from_the_cloud_reach_a_running_node_and_revocation_stops_sync(
    shared_cloud: CloudProcess, tmp_path: Path, app_port: int, run_command: RunCommand
) -> None:
    group = "node-live"
    credential = mint_scoped_credential(ADMIN, group, "shop", issued_at=1700000000)
    env = node_env(
        shared_cloud,
        tmp_path,
        app_port,
        "live-pod",
        WALLARM_API_CREDENTIAL=credential,
        WALLARM_LABELS=f"group={group}",
        WALLARM_APPLICATION="live-app",  # the denylist entry below is for this app only
    )
    node = run_command("node", env).wait_ready()
    eventually(lambda: node.status()["cloud"]["state"] == "synced", what="first sync")
    assert node.get(ATTACK) == 200  # monitoring
    shared_cloud.set_rules({"node_group": group, "mode": "block"})
    eventually(lambda: node.get(ATTACK) == 403, what="block mode reached the proxy")
    assert node.status()["mode"] == "block"
    assert node.get("/fine") == 200
    entry = shared_cloud.add_ip("deny", "127.0.0.1", application="live-app")
    eventually(lambda: node.get("/fine") == 403, what="the denylist reached the proxy")
    eventually(lambda: node.status()["blocked_by_acl"] >= 1, what="counted within a second")
    response = shared_cloud.call("DELETE", f"/api/v1/ip-lists/{entry}")
    assert response.status_code == 204
    eventually(lambda: node.get("/fine") == 200, what="the denylist entry went away")
    (listed,) = shared_cloud.nodes(group)
    assert listed["name"] == "live-pod" and listed["namespace"] == "shop"
    assert listed["last_seen"] > time.time() - 5  # seen at each sync
    status = node.status()
    assert status["api_errors"] == 0 and metric(node.metrics(), "wallarm_api_errors") == 0
    # Revoked: sync stops, it is reported, traffic keeps flowing with the last config.
    shared_cloud.revoke_node(listed["id"])
    eventually(lambda: node.status()["cloud"]["state"] == "rejected", what="the revocation")
    status = node.status()
    assert status["api_errors"] == 1 and status["mode"] == "block"
    assert metric(node.metrics(), "wallarm_api_errors") == 1
    shared_cloud.set_rules()
    time.sleep(1.0)  # several sync intervals: nothing is fetched any more
    assert node.get(ATTACK) == 403 and node.get("/fine") == 200
    output = node.output()
    assert "refused this node's credential" in output and credential not in output


def test_a_node_serves_through_a_cloud_outage_and_catches_up(
    own_cloud: CloudProcess, tmp_path: Path, app_port: int, run_command: RunCommand
) -> None:
    own_cloud.start()
    group = "outage"
    token = own_cloud.token("node", group=group)
    env = node_env(own_cloud, tmp_path, app_port, "outage-pod", WALLARM_API_TOKEN=token)
    own_cloud.set_rules({"node_group": group, "mode": "block"})
    node = run_command("node", env).wait_ready()
    eventually(lambda: node.get(ATTACK) == 403, what="block mode from the Cloud")
    own_cloud.stop()
    eventually(lambda: node.status()["api_errors"] >= 2, what="errors counted")
    assert node.status()["cloud"]["state"] == "retrying"
    assert node.get(ATTACK) == 403 and node.get("/fine") == 200  # the last config holds
    assert metric(node.metrics(), "wallarm_api_errors") >= 2
    own_cloud.start()
    own_cloud.set_rules({"node_group": group, "mode": "monitoring"})
    eventually(lambda: node.get(ATTACK) == 200, what="the change after the outage")
    assert node.status()["cloud"]["state"] == "synced"


def test_two_nodes_in_two_groups_follow_their_own_rules(
    shared_cloud: CloudProcess, tmp_path: Path, app_port: int, run_command: RunCommand
) -> None:
    shared_cloud.set_rules(
        {"node_group": "blue", "mode": "block"}, {"node_group": "green", "mode": "monitoring"}
    )
    nodes = {
        group: run_command(
            "node",
            node_env(
                shared_cloud,
                tmp_path,
                app_port,
                f"{group}-pod",
                WALLARM_API_TOKEN=ADMIN,
                WALLARM_LABELS=f"group={group}",
                WALLARM_MODE="block" if group == "green" else "monitoring",
            ),
        )
        for group in ("blue", "green")
    }
    for node in nodes.values():
        node.wait_ready()
    eventually(lambda: nodes["blue"].get(ATTACK) == 403, what="blue blocks")
    eventually(lambda: nodes["green"].get(ATTACK) == 200, what="green monitors")
    for group in ("blue", "green"):
        assert [n["name"] for n in shared_cloud.nodes(group)] == [f"{group}-pod"]


def test_fallback_off_refuses_to_start_unregistered_and_on_serves_locally(
    tmp_path: Path, app_port: int, run_command: RunCommand
) -> None:
    refused = run_command(
        "node",
        node_env(
            None,
            tmp_path,
            app_port,
            "strict-pod",
            WALLARM_API_TOKEN="wsk_x",
            WALLARM_FALLBACK="off",
            WALLARM_REGISTER_TIMEOUT="1s",
        ),
    )
    assert refused.process.wait(30) == 1
    assert "refusing to start" in refused.output()
    serving = run_command(
        "node",
        node_env(
            None, tmp_path, app_port, "lenient-pod", WALLARM_API_TOKEN="wsk_x", WALLARM_MODE="block"
        ),
    ).wait_ready()
    assert serving.get(ATTACK) == 403 and serving.get("/fine") == 200  # its local mode
    eventually(lambda: serving.status()["api_errors"] >= 1, what="registration errors")
    assert serving.status()["cloud"]["state"] == "registering"


# -- split schema: register, then helper beside a plain proxy ---------------------------------------
def test_split_schema_helper_syncs_for_the_proxy_beside_it(
    shared_cloud: CloudProcess, tmp_path: Path, app_port: int, run_command: RunCommand
) -> None:
    group = "split"
    env = node_env(
        shared_cloud,
        tmp_path,
        app_port,
        "split-pod",
        WALLARM_API_CREDENTIAL=mint_scoped_credential(ADMIN, group, "shop"),
        WALLARM_LABELS=f"group={group}",
    )
    init = run_command("register", env)
    assert init.process.wait(30) == 0, init.output()
    helper = run_command("helper", env)
    proxy = run_command("proxy", env).wait_ready()
    eventually(
        lambda: proxy.status().get("cloud", {}).get("state") == "synced", what="helper status"
    )
    shared_cloud.set_rules({"node_group": group, "mode": "block"})
    eventually(lambda: proxy.get(ATTACK) == 403, what="the helper's sync reached the proxy")
    assert [n["name"] for n in shared_cloud.nodes(group)] == ["split-pod"]  # registered once
    assert helper.process.poll() is None
    helper.process.terminate()
    assert helper.process.wait(15) == 0


def test_proxy_workers_do_not_load_the_cloud_jobs() -> None:
    """A spawned worker imports the console script's module (the CLI; `python -m` skips
    `__main__`) and `proxy._worker`, which must not pull the jobs or their HTTP client in."""
    code = (
        "import sys, wallarm_sidecar.cli, wallarm_sidecar.proxy._worker; "
        "print(sorted(m for m in sys.modules if 'cloudlink' in m or m == 'http.client'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
