"""The sync's decisions without I/O: files, states, waits, the helper's status file."""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from wallarm_sidecar._options import ConfigError, build_settings, collect
from wallarm_sidecar.cloudlink import SYNC_OPTIONS, NodeSyncSettings, SyncState, SyncStatus
from wallarm_sidecar.cloudlink._sync import (
    BACKOFF_CAP_INTERVALS,
    Waits,
    parse_sync_status,
    registration_matches,
    render_files,
)
from wallarm_sidecar.proxy import IpLists, NodeModeRules

GOOD: dict[str, Any] = {
    "node_config": {"version": 1, "mode": "block", "applications": {"shop": "monitoring"}},
    "ip_lists": {
        "version": 1,
        "entries": [
            {"list": "deny", "ip": "203.0.113.0/24", "expires_at": None, "application": None}
        ],
    },
}


def test_render_files_gives_what_the_proxy_reads() -> None:
    files = render_files(GOOD)
    assert NodeModeRules.from_document(json.loads(files.node_config)).mode_for("shop") is not None
    assert IpLists.from_document(json.loads(files.ip_lists)).size == 1
    assert render_files(json.loads(json.dumps(GOOD))) == files  # canonical bytes: stable


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ({**GOOD, "node_config": {"mode": "attack-everyone"}}, "node_config refused"),
        ({**GOOD, "node_config": {"applications": ["shop"]}}, "node_config refused"),
        ({**GOOD, "ip_lists": {"entries": [{"list": "deny", "ip": "x"}]}}, "ip_lists refused"),
        ({**GOOD, "ip_lists": {"entries": [{"list": "black", "ip": "1.2.3.4"}]}}, "ip_lists"),
        ({"node_config": GOOD["node_config"]}, "ip_lists refused"),
    ],
    ids=["unknown-mode", "applications-not-a-map", "bad-ip", "bad-list", "missing"],
)
def test_render_files_refuses_what_the_proxy_would(answer: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        render_files(answer)


def test_status_walks_the_state_table() -> None:
    status = SyncStatus()
    assert status.state is SyncState.STARTING
    status = status.failed("down", registering=True)
    assert (status.state, status.api_errors, status.failures_in_a_row) == (
        SyncState.REGISTERING,
        1,
        1,
    )
    status = status.registered(4, "shop")
    assert status.state is SyncState.REGISTERED and status.node_id == 4
    status = status.failed("down", registering=False).failed("down", registering=False)
    assert (status.state, status.api_errors, status.failures_in_a_row) == (
        SyncState.RETRYING,
        3,
        2,
    )
    status = status.synced(1000.0)
    assert (status.state, status.api_errors, status.failures_in_a_row) == (SyncState.SYNCED, 3, 0)
    status = status.rejected("HTTP 401")
    assert status.document() == {
        "state": "rejected",
        "api_errors": 4,
        "node_id": 4,
        "group": "shop",
        "last_sync": 1000.0,
        "last_error": "HTTP 401",
    }


def test_waits_spread_the_interval_and_back_off_after_failures() -> None:
    waits = Waits(30.0, random.Random(3))
    regular = [waits.after_success() for _ in range(100)]
    assert all(27.0 <= w <= 33.0 for w in regular) and max(regular) - min(regular) > 3.0
    failures = [waits.after_failure() for _ in range(50)]
    assert failures[0] <= 1.0 and failures[1] <= 2.0 and failures[2] <= 4.0
    assert max(failures) <= 30.0 * BACKOFF_CAP_INTERVALS
    assert max(failures[10:]) > 60.0  # it does grow towards the cap
    waits.after_success()
    assert waits.after_failure() <= 1.0  # a success starts the backoff again
    short = Waits(0.2, random.Random(3))
    assert all(short.after_failure() <= 0.8 for _ in range(50))


@pytest.mark.parametrize(
    ("saved", "wanted", "matches"),
    [
        (("pod-1", "shop"), ("pod-1", "shop"), True),
        (("pod-1", "shop"), ("pod-1", ""), True),  # a node token chose the group
        (("pod-1", "shop"), ("pod-1", "other"), False),
        (("pod-1", "shop"), ("pod-2", "shop"), False),
    ],
)
def test_a_saved_registration_is_reused_only_by_the_same_node(
    saved: tuple[str, str], wanted: tuple[str, str], matches: bool
) -> None:
    assert registration_matches(*saved, *wanted) is matches


@pytest.mark.parametrize(
    "data",
    [
        None,
        b"",
        b"{",
        b"[]",
        b'{"api_errors": "3"}',
        b'{"api_errors": -1}',
        b'{"api_errors": true}',
    ],
)
def test_an_unusable_status_file_shows_nothing(data: bytes | None) -> None:
    assert parse_sync_status(data) == {}


def test_the_status_file_shows_known_keys_only() -> None:
    data = json.dumps({"version": 1, "state": "synced", "api_errors": 2, "evil": "x"}).encode()
    assert parse_sync_status(data) == {
        "state": "synced",
        "api_errors": 2,
        "node_id": None,
        "group": None,
        "last_sync": None,
        "last_error": None,
    }


def _settings(**env: str) -> NodeSyncSettings:
    raw = {o.field: (env[o.env], o.env) for o in SYNC_OPTIONS if o.env in env}
    return build_settings(NodeSyncSettings, raw)


def test_settings_from_the_injected_environment() -> None:
    settings = _settings(
        WALLARM_API_HOST="cloud.internal",
        WALLARM_API_PORT="8443",
        WALLARM_API_USE_SSL="true",
        WALLARM_API_CA_VERIFY="false",
        WALLARM_API_CREDENTIAL="wsc1.a.b",
        WALLARM_API_TOKEN="wsk_token",
        WALLARM_LABELS="group=shop",
        WALLARM_NODE_NAME="shop-7f9c",
        POD_NAMESPACE="prod",
        WALLARM_SYNC_INTERVAL="500ms",
        WALLARM_FALLBACK="off",
    )
    assert settings.endpoint.url == "https://cloud.internal:8443"
    assert settings.endpoint.ca_verify is False
    assert settings.credential == "wsc1.a.b"  # the scoped credential wins
    assert (settings.node_group, settings.node_name, settings.namespace) == (
        "shop",
        "shop-7f9c",
        "prod",
    )
    assert settings.sync_interval == 0.5 and settings.fallback is False
    assert _settings(WALLARM_API_TOKEN="wsk_t").credential == "wsk_t"
    assert _settings().sync_interval == 30.0 and _settings().fallback is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WALLARM_API_PORT", "70000"),
        ("WALLARM_API_HOST", "http://x"),
        ("WALLARM_SYNC_INTERVAL", "soon"),
        ("WALLARM_SYNC_INTERVAL", "0"),
        ("WALLARM_FALLBACK", "perhaps"),
        ("WALLARM_API_TOKEN", "two words"),
        ("WALLARM_API_CA_VERIFY", "/nowhere/ca.pem"),
    ],
)
def test_bad_settings_are_one_line_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        _settings(**{name: value})


GOLDEN = Path(__file__).resolve().parents[1] / "injector" / "golden"


def _containers(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, dict):
        if isinstance(document.get("name"), str) and "env" in document:
            yield document
        for value in document.values():
            yield from _containers(value)
    elif isinstance(document, list):
        for value in document:
            yield from _containers(value)


@pytest.mark.parametrize(
    ("golden", "container"),
    [
        ("single.out.yaml", "sidecar-proxy"),
        ("split.out.yaml", "sidecar-init-helper"),
        ("split.out.yaml", "sidecar-helper"),
    ],
)
def test_the_jobs_accept_the_environment_the_injector_gives(golden: str, container: str) -> None:
    """The variable names and formats of node, helper and register stay in step with
    what the controller injects (the downward API fields get stand-in values)."""
    documents = list(yaml.safe_load_all((GOLDEN / golden).read_text()))
    (found,) = [c for c in _containers(documents) if c["name"] == container]
    environ = {
        item["name"]: item.get("value", "stand-in-from-the-downward-api") for item in found["env"]
    }
    settings = build_settings(
        NodeSyncSettings, collect(argparse.Namespace(), SYNC_OPTIONS, environ)
    )
    assert settings.api_credential.startswith("wsc1.") and settings.credential
    assert settings.node_group == "defaultSidecarGroup"
    assert settings.endpoint.url == "https://api.wallarm.com:443"
    assert settings.node_dir == "/opt/wallarm/etc/wallarm"
