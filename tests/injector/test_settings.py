"""`InjectionSettings`: DESIGN's defaults, the chart's spellings, and its JSON schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from wallarm_sidecar.injector import InjectionSettings, settings_json_schema, unknown_keys


def test_defaults_are_designs() -> None:
    s = InjectionSettings()
    assert (s.wallarm.mode, s.wallarm.mode_allow_override, s.wallarm.fallback) == (
        "monitoring",
        "on",
        "on",
    )
    assert (s.wallarm.enable_lib_detection, s.wallarm.parse_response) == ("on", "on")
    assert (s.wallarm.parse_websocket, s.wallarm.unpack_response, s.wallarm.acl_export_enable) == (
        "off",
        "on",
        "on",
    )
    assert (s.wallarm.upstream.connect_attempts, s.wallarm.upstream.reconnect_interval) == (
        10,
        "15s",
    )
    api = s.wallarm.api
    assert (api.host, api.port, api.use_ssl, api.ca_verify, api.node_group) == (
        "api.wallarm.com",
        443,
        True,
        True,
        "defaultSidecarGroup",
    )
    assert (s.injection_strategy.schema_name, s.injection_strategy.iptables_enable) == (
        "single",
        True,
    )
    assert s.injection_strategy.native_sidecar is False
    n = s.nginx
    assert (n.application_port, n.listen_port, n.status_port, n.wallarm_metrics_port) == (
        80,
        26001,
        10246,
        18080,
    )
    assert (n.worker_processes, n.worker_connections, n.real_ip_header) == (
        "auto",
        4096,
        "X-Forwarded-For",
    )
    assert (s.wstore.port, s.token) == (3313, "")


CHART_VALUES = """
config:
  wallarm:
    api:
      token: "abc"
      host: us1.api.wallarm.com
      nodeGroup: shop
      useSSL: true
      caVerify: false
      existingSecret: {enabled: true, secretName: wallarm-token, secretKey: token}
    mode: block
    modeAllowOverride: off
    fallback: on
    parseWebsocket: yes
  injectionStrategy: {schema: split, iptablesEnable: false}
  nginx: {applicationPort: 8080, workerProcesses: 2}
  sidecar:
    image: {registry: docker.io, image: wallarm/sidecar, tag: "4.10.0", pullPolicy: Always}
    containers:
      proxy: {resources: {requests: {cpu: 0.5, memory: 128Mi}}}
  postanalytics: {replicaCount: 2}   # the ARM64 example nests chart keys under config
  controller: {replicaCount: 1}
"""


def test_a_chart_values_file_loads_with_yaml_1_1_booleans() -> None:
    s = InjectionSettings.from_values(yaml.safe_load(CHART_VALUES))
    assert s.token == "abc" and s.wallarm.api.node_group == "shop"
    assert (s.wallarm.mode, s.wallarm.mode_allow_override, s.wallarm.fallback) == (
        "block",
        "off",
        "on",
    )
    assert s.wallarm.parse_websocket == "on"
    assert s.wallarm.api.existing_secret.secret_name == "wallarm-token"
    assert (s.injection_strategy.schema_name, s.injection_strategy.iptables_enable) == (
        "split",
        False,
    )
    assert s.sidecar.image.reference == "docker.io/wallarm/sidecar:4.10.0"
    assert s.sidecar.containers.proxy.resources.requests == {"cpu": "0.5", "memory": "128Mi"}
    assert "abc" not in repr(s)  # the token is a secret in reprs and logs


@pytest.mark.parametrize(
    ("image", "reference"),
    [
        pytest.param("repo/name:1.0", "repo/name:1.0", id="tagged"),
        pytest.param("localhost:5000/name", "localhost:5000/name:latest", id="registry-port"),
        pytest.param({"image": "x", "tag": "sha256:abc"}, "x@sha256:abc", id="digest"),
    ],
)
def test_image_forms(image: Any, reference: str) -> None:
    assert (
        InjectionSettings.from_config({"sidecar": {"image": image}}).sidecar.image.reference
        == reference
    )


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"wallarm": {"mode": "blocking"}}, id="mode"),
        pytest.param({"wallarm": {"api": {"port": 0}}}, id="api-port"),
        pytest.param({"wallarm": {"upstream": {"reconnectInterval": "soon"}}}, id="interval"),
        pytest.param({"injectionStrategy": {"schema": "triple"}}, id="schema"),
        pytest.param({"nginx": {"listenPort": 10246}}, id="listen-equals-status"),
        pytest.param({"nginx": {"workerProcesses": "many"}}, id="workers"),
        pytest.param({"nginx": {"setRealIpFrom": ["10.0.0.0/33"]}}, id="cidr"),
        pytest.param(
            {"sidecar": {"containers": {"proxy": {"resources": {"requests": {"cpu": "x"}}}}}},
            id="quantity",
        ),
        pytest.param({"wstore": {"port": 70000}}, id="wstore-port"),
    ],
)
def test_bad_values_are_refused(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        InjectionSettings.from_config(config)


SCHEMA_CASES = [
    ("chart-example", yaml.safe_load(CHART_VALUES)["config"], True),
    ("empty", {}, True),
    ("mode-false", {"wallarm": {"mode": False}}, True),
    ("image-string", {"sidecar": {"image": "a/b:c"}}, True),
    ("workers-int", {"nginx": {"workerProcesses": 4}}, True),
    ("bad-mode", {"wallarm": {"mode": "blocking"}}, False),
    ("bad-port", {"nginx": {"listenPort": 0}}, False),
    ("bad-schema", {"injectionStrategy": {"schema": "x"}}, False),
    ("bad-switch", {"wallarm": {"fallback": "maybe"}}, False),
]


@pytest.mark.parametrize(
    ("config", "valid"), [pytest.param(c, v, id=i) for i, c, v in SCHEMA_CASES]
)
def test_the_json_schema_agrees_with_the_model(config: dict[str, Any], valid: bool) -> None:
    schema = settings_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(config))
    assert (not errors) is valid, errors
    if valid:
        InjectionSettings.from_config(config)
    else:
        with pytest.raises(ValidationError):
            InjectionSettings.from_config(config)


def test_the_schema_uses_the_charts_key_spelling() -> None:
    text = repr(settings_json_schema())
    for key in (
        "injectionStrategy",
        "iptablesEnable",
        "useSSL",
        "caVerify",
        "nodeGroup",
        "wallarmMetricsPort",
        "modeAllowOverride",
    ):
        assert f"'{key}'" in text


@pytest.mark.parametrize(
    ("config", "unknown"),
    [
        pytest.param(yaml.safe_load(CHART_VALUES)["config"], [], id="chart-example"),
        pytest.param({"wallarm": {"mdoe": "block"}}, ["wallarm.mdoe"], id="typo"),
        pytest.param({"nginx": {"listen_port": 1}}, ["nginx.listen_port"], id="snake-case"),
        pytest.param(
            {"sidecar": {"containers": {"proxi": {}}}}, ["sidecar.containers.proxi"], id="nested"
        ),
    ],
)
def test_unknown_keys_are_found_for_a_warning(config: dict[str, Any], unknown: list[str]) -> None:
    assert unknown_keys(config) == unknown


def test_the_schema_is_json() -> None:
    import json

    assert json.loads(json.dumps(settings_json_schema()))["type"] == "object"
