"""`plan_pod` on pods injected by the real injector, and the planning rules one by one."""

from __future__ import annotations

import base64
import contextlib
import copy
import ipaddress
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from wallarm_sidecar.injector import InjectionSettings, mutate
from wallarm_sidecar.localrun import (
    PlanError,
    PlanOptions,
    PodPlan,
    ProcessPlan,
    choose_network,
    image_repository,
    load_pod,
    pick_subnet,
    plan_pod,
)
from wallarm_sidecar.localrun._network import addresses

FIXTURE = Path(__file__).with_name("httpbin-deployment.yaml")
PYTHON = "/usr/bin/python3-test"
STATE = "/state"


def docs_pod() -> dict[str, Any]:
    """The pod template of the documentation's Deployment."""
    return load_pod(yaml.safe_load_all(FIXTURE.read_text())).pod


def injected(
    pod: dict[str, Any] | None = None, annotations: dict[str, str] | None = None, **config: Any
) -> dict[str, Any]:
    pod = copy.deepcopy(pod or docs_pod())
    if annotations:
        pod["metadata"].setdefault("annotations", {}).update(
            {f"sidecar.wallarm.io/{k}": v for k, v in annotations.items()}
        )
    result = mutate(pod, "shop", InjectionSettings.from_config(config).with_token("t0ken"))
    assert result.decision == "injected", result.message
    return result.pod


def options(**overrides: Any) -> PlanOptions:
    values: dict[str, Any] = {
        "name": "myapp-x2b4k",
        "namespace": "shop",
        "network": "netns",
        "pod_ip": "198.18.0.2",
        "host_ip": "198.18.0.1",
        "state_dir": STATE,
        "python": PYTHON,
        "base_env": {"PATH": "/usr/bin", "SECRET_OF_THE_HOST": "x", "HOME": "/root"},
    }
    values.update(overrides)
    if values["network"] == "loopback":
        values.setdefault("pod_ip", "127.0.0.1")
        values.setdefault("loopback_reason", "--no-netns was given")
    return PlanOptions(**values)


def by_name(plan: PodPlan, name: str) -> ProcessPlan:
    found = [p for p in (*plan.init_containers, *plan.containers) if p.name == name]
    assert len(found) == 1, [p.name for p in (*plan.init_containers, *plan.containers)]
    return found[0]


# -- the injected pods ---------------------------------------------------------------------


def test_single_schema_in_a_network_namespace() -> None:
    plan = plan_pod(injected(), options())
    assert [p.name for p in plan.init_containers] == ["sidecar-init-iptables"]
    assert [p.name for p in plan.containers] == ["application", "sidecar-proxy"]

    init = by_name(plan, "sidecar-init-iptables")
    assert init.argv == (PYTHON, "-m", "wallarm_sidecar", "init-iptables")
    assert (init.env["POD_IP"], init.env["NGINX_PROXY_PASS_PORT"]) == ("198.18.0.2", "80")
    assert init.env["NGINX_LISTEN_PORT"] == "26001" and not init.skipped

    app = by_name(plan, "application")
    assert app.argv[:3] == (PYTHON, "-m", "gunicorn")
    assert app.argv[app.argv.index("--bind") + 1] == "0.0.0.0:80"
    assert app.argv[-1] == "wallarm_sidecar.localrun.sampleapp:app"
    assert app.readiness is not None and (app.readiness.action, app.readiness.port) == ("tcp", 80)

    proxy = by_name(plan, "sidecar-proxy")
    assert proxy.argv == (PYTHON, "-m", "wallarm_sidecar", "node")
    assert proxy.env["WALLARM_NODE_NAME"] == "myapp-x2b4k"
    assert proxy.env["POD_NAMESPACE"] == "shop"
    assert proxy.env["WALLARM_NODE_DIR"] == f"{STATE}/volumes/wallarm"
    assert proxy.env["WALLARM_ACL_DIR"] == f"{STATE}/volumes/wallarm-acl"
    assert proxy.mounts["/opt/wallarm/var/lib/nginx/wallarm"] == f"{STATE}/volumes/wallarm-cache"
    # in its own namespace the pod keeps its ports and addresses
    assert proxy.env["NGINX_LISTEN_PORT"] == "26001"
    assert proxy.env["NGINX_STATUS_PORT"] == "10246"
    probe = proxy.readiness
    assert probe is not None
    assert (probe.action, probe.host, probe.port, probe.path) == (
        "http",
        "198.18.0.2",
        10246,
        "/healthz",
    )
    assert probe.period == 5 and probe.failure_threshold == 3
    # only the host's basic variables reach a container
    assert proxy.env["PATH"] == "/usr/bin" and "SECRET_OF_THE_HOST" not in proxy.env

    assert plan.traffic == ("198.18.0.2", 80)  # the app port, redirected by iptables
    assert plan.status == ("198.18.0.2", 10246)
    assert [p.name for p in plan.readiness_counted] == ["application", "sidecar-proxy"]
    assert sorted(v.name for v in plan.volumes) == [
        "wallarm",
        "wallarm-acl",
        "wallarm-api",
        "wallarm-cache",
    ]
    assert all(v.kind == "emptyDir" and v.owned for v in plan.volumes)


def test_single_schema_on_loopback_skips_iptables_and_maps_ports() -> None:
    port_map = {80: 40080, 26001: 40001, 10246: 40246, 18080: 40808}
    plan = plan_pod(injected(), options(network="loopback", port_map=port_map))
    init = by_name(plan, "sidecar-init-iptables")
    assert "skipped" in init.skipped and "--no-netns was given" in init.skipped
    app = by_name(plan, "application")
    assert app.argv[app.argv.index("--bind") + 1] == "127.0.0.1:40080"
    proxy = by_name(plan, "sidecar-proxy")
    assert proxy.env["NGINX_LISTEN_PORT"] == "127.0.0.1:40001"
    assert proxy.env["NGINX_STATUS_PORT"] == "127.0.0.1:40246"
    assert proxy.env["NGINX_WALLARM_METRICS_PORT"] == "127.0.0.1:40808"
    assert proxy.env["NGINX_PROXY_PASS_PORT"] == "40080"
    assert proxy.readiness is not None
    assert (proxy.readiness.host, proxy.readiness.port) == ("127.0.0.1", 40246)
    assert plan.traffic == ("127.0.0.1", 40001)  # the proxy port: nothing redirects
    assert plan.status == ("127.0.0.1", 40246)
    assert sorted({p.host_port for p in plan.ports}) == [40001, 40080, 40246, 40808]


def test_loopback_without_a_port_map_keeps_the_numbers() -> None:
    plan = plan_pod(injected(), options(network="loopback"))
    assert plan.traffic == ("127.0.0.1", 26001)
    assert by_name(plan, "sidecar-proxy").env["NGINX_LISTEN_PORT"] == "127.0.0.1:26001"


def test_without_iptables_the_proxy_port_is_the_way_in() -> None:
    pod = injected(annotations={"sidecar-injection-iptables-enable": "false"})
    plan = plan_pod(pod, options())
    assert plan.init_containers == ()
    assert plan.traffic == ("198.18.0.2", 26001)
    proxy = by_name(plan, "sidecar-proxy")
    assert {p.name: p.container_port for p in proxy.ports}["proxy"] == 26001


def test_split_schema() -> None:
    plan = plan_pod(injected(injectionStrategy={"schema": "split"}), options())
    assert [p.name for p in plan.init_containers] == [
        "sidecar-init-iptables",
        "sidecar-init-helper",
    ]
    assert [p.name for p in plan.containers] == ["application", "sidecar-helper", "sidecar-proxy"]
    assert by_name(plan, "sidecar-init-helper").argv[-1] == "register"
    assert by_name(plan, "sidecar-helper").argv[-1] == "helper"
    assert by_name(plan, "sidecar-proxy").argv[-1] == "proxy"
    helper = by_name(plan, "sidecar-helper")
    assert helper.env["WALLARM_NODE_DIR"] == f"{STATE}/volumes/wallarm"
    assert helper.env["WALLARM_API_CREDENTIAL"].startswith("wsc1.")
    assert helper.readiness is None
    assert len(plan.readiness_counted) == 3


def test_native_sidecars_are_started_and_counted() -> None:
    pod = injected(injectionStrategy={"schema": "split", "nativeSidecar": True})
    plan = plan_pod(pod, options())
    roles = [(p.name, p.role) for p in plan.init_containers]
    assert roles == [
        ("sidecar-init-iptables", "init"),
        ("sidecar-init-helper", "init"),
        ("sidecar-helper", "sidecar"),
        ("sidecar-proxy", "sidecar"),
    ]
    assert [p.name for p in plan.readiness_counted] == [
        "sidecar-helper",
        "sidecar-proxy",
        "application",
    ]
    assert plan.status == ("198.18.0.2", 10246)


def test_annotated_ports_follow_into_the_plan() -> None:
    pod = injected(annotations={"nginx-listen-port": "27000", "nginx-status-port": "11000"})
    plan = plan_pod(pod, options(network="loopback", port_map={27000: 41000}))
    assert plan.traffic == ("127.0.0.1", 41000)
    assert plan.status == ("127.0.0.1", 11000)


def test_an_app_on_its_declared_port() -> None:
    pod = docs_pod()
    pod["spec"]["containers"][0]["ports"] = [{"name": "web", "containerPort": 8080}]
    plan = plan_pod(injected(pod), options())
    app = by_name(plan, "application")
    assert app.argv[app.argv.index("--bind") + 1] == "0.0.0.0:8080"
    assert by_name(plan, "sidecar-proxy").env["NGINX_PROXY_PASS_PORT"] == "8080"
    assert plan.traffic == ("198.18.0.2", 8080)


def test_an_app_without_ports_listens_on_the_image_port() -> None:
    pod = docs_pod()
    del pod["spec"]["containers"][0]["ports"]
    plan = plan_pod(injected(pod), options())
    app = by_name(plan, "application")
    assert app.argv[app.argv.index("--bind") + 1] == "0.0.0.0:80"


def test_the_grace_period_comes_from_the_spec_unless_given() -> None:
    pod = injected()
    assert plan_pod(pod, options()).grace_period == 30
    pod["spec"]["terminationGracePeriodSeconds"] = 5
    assert plan_pod(pod, options()).grace_period == 5
    assert plan_pod(pod, options(grace_period=1.5)).grace_period == 1.5


def test_an_uninjected_labelled_pod_gets_a_note() -> None:
    plan = plan_pod(docs_pod(), options())
    assert any("not injected" in note for note in plan.notes)
    assert plan.status is None and plan.traffic == ("198.18.0.2", 80)


# -- rules ------------------------------------------------------------------------------------


def pod_with(container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    base = {"name": "app", "image": "kennethreitz/httpbin:latest"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"tier": "web"}, "annotations": {"a": "b"}},
        "spec": {"containers": [{**base, **container}], **spec},
    }


def test_an_unknown_image_is_named() -> None:
    with pytest.raises(PlanError, match=r"'app': image 'nginx:1.25' has no local mapping"):
        plan_pod(pod_with({"image": "nginx:1.25"}), options())


def test_downward_api_secrets_config_maps_and_references() -> None:
    env = [
        {"name": f"F{i}", "valueFrom": {"fieldRef": {"fieldPath": path}}}
        for i, path in enumerate(
            [
                "metadata.name",
                "metadata.namespace",
                "status.podIP",
                "status.hostIP",
                "metadata.labels['tier']",
                "metadata.annotations['a']",
                "spec.serviceAccountName",
            ]
        )
    ]
    env += [
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "COLOUR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "colour"}}},
        {
            "name": "GONE",
            "valueFrom": {"secretKeyRef": {"name": "db", "key": "nope", "optional": True}},
        },
        {"name": "URL", "value": "http://$(F2):80/$(COLOUR)/$(UNDEFINED)/$$(F0)"},
    ]
    env_from = [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}]
    plan = plan_pod(
        pod_with({"env": env, "envFrom": env_from}),
        options(secrets={"db": {"password": "s3cret"}}, config_maps={"cfg": {"colour": "blue"}}),
    )
    resolved = plan.containers[0].env
    assert [resolved[f"F{i}"] for i in range(7)] == [
        "myapp-x2b4k",
        "shop",
        "198.18.0.2",
        "198.18.0.1",
        "web",
        "b",
        "default",
    ]
    assert (resolved["PASSWORD"], resolved["COLOUR"], resolved["CFG_colour"]) == (
        "s3cret",
        "blue",
        "blue",
    )
    assert "GONE" not in resolved
    assert resolved["URL"] == "http://198.18.0.2:80/blue/$(UNDEFINED)/$(F0)"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "db", "key": "k"}}}],
            r"Secret 'db' is not given",
            id="missing-secret",
        ),
        pytest.param(
            [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}],
            r"ConfigMap 'c' is not given",
            id="missing-config-map",
        ),
        pytest.param(
            [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeSelector"}}}],
            r"'spec.nodeSelector' is not a downward-API field",
            id="unknown-field",
        ),
        pytest.param(
            [{"name": "X", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}],
            r"only fieldRef, secretKeyRef and configMapKeyRef",
            id="resource-field",
        ),
        pytest.param([{"value": "x"}], r"has no name", id="no-name"),
    ],
)
def test_unresolvable_env_is_a_clear_error(env: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        plan_pod(pod_with({"env": env}), options())


def test_mount_paths_in_values_name_the_host_directories() -> None:
    container = {
        "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "data", "mountPath": "/data/sub/deeper", "subPath": "x"},
        ],
        "env": [
            {"name": "A", "value": "/data/file.txt"},
            {"name": "B", "value": "/database"},
            {"name": "C", "value": "/data/sub/deeper/y"},
        ],
    }
    plan = plan_pod(pod_with(container, volumes=[{"name": "data", "emptyDir": {}}]), options())
    env = plan.containers[0].env
    assert env["A"] == f"{STATE}/volumes/data/file.txt"
    assert env["B"] == "/database"  # a prefix of a name is not a path under it
    assert env["C"] == f"{STATE}/volumes/data/x/y"


def test_volume_kinds() -> None:
    volumes = [
        {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "a", "path": "dir/a.txt"}]}},
        {"name": "sec", "secret": {"secretName": "s"}},
        {"name": "host", "hostPath": {"path": "/var/log"}},
        {
            "name": "info",
            "downwardAPI": {
                "items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]
            },
        },
    ]
    plan = plan_pod(
        pod_with({}, volumes=volumes),
        options(config_maps={"cfg": {"a": "1", "b": "2"}}, secrets={"s": {"k": "v"}}),
    )
    kinds = {v.name: (v.kind, dict(v.files), v.owned, v.path) for v in plan.volumes}
    assert kinds["cfg"] == ("configMap", {"dir/a.txt": "1"}, True, f"{STATE}/volumes/cfg")
    assert kinds["sec"][1] == {"k": "v"}
    assert kinds["host"] == ("hostPath", {}, False, "/var/log")
    assert kinds["info"][1] == {"name": "myapp-x2b4k"}


@pytest.mark.parametrize(
    ("pod", "message"),
    [
        pytest.param(
            pod_with({}, volumes=[{"name": "pvc", "persistentVolumeClaim": {"claimName": "c"}}]),
            r"volume 'pvc': persistentVolumeClaim cannot run locally",
            id="pvc",
        ),
        pytest.param(
            pod_with({"volumeMounts": [{"name": "nope", "mountPath": "/x"}]}),
            r"mounts volume 'nope'",
            id="undeclared-volume",
        ),
        pytest.param(
            pod_with(
                {"volumeMounts": [{"name": "v", "mountPath": "/x", "subPath": "../../etc"}]},
                volumes=[{"name": "v", "emptyDir": {}}],
            ),
            r"subPath '../../etc' leaves the volume",
            id="subpath-escape",
        ),
        pytest.param(
            pod_with(
                {},
                volumes=[
                    {
                        "name": "c",
                        "configMap": {"name": "c", "items": [{"key": "k", "path": "../x"}]},
                    }
                ],
            ),
            r"file path '../x' leaves the volume",
            id="item-escape",
        ),
        pytest.param(
            pod_with({}, volumes=[{"name": "../up", "emptyDir": {}}]),
            r"volume name '../up' is not a DNS label",
            id="volume-name",
        ),
        pytest.param(
            pod_with({"readinessProbe": {"grpc": {"port": 9000}}}),
            r"only httpGet, tcpSocket and exec probes",
            id="grpc-probe",
        ),
        pytest.param(
            pod_with({"readinessProbe": {"httpGet": {"port": "web"}}}),
            r"no container port named 'web'",
            id="unknown-port-name",
        ),
        pytest.param({"kind": "Pod", "spec": {}}, r"no spec.containers", id="no-containers"),
        pytest.param(
            pod_with({"name": "../../etc/cron.d/x"}),
            r"container name '../../etc/cron.d/x' is not a DNS label",
            id="container-name-path",
        ),
        pytest.param(pod_with({"name": None}), r"container name None", id="no-container-name"),
        pytest.param(
            pod_with({}, initContainers=[{"name": "app", "image": "kennethreitz/httpbin"}]),
            r"container name 'app' is used twice",
            id="same-name-twice",
        ),
        pytest.param(
            pod_with({"readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": "often"}}),
            r"periodSeconds 'often' must be a whole number >= 1",
            id="probe-period",
        ),
        pytest.param(
            pod_with({"readinessProbe": {"tcpSocket": {"port": 80}, "failureThreshold": 0}}),
            r"failureThreshold 0 must be a whole number >= 1",
            id="probe-threshold",
        ),
    ],
)
def test_what_cannot_run_is_a_clear_error(pod: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        plan_pod(pod, options(config_maps={"c": {"k": "v"}}))


def test_probes_point_at_the_pod() -> None:
    container = {
        "ports": [{"name": "http", "containerPort": 8000}],
        "readinessProbe": {
            "httpGet": {
                "path": "/status/200",
                "port": "http",
                "scheme": "HTTPS",
                "httpHeaders": [{"name": "X-Probe", "value": "1"}],
            },
            "initialDelaySeconds": 2,
        },
    }
    plan = plan_pod(pod_with(container), options(network="loopback", port_map={8000: 48000}))
    probe = plan.containers[0].readiness
    assert probe is not None
    assert (probe.host, probe.port, probe.scheme, probe.headers, probe.initial_delay) == (
        "127.0.0.1",
        48000,
        "https",
        (("X-Probe", "1"),),
        2.0,
    )
    exec_probe = {"readinessProbe": {"exec": {"command": ["wallarm-sidecar", "--version"]}}}
    probe = plan_pod(pod_with(exec_probe), options()).containers[0].readiness
    assert probe is not None and probe.command == (PYTHON, "-m", "wallarm_sidecar", "--version")


def test_two_ports_on_one_host_port_clash() -> None:
    with pytest.raises(PlanError, match=r"port 40000 is used twice"):
        plan_pod(injected(), options(network="loopback", port_map={80: 40000, 10246: 40000}))


# -- manifests, network choice, images, subnets ----------------------------------------------


def test_load_pod_from_the_documented_deployment() -> None:
    loaded = load_pod(yaml.safe_load_all(FIXTURE.read_text()))
    assert (loaded.source, loaded.default_name, loaded.generated) == (
        "Deployment/myapp",
        "myapp-",
        True,
    )
    assert loaded.pod["metadata"]["labels"]["wallarm-sidecar"] == "enabled"
    assert loaded.namespace == "default"


def test_load_pod_with_secrets_config_maps_and_select() -> None:
    secret_data = base64.b64encode(b"s3cret").decode()
    documents = [
        {"kind": "Secret", "metadata": {"name": "db"}, "data": {"password": secret_data}},
        {"kind": "Secret", "metadata": {"name": "db2"}, "stringData": {"user": "me"}},
        {"kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"colour": "blue"}},
        {"kind": "Service", "metadata": {"name": "svc"}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "one", "namespace": "ns"}},
        {
            "kind": "List",
            "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two"}}],
        },
    ]
    with pytest.raises(PlanError, match=r"several pods \(Pod/one, Pod/two\)"):
        load_pod(documents)
    loaded = load_pod(documents, select="pod/one")
    assert (loaded.default_name, loaded.generated, loaded.namespace) == ("one", False, "ns")
    assert loaded.secrets == {"db": {"password": "s3cret"}, "db2": {"user": "me"}}
    assert loaded.config_maps == {"cfg": {"colour": "blue"}}
    with pytest.raises(PlanError, match="no Pod or workload named 'Pod/three'"):
        load_pod(documents, select="Pod/three")
    with pytest.raises(PlanError, match="hold no Pod"):
        load_pod([{"kind": "Service"}])
    with pytest.raises(PlanError, match="not base64"):
        load_pod([{"kind": "Secret", "metadata": {"name": "x"}, "data": {"k": "%%%"}}])


@pytest.mark.parametrize(
    ("kwargs", "mode", "reason"),
    [
        ({}, "netns", ""),
        ({"want_netns": False}, "loopback", "--no-netns"),
        ({"is_root": False}, "loopback", "not running as root"),
        ({"have_ip": False}, "loopback", "ip command"),
        ({"have_iptables": False}, "loopback", "iptables is missing"),
        ({"host_network": True}, "loopback", "hostNetwork"),
    ],
)
def test_choose_network(kwargs: dict[str, bool], mode: str, reason: str) -> None:
    arguments = {
        "want_netns": True,
        "is_root": True,
        "have_ip": True,
        "have_iptables": True,
        "host_network": False,
        **kwargs,
    }
    chosen, why = choose_network(**arguments)
    assert chosen == mode and reason in why and bool(why) == bool(reason)


@pytest.mark.parametrize(
    ("image", "repository"),
    [
        ("kennethreitz/httpbin", "kennethreitz/httpbin"),
        ("kennethreitz/httpbin:latest", "kennethreitz/httpbin"),
        ("docker.io/kennethreitz/httpbin:v1@sha256:abc", "kennethreitz/httpbin"),
        ("localhost:5000/team/app:1", "team/app"),
        ("library/nginx", "nginx"),
        ("Registry.example.com/KennethReitz/HTTPBIN", "kennethreitz/httpbin"),
    ],
)
def test_image_repository(image: str, repository: str) -> None:
    assert image_repository(image) == repository


def test_pick_subnet_avoids_used_networks() -> None:
    pool = ipaddress.ip_network("198.18.0.0/15")
    used = [ipaddress.ip_network("198.18.0.0/16"), ipaddress.ip_network("10.0.0.0/8")]
    for seed in range(20):
        subnet = pick_subnet(used, random.Random(seed))
        assert subnet.prefixlen == 30 and subnet.subnet_of(pool)  # type: ignore[arg-type]
        assert not subnet.overlaps(used[0])
    assert addresses(ipaddress.ip_network("198.19.0.4/30")) == ("198.19.0.5", "198.19.0.6")
    with pytest.raises(ValueError, match="not a /30"):
        addresses(ipaddress.ip_network("198.19.0.0/29"))


# -- hostile manifests ------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
_field_keys = st.sampled_from(
    [
        "name",
        "image",
        "command",
        "args",
        "env",
        "envFrom",
        "ports",
        "volumeMounts",
        "readinessProbe",
        "restartPolicy",
    ]
)


@given(
    containers=st.lists(st.dictionaries(_field_keys, _json, max_size=5), min_size=1, max_size=3),
    volumes=_json,
    network=st.sampled_from(["netns", "loopback"]),
)
@hypothesis_settings(max_examples=300, deadline=None)
def test_any_manifest_gives_a_plan_or_a_plan_error(
    containers: list[dict[str, Any]], volumes: Any, network: str
) -> None:
    for index, container in enumerate(containers):  # often valid enough to get far
        container.setdefault("name", f"c{index}")
        container.setdefault("image", "kennethreitz/httpbin")
    pod = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}}
    if volumes is not None:
        pod["spec"]["volumes"] = volumes
    with contextlib.suppress(PlanError):  # anything else fails the test
        plan_pod(pod, options(network=network))
