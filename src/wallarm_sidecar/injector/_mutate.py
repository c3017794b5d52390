"""`mutate(pod, namespace, settings)`: the sidecar injection itself, a pure function.

The webhook server, the `inject` command and `localrun` all call it. It never reads the
environment, the clock or the network: the same pod and settings give the same result.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Final, Literal

from wallarm_sidecar.injector._annotations import (
    ANNOTATIONS,
    STATUS_ANNOTATION,
    STATUS_INJECTED,
    AnnotationError,
    ContainerKey,
    PodOptions,
    apply_annotations,
    default_options,
)
from wallarm_sidecar.injector._credential import mint_scoped_credential
from wallarm_sidecar.injector._patch import PatchOperation, json_patch
from wallarm_sidecar.injector._settings import InjectionSettings

ENABLE_LABEL: Final = "wallarm-sidecar"
PROXY: Final = "sidecar-proxy"
HELPER: Final = "sidecar-helper"
INIT_IPTABLES: Final = "sidecar-init-iptables"
INIT_HELPER: Final = "sidecar-init-helper"
INJECTED_NAMES: Final = (INIT_IPTABLES, INIT_HELPER, HELPER, PROXY)
COMMAND: Final = "wallarm-sidecar"

#: emptyDir volumes shared by the injected containers, and where they are mounted.
VOLUMES: Final = {
    "wallarm": "/opt/wallarm/etc/wallarm",
    "wallarm-acl": "/opt/wallarm/var/lib/wallarm-acl",
    "wallarm-cache": "/opt/wallarm/var/lib/nginx/wallarm",
    "wallarm-api": "/opt/wallarm/var/lib/wallarm-api",
}
_MOUNTS: Final[dict[str, tuple[str, ...]]] = {
    "node": ("wallarm", "wallarm-acl", "wallarm-cache", "wallarm-api"),
    "proxy": ("wallarm", "wallarm-acl", "wallarm-cache"),
    "helper": ("wallarm", "wallarm-acl", "wallarm-api"),
    "register": ("wallarm", "wallarm-api"),
}
NON_ROOT_UID: Final = 101

Decision = Literal["injected", "skipped", "denied"]
Reason = Literal[
    "injected", "not-enabled", "already-injected", "invalid-annotation", "conflict", "invalid-pod"
]
JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Mutation:
    """What admission does with one pod: the patched pod and its JSON patch, or why not."""

    decision: Decision
    reason: Reason
    pod: JsonObject
    patch: list[PatchOperation]
    warnings: tuple[str, ...] = ()
    message: str = ""

    @property
    def allowed(self) -> bool:
        return self.decision != "denied"


class _Rejected(Exception):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.message = message


def mutate(
    pod: JsonObject, namespace: str, settings: InjectionSettings, *, issued_at: int = 0
) -> Mutation:
    """Inject the sidecar into `pod` if it asks for it (label `wallarm-sidecar: enabled`).

    `issued_at` goes into the scoped credential (the controller passes its start time),
    so the result depends on the arguments alone.
    """
    metadata = pod.get("metadata") if isinstance(pod, dict) else None
    metadata = metadata if isinstance(metadata, dict) else {}
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    if not isinstance(labels, dict) or labels.get(ENABLE_LABEL) != "enabled":
        return Mutation(decision="skipped", reason="not-enabled", pod=pod, patch=[])
    if isinstance(annotations, dict) and annotations.get(STATUS_ANNOTATION) == STATUS_INJECTED:
        return Mutation(decision="skipped", reason="already-injected", pod=pod, patch=[])
    try:
        if not isinstance(annotations, dict):
            raise _Rejected("invalid-pod", "metadata.annotations must be a map")
        spec = pod.get("spec")
        if not isinstance(spec, dict) or not _is_list_of_maps(spec.get("containers")):
            raise _Rejected("invalid-pod", "the pod has no spec.containers")
        try:
            options, warnings = apply_annotations(default_options(settings), annotations)
        except AnnotationError as error:
            raise _Rejected("invalid-annotation", str(error)) from None
        patched = _inject(pod, namespace, settings, options, issued_at=issued_at, warnings=warnings)
    except _Rejected as rejection:
        return Mutation(
            decision="denied",
            reason=rejection.reason,
            pod=pod,
            patch=[],
            message=f"wallarm-sidecar: {rejection.message}",
        )
    return Mutation(
        decision="injected",
        reason="injected",
        pod=patched,
        patch=json_patch(pod, patched),
        warnings=tuple(warnings),
    )


def _is_list_of_maps(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _inject(
    pod: JsonObject,
    namespace: str,
    settings: InjectionSettings,
    options: PodOptions,
    *,
    issued_at: int,
    warnings: list[str],
) -> JsonObject:
    patched = copy.deepcopy(pod)
    spec: JsonObject = patched["spec"]
    app_containers: list[JsonObject] = spec["containers"]
    app_inits = spec.get("initContainers") or []
    if not isinstance(app_inits, list):
        raise _Rejected("invalid-pod", "spec.initContainers must be a list")
    volumes = spec.get("volumes") or []
    if not isinstance(volumes, list):
        raise _Rejected("invalid-pod", "spec.volumes must be a list")

    taken = {str(c.get("name")) for c in [*app_containers, *app_inits] if isinstance(c, dict)}
    clash = sorted(taken & set(INJECTED_NAMES))
    if clash:
        raise _Rejected(
            "conflict",
            f"the pod already has a container named {clash[0]} but no "
            f"{STATUS_ANNOTATION}={STATUS_INJECTED} annotation",
        )
    if options.iptables and spec.get("hostNetwork") is True:
        raise _Rejected(
            "conflict",
            "hostNetwork pods cannot have their traffic captured with iptables (it would "
            "redirect the node's traffic); set sidecar.wallarm.io/sidecar-injection-iptables-enable"
            "='false' and send traffic to the proxy port",
        )
    app_port, app_port_source = _application_port(app_containers, options, settings)
    _check_ports(options, app_port, app_port_source, app_containers)

    new_volumes = [{"name": name, "emptyDir": {}} for name in VOLUMES]
    new_volumes += [copy.deepcopy(v) for v in options.extra_volumes]
    existing = {v.get("name") for v in volumes if isinstance(v, dict)}
    for volume in new_volumes:
        if volume["name"] in existing:
            raise _Rejected("conflict", f"the pod already has a volume named {volume['name']!r}")
        existing.add(volume["name"])
    for mount in options.extra_volume_mounts:
        if mount["name"] not in existing:
            raise _Rejected(
                "invalid-annotation",
                f"{options.sources['extra_volume_mounts']}: mounts volume {mount['name']!r}, "
                "which neither the pod nor proxy-extra-volumes declares",
            )

    credential = ""
    if settings.token:
        credential = mint_scoped_credential(
            settings.token, options.node_group, namespace, issued_at=issued_at
        )
    else:
        warnings.append(
            "no API token is configured: the injected node gets no scoped credential and "
            "cannot register with the Cloud"
        )
    env = _Environment(options, settings, app_port, credential)

    inits: list[JsonObject] = []
    containers: list[JsonObject] = []
    if options.iptables:
        inits.append(_init_iptables(options, env))
    if options.schema == "split":
        inits.append(_container(INIT_HELPER, "register", "init-helper", options, env))
        containers.append(_container(HELPER, "helper", "helper", options, env))
        containers.append(_proxy(options, env, role="proxy"))
    else:
        containers.append(_proxy(options, env, role="node"))
    if options.native_sidecar:
        for container in containers:
            container["restartPolicy"] = "Always"
        inits += containers
        containers = []

    if inits:
        spec["initContainers"] = [*app_inits, *inits]
    spec["containers"] = [*app_containers, *containers]
    spec["volumes"] = [*volumes, *new_volumes]
    metadata = patched.setdefault("metadata", {})
    metadata["annotations"] = {**(metadata.get("annotations") or {})}
    metadata["annotations"][STATUS_ANNOTATION] = STATUS_INJECTED
    return patched


def _application_port(
    containers: list[JsonObject], options: PodOptions, settings: InjectionSettings
) -> tuple[int, str]:
    """Annotation, else the first port named http, else the first port, else the values."""
    if options.application_port is not None:
        return options.application_port, options.sources["application_port"]
    ports = [
        port
        for container in containers
        for port in (container.get("ports") or [])
        if isinstance(port, dict) and isinstance(port.get("containerPort"), int)
    ]
    for port in ports:
        if port.get("name") == "http":
            return int(port["containerPort"]), "the container port named http"
    if ports:
        return int(ports[0]["containerPort"]), "the first container port"
    return settings.nginx.application_port, "config.nginx.applicationPort"


def _check_ports(
    options: PodOptions, app_port: int, app_source: str, containers: list[JsonObject]
) -> None:
    ours = (
        ("listen_port", options.listen_port),
        ("status_port", options.status_port),
        ("metrics_port", options.metrics_port),
    )
    for field, port in ours:
        if port == app_port:
            raise _Rejected(
                "invalid-annotation",
                f"{options.sources[field]}: port {port} is the application port "
                f"({app_source}); requests would loop",
            )
    for index, (field, port) in enumerate(ours):
        for other_field, other in ours[index + 1 :]:
            if port == other:
                raise _Rejected(
                    "invalid-annotation",
                    f"{options.sources[other_field]}: port {other} is already the "
                    f"{field.replace('_', ' ')} ({options.sources[field]})",
                )
    declared = {
        port.get("containerPort"): container.get("name")
        for container in containers
        for port in (container.get("ports") or [])
        if isinstance(port, dict)
    }
    for field, port in ours:
        if port in declared:
            raise _Rejected(
                "invalid-annotation",
                f"{options.sources[field]}: port {port} is already a container port of "
                f"{declared[port]!r}",
            )


class _Environment:
    """The env var groups of DESIGN §4's table; each injected container takes some."""

    def __init__(
        self, options: PodOptions, settings: InjectionSettings, app_port: int, credential: str
    ) -> None:
        api = settings.wallarm.api
        self.identity = [
            _field_env("WALLARM_NODE_NAME", "metadata.name"),
            _field_env("POD_NAMESPACE", "metadata.namespace"),
            _env("WALLARM_LABELS", f"group={options.node_group}"),
        ]
        self.cloud = [
            _env("WALLARM_API_HOST", api.host),
            _env("WALLARM_API_PORT", api.port),
            _env("WALLARM_API_USE_SSL", "true" if api.use_ssl else "false"),
            _env("WALLARM_API_CA_VERIFY", "true" if api.ca_verify else "false"),
        ]
        if credential:
            self.cloud.append(_env("WALLARM_API_CREDENTIAL", credential))
        self.filtering = [
            _env("WALLARM_MODE", options.mode),
            _env("WALLARM_MODE_ALLOW_OVERRIDE", options.mode_allow_override),
            _env("WALLARM_FALLBACK", options.fallback),
        ]
        for name, value in (
            ("WALLARM_APPLICATION", options.application),
            ("WALLARM_BLOCK_PAGE", options.block_page),
            ("WALLARM_PARSER_DISABLE", options.parser_disable),
        ):
            if value is not None:
                self.filtering.append(_env(name, value))
        self.filtering += [
            _env("WALLARM_ENABLE_LIB_DETECTION", options.enable_lib_detection),
            _env("WALLARM_PARSE_RESPONSE", options.parse_response),
            _env("WALLARM_PARSE_WEBSOCKET", options.parse_websocket),
            _env("WALLARM_UNPACK_RESPONSE", options.unpack_response),
            _env("WALLARM_ACL_EXPORT_ENABLE", options.acl_export_enable),
        ]
        self.capture = [
            _env("NGINX_PROXY_PASS_PORT", app_port),
            _env("NGINX_LISTEN_PORT", options.listen_port),
        ]
        nginx = settings.nginx
        self.traffic = [
            *self.capture,
            _env("NGINX_STATUS_PORT", options.status_port),
            _env("NGINX_WALLARM_METRICS_PORT", options.metrics_port),
            _env("NGINX_WORKER_PROCESSES", options.worker_processes),
            _env("NGINX_WORKER_CONNECTIONS", options.worker_connections),
            _env("NGINX_REAL_IP_HEADER", nginx.real_ip_header),
            _env("NGINX_SET_REAL_IP_FROM", ",".join(nginx.set_real_ip_from)),
        ]
        self.postanalytics = [
            _env("WALLARM_WSTORE_HOST", settings.wstore.host),
            _env("WALLARM_WSTORE_PORT", settings.wstore.port),
            _env("WALLARM_UPSTREAM_CONNECT_ATTEMPTS", options.connect_attempts),
            _env("WALLARM_UPSTREAM_RECONNECT_INTERVAL", options.reconnect_interval),
        ]
        self.security_context = settings.sidecar.security_context
        self.pull_policy = settings.sidecar.image.pull_policy

    def for_role(self, role: str) -> list[JsonObject]:
        groups = {
            "node": (self.identity, self.cloud, self.filtering, self.traffic, self.postanalytics),
            "proxy": (self.identity, self.filtering, self.traffic, self.postanalytics),
            "helper": (self.identity, self.cloud, self.filtering),
            "register": (self.identity, self.cloud),
        }[role]
        return copy.deepcopy([item for group in groups for item in group])


def _env(name: str, value: object) -> JsonObject:
    return {"name": name, "value": str(value)}


def _field_env(name: str, path: str) -> JsonObject:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def _non_root_context(overrides: dict[str, Any]) -> JsonObject:
    context: JsonObject = {
        "runAsNonRoot": True,
        "runAsUser": NON_ROOT_UID,
        "runAsGroup": NON_ROOT_UID,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    # config.sidecar.securityContext replaces keys; a null value removes one (OpenShift
    # assigns its own UID from the namespace range when runAsUser is absent).
    for key, value in overrides.items():
        if value is None:
            context.pop(key, None)
        else:
            context[key] = copy.deepcopy(value)
    return context


def _base(
    name: str, role: str, key: ContainerKey, options: PodOptions, env: _Environment
) -> JsonObject:
    container: JsonObject = {
        "name": name,
        "image": options.image,
        "imagePullPolicy": env.pull_policy,
        "command": [COMMAND, role],
    }
    resources = options.resources.get(key) or {}
    if resources:
        container["resources"] = copy.deepcopy(resources)
    return container


def _container(
    name: str, role: str, key: ContainerKey, options: PodOptions, env: _Environment
) -> JsonObject:
    container = _base(name, role, key, options, env)
    container["env"] = env.for_role(role)
    container["volumeMounts"] = [
        {"name": volume, "mountPath": VOLUMES[volume]} for volume in _MOUNTS[role]
    ]
    container["securityContext"] = _non_root_context(env.security_context)
    return container


def _proxy(options: PodOptions, env: _Environment, *, role: str) -> JsonObject:
    container = _container(PROXY, role, "proxy", options, env)
    ports: list[JsonObject] = [
        {"name": "status", "containerPort": options.status_port, "protocol": "TCP"},
        {"name": "metrics", "containerPort": options.metrics_port, "protocol": "TCP"},
    ]
    if not options.iptables:
        ports.append({"name": "proxy", "containerPort": options.listen_port, "protocol": "TCP"})
    container["ports"] = ports
    container["volumeMounts"] += copy.deepcopy(list(options.extra_volume_mounts))
    probe = {"httpGet": {"path": "/healthz", "port": "status"}}
    container["readinessProbe"] = {**probe, "periodSeconds": 5, "failureThreshold": 3}
    container["livenessProbe"] = {
        **copy.deepcopy(probe),
        "periodSeconds": 10,
        "failureThreshold": 3,
    }
    return container


def _init_iptables(options: PodOptions, env: _Environment) -> JsonObject:
    container = _base(INIT_IPTABLES, "init-iptables", "init-iptables", options, env)
    container["env"] = [
        *copy.deepcopy(env.capture),
        _field_env("POD_IP", "status.podIP"),
    ]
    container["securityContext"] = {
        "runAsNonRoot": False,
        "runAsUser": 0,
        "runAsGroup": 0,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return container


#: Every annotation `mutate` understands, for docs and tests.
ANNOTATION_NAMES: Final = tuple(spec.name for spec in ANNOTATIONS)
