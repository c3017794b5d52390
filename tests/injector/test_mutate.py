"""`mutate`: the label, idempotency, schemas, ports, annotations, security, rejections."""

from __future__ import annotations

import argparse
import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.injector.helpers import ISSUED_AT, TOKEN, annotated, container, env, pod, run, settings
from wallarm_sidecar.injector import (
    ANNOTATIONS,
    PROXY,
    STATUS_ANNOTATION,
    derive_credential_key,
    mutate,
    verify_scoped_credential,
)

# -- who gets injected -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        pytest.param({}, "not-enabled", id="no-label"),
        pytest.param({"wallarm-sidecar": "disabled"}, "not-enabled", id="disabled"),
        pytest.param({"wallarm-sidecar": "Enabled"}, "not-enabled", id="case-matters"),
        pytest.param({"app": "web"}, "not-enabled", id="other-labels"),
    ],
)
def test_pods_without_the_label_are_not_changed_at_all(labels: dict[str, str], reason: str) -> None:
    result = run(pod(labels=labels))
    assert (result.decision, result.reason, result.patch) == ("skipped", reason, [])


def test_a_pod_without_metadata_labels_is_skipped() -> None:
    the_pod = pod()
    del the_pod["metadata"]["labels"]
    assert run(the_pod).reason == "not-enabled"


def test_an_injected_pod_is_allowed_unchanged() -> None:
    first = run(pod())
    assert first.pod["metadata"]["annotations"][STATUS_ANNOTATION] == "injected"
    second = run(first.pod)
    assert (second.decision, second.reason, second.patch) == ("skipped", "already-injected", [])


@given(
    schema=st.sampled_from(["single", "split"]),
    iptables=st.booleans(),
    native=st.booleans(),
    ports=st.lists(st.integers(1, 9999), max_size=3, unique=True),
    named_http=st.booleans(),
    generate_name=st.booleans(),
    with_init=st.booleans(),
)
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_injecting_an_injected_pod_changes_nothing(  # noqa: PLR0917 (pytest passes fixtures and parameters by name)
    schema: str,
    iptables: bool,
    native: bool,
    ports: list[int],
    named_http: bool,
    generate_name: bool,
    with_init: bool,
) -> None:
    declared = [
        {"containerPort": port, **({"name": "http"} if named_http and i == 0 else {})}
        for i, port in enumerate(ports)
    ]
    extra: dict[str, Any] = {}
    if with_init:
        extra["initContainers"] = [{"name": "setup", "image": "busybox"}]
    the_pod = pod(
        name=None if generate_name else "web",
        containers=[{"name": "app", "image": "app", "ports": declared}],
        **extra,
    )
    config = {
        "injectionStrategy": {"schema": schema, "iptablesEnable": iptables, "nativeSidecar": native}
    }
    first = mutate(the_pod, "ns", settings(config), issued_at=ISSUED_AT)
    assert first.decision == "injected", first.message
    again = mutate(first.pod, "ns", settings(config), issued_at=ISSUED_AT)
    assert (again.decision, again.patch, again.pod) == ("skipped", [], first.pod)


def test_mutate_is_deterministic() -> None:
    assert run(pod()).patch == run(pod()).patch


# -- containers, order, commands -------------------------------------------------------


def _names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


@pytest.mark.parametrize(
    ("config", "inits", "containers"),
    [
        pytest.param({}, ["setup", "sidecar-init-iptables"], ["web", "sidecar-proxy"], id="single"),
        pytest.param(
            {"injectionStrategy": {"schema": "split"}},
            ["setup", "sidecar-init-iptables", "sidecar-init-helper"],
            ["web", "sidecar-helper", "sidecar-proxy"],
            id="split",
        ),
        pytest.param(
            {"injectionStrategy": {"iptablesEnable": False}},
            ["setup"],
            ["web", "sidecar-proxy"],
            id="single-no-iptables",
        ),
        pytest.param(
            {"injectionStrategy": {"schema": "split", "iptablesEnable": "false"}},
            ["setup", "sidecar-init-helper"],
            ["web", "sidecar-helper", "sidecar-proxy"],
            id="split-no-iptables",
        ),
        pytest.param(
            {"injectionStrategy": {"nativeSidecar": True}},
            ["setup", "sidecar-init-iptables", "sidecar-proxy"],
            ["web"],
            id="native",
        ),
    ],
)
def test_injected_containers_follow_the_apps_own_in_order(
    config: dict[str, Any], inits: list[str], containers: list[str]
) -> None:
    the_pod = pod(initContainers=[{"name": "setup", "image": "busybox"}])
    result = run(the_pod, config)
    assert _names(result.pod["spec"]["initContainers"]) == inits
    assert _names(result.pod["spec"]["containers"]) == containers


@pytest.mark.parametrize(
    ("config", "name", "command"),
    [
        pytest.param({}, "sidecar-proxy", ["wallarm-sidecar", "node"], id="single-node"),
        pytest.param(
            {}, "sidecar-init-iptables", ["wallarm-sidecar", "init-iptables"], id="iptables"
        ),
        pytest.param(
            {"injectionStrategy": {"schema": "split"}},
            "sidecar-proxy",
            ["wallarm-sidecar", "proxy"],
            id="split-proxy",
        ),
        pytest.param(
            {"injectionStrategy": {"schema": "split"}},
            "sidecar-helper",
            ["wallarm-sidecar", "helper"],
            id="split-helper",
        ),
        pytest.param(
            {"injectionStrategy": {"schema": "split"}},
            "sidecar-init-helper",
            ["wallarm-sidecar", "register"],
            id="split-register",
        ),
    ],
)
def test_each_container_runs_its_command(
    config: dict[str, Any], name: str, command: list[str]
) -> None:
    assert container(run(pod(), config).pod, name)["command"] == command


def test_native_sidecars_restart_always_so_jobs_finish() -> None:
    result = run(pod(restartPolicy="Never"), {"injectionStrategy": {"nativeSidecar": True}})
    proxy = container(result.pod, PROXY)
    assert proxy["restartPolicy"] == "Always"
    assert "restartPolicy" not in container(result.pod, "sidecar-init-iptables")


def test_no_initcontainers_key_is_added_when_nothing_is_initialised() -> None:
    result = run(pod(), {"injectionStrategy": {"iptablesEnable": False}})
    assert "initContainers" not in result.pod["spec"]


# -- ports, probes, volumes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("containers", "annotations", "config", "port"),
    [
        pytest.param(
            [
                {
                    "name": "a",
                    "image": "x",
                    "ports": [{"containerPort": 9090}, {"name": "http", "containerPort": 8080}],
                }
            ],
            {},
            {},
            8080,
            id="port-named-http",
        ),
        pytest.param(
            [
                {"name": "a", "image": "x", "ports": [{"name": "grpc", "containerPort": 9090}]},
                {"name": "b", "image": "x", "ports": [{"name": "http", "containerPort": 3000}]},
            ],
            {},
            {},
            3000,
            id="http-in-second-container",
        ),
        pytest.param(
            [
                {
                    "name": "a",
                    "image": "x",
                    "ports": [{"containerPort": 9090}, {"containerPort": 8080}],
                }
            ],
            {},
            {},
            9090,
            id="first-declared-port",
        ),
        pytest.param([{"name": "a", "image": "x"}], {}, {}, 80, id="default-80"),
        pytest.param(
            [{"name": "a", "image": "x"}],
            {},
            {"nginx": {"applicationPort": 5000}},
            5000,
            id="values",
        ),
        pytest.param(
            [{"name": "a", "image": "x", "ports": [{"name": "http", "containerPort": 8080}]}],
            {"sidecar.wallarm.io/application-port": "8081"},
            {},
            8081,
            id="annotation-wins",
        ),
    ],
)
def test_application_port_detection(
    containers: list[dict[str, Any]], annotations: dict[str, str], config: dict[str, Any], port: int
) -> None:
    result = run(pod(containers=containers, annotations=annotations), config)
    assert env(result.pod)["NGINX_PROXY_PASS_PORT"] == str(port)
    if "sidecar-init-iptables" in _names(result.pod["spec"].get("initContainers", [])):
        assert env(result.pod, "sidecar-init-iptables")["NGINX_PROXY_PASS_PORT"] == str(port)


@pytest.mark.parametrize(
    ("iptables", "ports"),
    [
        pytest.param(True, {"status": 10246, "metrics": 18080}, id="iptables"),
        pytest.param(False, {"status": 10246, "metrics": 18080, "proxy": 26001}, id="no-iptables"),
    ],
)
def test_proxy_ports_and_probes(iptables: bool, ports: dict[str, int]) -> None:
    result = run(pod(), {"injectionStrategy": {"iptablesEnable": iptables}})
    proxy = container(result.pod, PROXY)
    assert {p["name"]: p["containerPort"] for p in proxy["ports"]} == ports
    for probe in ("readinessProbe", "livenessProbe"):
        assert proxy[probe]["httpGet"] == {"path": "/healthz", "port": "status"}


@pytest.mark.parametrize(
    ("name", "mounts"),
    [
        pytest.param(
            "sidecar-proxy", {"wallarm", "wallarm-acl", "wallarm-cache", "wallarm-api"}, id="node"
        ),
        pytest.param("sidecar-helper", {"wallarm", "wallarm-acl", "wallarm-api"}, id="helper"),
        pytest.param("sidecar-init-helper", {"wallarm", "wallarm-api"}, id="register"),
    ],
)
def test_volumes_and_mounts(name: str, mounts: set[str]) -> None:
    config = {"injectionStrategy": {"schema": "split"}} if "helper" in name else {}
    result = run(pod(), config)
    volumes = {v["name"]: v for v in result.pod["spec"]["volumes"]}
    paths = {
        "wallarm": "/opt/wallarm/etc/wallarm",
        "wallarm-acl": "/opt/wallarm/var/lib/wallarm-acl",
        "wallarm-cache": "/opt/wallarm/var/lib/nginx/wallarm",
        "wallarm-api": "/opt/wallarm/var/lib/wallarm-api",
    }
    assert all(volumes[n] == {"name": n, "emptyDir": {}} for n in paths)
    got = {m["name"]: m["mountPath"] for m in container(result.pod, name)["volumeMounts"]}
    assert got == {n: paths[n] for n in mounts}


# -- security ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sidecar-proxy", "sidecar-helper", "sidecar-init-helper"])
def test_proxy_and_helpers_run_as_non_root_with_minimal_capabilities(name: str) -> None:
    context = container(run(pod(), {"injectionStrategy": {"schema": "split"}}).pod, name)[
        "securityContext"
    ]
    assert context["runAsNonRoot"] is True and context["runAsUser"] == 101
    assert context["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert context["allowPrivilegeEscalation"] is False


def test_only_init_iptables_is_root_with_net_admin() -> None:
    context = container(run(pod()).pod, "sidecar-init-iptables")["securityContext"]
    assert context["runAsUser"] == 0 and context["runAsNonRoot"] is False
    assert context["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]}


@pytest.mark.parametrize("uid", [101, 1000, 65532])
def test_any_uid_from_the_values_security_context(uid: int) -> None:
    result = run(pod(), {"sidecar": {"securityContext": {"runAsUser": uid}}})
    assert container(result.pod, PROXY)["securityContext"]["runAsUser"] == uid


def test_the_api_token_never_appears_in_the_pod() -> None:
    result = run(pod(), {"injectionStrategy": {"schema": "split"}})
    text = repr(result.pod)
    assert TOKEN not in text and "WALLARM_API_TOKEN" not in text
    credential = env(result.pod, "sidecar-helper")["WALLARM_API_CREDENTIAL"]
    claims = verify_scoped_credential(credential, derive_credential_key(TOKEN))
    assert (claims.group, claims.namespace, claims.issued_at) == (
        "defaultSidecarGroup",
        "default",
        ISSUED_AT,
    )
    assert "WALLARM_API_CREDENTIAL" in env(result.pod, "sidecar-init-helper")
    assert "WALLARM_API_CREDENTIAL" not in env(result.pod, "sidecar-proxy")  # split: traffic only


def test_without_a_token_the_pod_is_injected_with_a_warning() -> None:
    result = mutate(pod(), "default", settings(token=""), issued_at=0)
    assert result.decision == "injected"
    assert "WALLARM_API_CREDENTIAL" not in env(result.pod)
    assert any("no API token" in w for w in result.warnings)


# -- environment -------------------------------------------------------------------------


def test_the_single_node_environment_matches_design() -> None:
    values = env(run(pod(), {"wstore": {"host": "pa.wallarm.svc", "port": 3313}}).pod)
    assert values["WALLARM_NODE_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert values["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    expected = {
        "WALLARM_MODE": "monitoring",
        "WALLARM_MODE_ALLOW_OVERRIDE": "on",
        "WALLARM_LABELS": "group=defaultSidecarGroup",
        "WALLARM_FALLBACK": "on",
        "WALLARM_ENABLE_LIB_DETECTION": "on",
        "WALLARM_PARSE_RESPONSE": "on",
        "WALLARM_PARSE_WEBSOCKET": "off",
        "WALLARM_UNPACK_RESPONSE": "on",
        "WALLARM_ACL_EXPORT_ENABLE": "on",
        "WALLARM_UPSTREAM_CONNECT_ATTEMPTS": "10",
        "WALLARM_UPSTREAM_RECONNECT_INTERVAL": "15s",
        "NGINX_PROXY_PASS_PORT": "8080",
        "NGINX_LISTEN_PORT": "26001",
        "NGINX_STATUS_PORT": "10246",
        "NGINX_WALLARM_METRICS_PORT": "18080",
        "NGINX_WORKER_PROCESSES": "auto",
        "NGINX_WORKER_CONNECTIONS": "4096",
        "NGINX_REAL_IP_HEADER": "X-Forwarded-For",
        "WALLARM_WSTORE_HOST": "pa.wallarm.svc",
        "WALLARM_WSTORE_PORT": "3313",
        "WALLARM_API_HOST": "api.wallarm.com",
        "WALLARM_API_PORT": "443",
        "WALLARM_API_USE_SSL": "true",
        "WALLARM_API_CA_VERIFY": "true",
    }
    assert {k: values[k] for k in expected} == expected
    for unset in ("WALLARM_APPLICATION", "WALLARM_BLOCK_PAGE", "WALLARM_PARSER_DISABLE"):
        assert unset not in values


def _proxy_settings_from(the_pod: dict[str, Any], name: str = PROXY) -> Any:
    from wallarm_sidecar._options import build_settings, collect
    from wallarm_sidecar.proxy import PROXY_OPTIONS, ProxySettings

    environ = {k: (v if isinstance(v, str) else "web-1") for k, v in env(the_pod, name).items()}
    return build_settings(ProxySettings, collect(argparse.Namespace(), PROXY_OPTIONS, environ))


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(pod(), id="defaults"),
        pytest.param(
            annotated(
                **{
                    "wallarm-mode": "safe_blocking",
                    "wallarm-mode-allow-override": "strict",
                    "wallarm-block-page": "response_code=445",
                    "wallarm-parser-disable": "json;base64",
                    "wallarm-application": "7",
                    "nginx-worker-processes": "3",
                    "wallarm-upstream-reconnect-interval": "2m",
                }
            ),
            id="annotations",
        ),
    ],
)
def test_the_proxy_accepts_the_environment_it_is_given(case: dict[str, Any]) -> None:
    proxy = _proxy_settings_from(run(case).pod)
    assert proxy.upstream_port == 8080 and proxy.listen[1] == 26001
    assert proxy.node_name == "web-1" and proxy.node_group == "defaultSidecarGroup"


def test_the_split_proxy_accepts_its_environment() -> None:
    result = run(pod(), {"injectionStrategy": {"schema": "split"}})
    assert _proxy_settings_from(result.pod).wstore_port == 3313


# -- annotations: one row per annotation and value ---------------------------------------

VALID = [
    ("wallarm-mode", "block", "WALLARM_MODE", "block"),
    ("wallarm-mode", "safe-blocking", "WALLARM_MODE", "safe_blocking"),
    ("wallarm-mode", "OFF", "WALLARM_MODE", "off"),
    ("wallarm-mode-allow-override", "strict", "WALLARM_MODE_ALLOW_OVERRIDE", "strict"),
    ("wallarm-mode-allow-override", "false", "WALLARM_MODE_ALLOW_OVERRIDE", "off"),
    ("wallarm-node-group", "payments", "WALLARM_LABELS", "group=payments"),
    ("wallarm-application", "12", "WALLARM_APPLICATION", "12"),
    (
        "wallarm-block-page",
        "&/etc/page.html response_code=445",
        "WALLARM_BLOCK_PAGE",
        "&/etc/page.html response_code=445",
    ),
    (
        "wallarm-block-page",
        "https://example.com/blocked",
        "WALLARM_BLOCK_PAGE",
        "https://example.com/blocked",
    ),
    ("wallarm-fallback", "off", "WALLARM_FALLBACK", "off"),
    ("wallarm-parser-disable", "json; base64", "WALLARM_PARSER_DISABLE", "json;base64"),
    ("wallarm-enable-libdetection", "off", "WALLARM_ENABLE_LIB_DETECTION", "off"),
    ("wallarm-parse-response", "false", "WALLARM_PARSE_RESPONSE", "off"),
    ("wallarm-parse-websocket", "on", "WALLARM_PARSE_WEBSOCKET", "on"),
    ("wallarm-unpack-response", "off", "WALLARM_UNPACK_RESPONSE", "off"),
    ("wallarm-acl-export-enable", "off", "WALLARM_ACL_EXPORT_ENABLE", "off"),
    ("wallarm-upstream-connect-attempts", "3", "WALLARM_UPSTREAM_CONNECT_ATTEMPTS", "3"),
    (
        "wallarm-upstream-reconnect-interval",
        "500ms",
        "WALLARM_UPSTREAM_RECONNECT_INTERVAL",
        "500ms",
    ),
    ("application-port", "9000", "NGINX_PROXY_PASS_PORT", "9000"),
    ("nginx-listen-port", "26002", "NGINX_LISTEN_PORT", "26002"),
    ("nginx-status-port", "10247", "NGINX_STATUS_PORT", "10247"),
    ("nginx-wallarm-metrics-port", "18081", "NGINX_WALLARM_METRICS_PORT", "18081"),
    ("nginx-worker-processes", "auto", "NGINX_WORKER_PROCESSES", "auto"),
    ("nginx-worker-processes", "4", "NGINX_WORKER_PROCESSES", "4"),
    ("nginx-worker-connections", "512", "NGINX_WORKER_CONNECTIONS", "512"),
]


@pytest.mark.parametrize(
    ("annotation", "value", "variable", "expected"),
    [pytest.param(*row, id=f"{row[0]}={row[1]}") for row in VALID],
)
def test_annotation_reaches_the_environment(
    annotation: str, value: str, variable: str, expected: str
) -> None:
    result = run(annotated(**{annotation: value}))
    assert result.decision == "injected", result.message
    assert env(result.pod)[variable] == expected


def test_every_annotation_of_the_design_table_is_known() -> None:
    names = {spec.name for spec in ANNOTATIONS}
    design = {
        "sidecar-injection-schema", "sidecar-injection-iptables-enable", "wallarm-mode",
        "wallarm-mode-allow-override", "wallarm-node-group", "wallarm-application",
        "wallarm-block-page", "wallarm-fallback", "wallarm-parser-disable",
        "wallarm-enable-libdetection", "wallarm-parse-response", "wallarm-parse-websocket",
        "wallarm-unpack-response", "wallarm-acl-export-enable",
        "wallarm-upstream-connect-attempts", "wallarm-upstream-reconnect-interval",
        "application-port", "nginx-listen-port", "nginx-status-port",
        "nginx-wallarm-metrics-port", "nginx-worker-processes", "nginx-worker-connections",
        "proxy-extra-volumes", "proxy-extra-volume-mounts", "proxy-image",
    }  # fmt: skip
    resources = {
        f"{c}-{r}"
        for c in ("proxy", "helper", "init-iptables", "init-helper")
        for r in ("cpu", "memory", "cpu-limit", "memory-limit")
    }
    assert names == design | resources


INVALID = [
    ("wallarm-mode", "blocking"),
    ("wallarm-mode", ""),
    ("wallarm-mode-allow-override", "maybe"),
    ("wallarm-node-group", "a b"),
    ("wallarm-node-group", "a,b"),
    ("wallarm-application", "has space"),
    ("wallarm-block-page", "response_code=200"),
    ("wallarm-block-page", "page.html"),
    ("wallarm-block-page", "type=robots"),
    ("wallarm-fallback", "sometimes"),
    ("wallarm-parser-disable", "json;yaml"),
    ("wallarm-enable-libdetection", "2"),
    ("wallarm-upstream-connect-attempts", "0"),
    ("wallarm-upstream-connect-attempts", "ten"),
    ("wallarm-upstream-reconnect-interval", "soon"),
    ("application-port", "0"),
    ("application-port", "65536"),
    ("application-port", "http"),
    ("nginx-listen-port", "70000"),
    ("nginx-listen-port", "8080"),  # the detected app port
    ("nginx-status-port", "-1"),
    ("nginx-status-port", "26001"),  # the listen port
    ("nginx-wallarm-metrics-port", "10246"),  # the status port
    ("nginx-worker-processes", "many"),
    ("nginx-worker-processes", "0"),
    ("nginx-worker-connections", "0"),
    ("sidecar-injection-schema", "double"),
    ("sidecar-injection-iptables-enable", "perhaps"),
    ("proxy-extra-volumes", "[{"),
    ("proxy-extra-volumes", '{"name": "x"}'),
    ("proxy-extra-volumes", '[{"emptyDir": {}}]'),
    ("proxy-extra-volume-mounts", "not json"),
    ("proxy-extra-volume-mounts", '[{"name": "nowhere", "mountPath": "/x"}]'),
    ("proxy-extra-volume-mounts", '[{"name": "wallarm"}]'),
    ("proxy-image", "has space:1"),
    ("proxy-cpu", "lots"),
    ("helper-memory", "1 GiB"),
    ("init-iptables-cpu-limit", "-"),
    ("init-helper-memory-limit", "12XB"),
]


@pytest.mark.parametrize(
    ("annotation", "value"), [pytest.param(*row, id=f"{row[0]}={row[1]}") for row in INVALID]
)
def test_an_invalid_annotation_rejects_the_pod_naming_it(annotation: str, value: str) -> None:
    result = run(annotated(**{annotation: value}), {"injectionStrategy": {"schema": "split"}})
    assert (result.decision, result.allowed) == ("denied", False)
    assert f"sidecar.wallarm.io/{annotation}" in result.message
    assert repr(value) in result.message


@pytest.mark.parametrize(
    ("config", "annotations", "expected"),
    [
        pytest.param({}, {"wallarm-mode": "block"}, "block", id="annotation-beats-default"),
        pytest.param({"wallarm": {"mode": "block"}}, {}, "block", id="values"),
        pytest.param(
            {"wallarm": {"mode": "block"}},
            {"wallarm-mode": "off"},
            "off",
            id="annotation-beats-values",
        ),
    ],
)
def test_annotation_beats_values(
    config: dict[str, Any], annotations: dict[str, str], expected: str
) -> None:
    the_pod = pod(annotations={f"sidecar.wallarm.io/{k}": v for k, v in annotations.items()})
    assert env(run(the_pod, config).pod)["WALLARM_MODE"] == expected


@pytest.mark.parametrize(
    "annotation",
    [
        "nginx-http-include",
        "nginx-http-snippet",
        "nginx-server-include",
        "nginx-server-snippet",
        "nginx-location-include",
        "nginx-location-snippet",
        "nginx-extra-modules",
    ],
)
def test_nginx_only_annotations_are_admitted_with_a_warning(annotation: str) -> None:
    result = run(annotated(**{annotation: "anything"}))
    assert result.decision == "injected"
    assert result.warnings == (
        f"annotation sidecar.wallarm.io/{annotation} is NGINX-only and has no effect in this sidecar",
    )


def test_unknown_annotations_are_warned_about() -> None:
    result = run(annotated(**{"wallarm-mdoe": "block"}))
    assert result.decision == "injected"
    assert "sidecar.wallarm.io/wallarm-mdoe" in result.warnings[0]


def test_the_listen_port_equal_to_the_values_app_port_rejects() -> None:
    result = run(
        pod(containers=[{"name": "a", "image": "x"}]), {"nginx": {"applicationPort": 26001}}
    )
    assert result.decision == "denied"
    assert "config.nginx.listenPort" in result.message and "26001" in result.message


def test_a_status_port_taken_by_the_app_rejects() -> None:
    containers = [
        {
            "name": "a",
            "image": "x",
            "ports": [{"name": "http", "containerPort": 80}, {"containerPort": 10246}],
        }
    ]
    result = run(pod(containers=containers))
    assert result.decision == "denied" and "10246" in result.message


# -- conflicts and odd pods --------------------------------------------------------------


@pytest.mark.parametrize(
    ("the_pod", "reason", "words"),
    [
        pytest.param(
            pod(containers=[{"name": "sidecar-proxy", "image": "x"}]),
            "conflict",
            "sidecar-proxy",
            id="container-name-taken",
        ),
        pytest.param(
            pod(volumes=[{"name": "wallarm", "emptyDir": {}}]),
            "conflict",
            "'wallarm'",
            id="volume-taken",
        ),
        pytest.param(pod(hostNetwork=True), "conflict", "hostNetwork", id="host-network"),
        pytest.param(pod(containers=[]), "invalid-pod", "spec.containers", id="no-containers"),
    ],
)
def test_conflicting_pods_are_rejected(the_pod: dict[str, Any], reason: str, words: str) -> None:
    result = run(the_pod)
    assert (result.decision, result.reason) == ("denied", reason)
    assert words in result.message


def test_host_network_without_iptables_is_injected() -> None:
    config = {"injectionStrategy": {"iptablesEnable": False}}
    assert run(pod(hostNetwork=True), config).decision == "injected"


def test_a_pod_without_annotations_gets_the_map_created() -> None:
    result = run(pod())
    assert {
        "op": "add",
        "path": "/metadata/annotations",
        "value": {STATUS_ANNOTATION: "injected"},
    } in result.patch


def test_a_pod_with_annotations_gets_one_escaped_key_added() -> None:
    result = run(pod(annotations={"a/b~c": "1"}))
    assert {
        "op": "add",
        "path": "/metadata/annotations/sidecar.wallarm.io~1status",
        "value": "injected",
    } in result.patch
    assert result.pod["metadata"]["annotations"]["a/b~c"] == "1"


def test_the_app_containers_are_never_rewritten_by_the_patch() -> None:
    result = run(pod(initContainers=[{"name": "setup", "image": "busybox"}]))
    paths = sorted(op["path"] for op in result.patch)
    assert paths == [
        "/metadata/annotations",
        "/spec/containers/1",
        "/spec/initContainers/1",
        "/spec/volumes",
    ]
    assert all(op["op"] == "add" for op in result.patch)


def test_the_input_pod_is_not_modified() -> None:
    the_pod = pod(annotations={"x": "y"}, volumes=[{"name": "d", "emptyDir": {}}])
    before = copy.deepcopy(the_pod)
    mutate(the_pod, "default", settings(), issued_at=0)
    assert the_pod == before
