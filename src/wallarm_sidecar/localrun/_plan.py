"""From a pod spec to a plan of local processes (pure: no files, processes or sockets).

`plan_pod(pod, options)` decides what `localrun` starts, in which order, with which
argv, environment, ports, directories and readiness checks. The runner only carries
the plan out, so every rule here (image mapping, downward API, volume paths, port
rewriting) is a unit test.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any, Final, Literal

from wallarm_sidecar._options import parse_listen
from wallarm_sidecar.injector import (
    ENABLE_LABEL,
    INIT_IPTABLES,
    PROXY,
    STATUS_ANNOTATION,
    TEMPLATE_PATHS,
    VOLUMES,
)
from wallarm_sidecar.localrun._images import APP_IMAGES, AppImage, image_repository

NetworkMode = Literal["netns", "loopback"]
Role = Literal["init", "sidecar", "container"]
JsonObject = dict[str, Any]

#: The command of our image's containers (DESIGN §4: `command: [wallarm-sidecar, <role>]`).
OUR_COMMAND: Final = "wallarm-sidecar"
#: Env vars of our containers that hold a port to listen on / to connect to.
LISTEN_ENV: Final = ("NGINX_LISTEN_PORT", "NGINX_STATUS_PORT", "NGINX_WALLARM_METRICS_PORT")
CONNECT_ENV: Final = ("NGINX_PROXY_PASS_PORT",)
#: Outside a pod our processes find their volumes through these (DESIGN §4).
DIRECTORY_ENV: Final = {
    VOLUMES["wallarm"]: "WALLARM_NODE_DIR",
    VOLUMES["wallarm-acl"]: "WALLARM_ACL_DIR",
}
#: Host variables a process keeps (a container has its image's; we have the host's).
BASE_ENV: Final = ("PATH", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV", "PYTHONPATH", "SSL_CERT_FILE")
DEFAULT_GRACE: Final = 30.0
_DNS_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class PlanError(ValueError):
    """The pod cannot run locally; the message names the container, image or field."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    """What the runner knows that the pod spec does not."""

    name: str
    namespace: str = "default"
    network: NetworkMode = "netns"
    pod_ip: str = "127.0.0.1"
    host_ip: str = "127.0.0.1"
    node_name: str = "localrun"
    state_dir: str = "/tmp/wallarm-localrun"
    python: str = "python3"
    base_env: Mapping[str, str] = field(default_factory=dict)
    #: loopback mode: container port -> host port (absent: the same number)
    port_map: Mapping[int, int] = field(default_factory=dict)
    secrets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    config_maps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    images: Mapping[str, AppImage] = field(default_factory=lambda: dict(APP_IMAGES))
    grace_period: float | None = None
    #: why the network is loopback (printed with the skipped iptables init)
    loopback_reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Probe:
    """A readiness check, already pointed at a reachable address."""

    action: Literal["http", "tcp", "exec"]
    host: str = ""
    port: int = 0
    path: str = "/"
    scheme: str = "http"
    headers: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] = ()
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class PortPlan:
    container: str
    name: str
    container_port: int
    host_port: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessPlan:
    """One init container or container as a process."""

    name: str
    role: Role
    image: str
    runs: str  # what stands in for the image, for people
    argv: tuple[str, ...]
    env: Mapping[str, str]
    mounts: Mapping[str, str]  # mountPath -> host directory
    ports: tuple[PortPlan, ...] = ()
    readiness: Probe | None = None
    skipped: str = ""  # not run, and why


@dataclass(frozen=True, slots=True, kw_only=True)
class VolumePlan:
    name: str
    kind: str
    path: str
    files: Mapping[str, str] = field(default_factory=dict)  # written before the start
    owned: bool = True  # made (and removed) by localrun; a hostPath is not


@dataclass(frozen=True, slots=True, kw_only=True)
class PodPlan:
    name: str
    namespace: str
    network: NetworkMode
    pod_ip: str
    host_ip: str
    volumes: tuple[VolumePlan, ...]
    init_containers: tuple[ProcessPlan, ...]
    containers: tuple[ProcessPlan, ...]
    grace_period: float
    #: where clients send requests (the app port through iptables, or the proxy port)
    traffic: tuple[str, int] | None
    #: the proxy's status port (/healthz, /wallarm-status), if the pod has a proxy
    status: tuple[str, int] | None
    notes: tuple[str, ...] = ()

    @property
    def readiness_counted(self) -> tuple[ProcessPlan, ...]:
        """What READY n/N counts: the containers and the native sidecars."""
        return (*(p for p in self.init_containers if p.role == "sidecar"), *self.containers)

    @property
    def ports(self) -> tuple[PortPlan, ...]:
        """The ports the running processes listen on (what must be free on loopback)."""
        processes = (*self.init_containers, *self.containers)
        return tuple(
            port
            for process in processes
            if not process.skipped and process.role != "init"
            for port in process.ports
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedPod:
    """The pod of a manifest file, with the Secrets and ConfigMaps found beside it."""

    pod: JsonObject
    source: str  # Kind/name, for messages
    default_name: str  # the pod name, or the workload name as the prefix of one
    generated: bool  # the name still needs a suffix, as a ReplicaSet would add
    namespace: str
    secrets: dict[str, dict[str, str]]
    config_maps: dict[str, dict[str, str]]


# ------------------------------------------------------------------ manifests


def load_pod(documents: Iterable[Any], *, select: str = "") -> LoadedPod:
    """The one Pod or workload pod template in `documents` (`select` = `Kind/name`)."""
    runnable: list[tuple[str, JsonObject, JsonObject]] = []  # source, pod, owner metadata
    secrets: dict[str, dict[str, str]] = {}
    config_maps: dict[str, dict[str, str]] = {}
    for document in _flatten(documents):
        kind = str(document.get("kind"))
        metadata = document.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        name = str(metadata.get("name") or metadata.get("generateName") or "")
        source = f"{kind}/{name or '?'}"
        if kind == "Secret":
            secrets[name] = _secret_data(document, source)
        elif kind == "ConfigMap":
            data = document.get("data") or {}
            config_maps[name] = {str(k): str(v) for k, v in _as_map(data, source).items()}
        elif kind == "Pod":
            runnable.append((source, document, metadata))
        elif kind in TEMPLATE_PATHS:
            node: Any = document
            for key in TEMPLATE_PATHS[kind]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict):
                pod = {"apiVersion": "v1", "kind": "Pod", **node}
                runnable.append((source, pod, metadata))
    if select:
        runnable = [item for item in runnable if item[0].lower() == select.lower()]
        if not runnable:
            raise PlanError(f"no Pod or workload named {select!r} in the manifests")
    if not runnable:
        raise PlanError(
            "the manifests hold no Pod and no workload with a pod template "
            f"({', '.join(['Pod', *TEMPLATE_PATHS])})"
        )
    if len(runnable) > 1:
        names = ", ".join(item[0] for item in runnable)
        raise PlanError(f"the manifests hold several pods ({names}): choose one with --select")
    source, pod, owner = runnable[0]
    pod_meta = _map_or_empty(pod.get("metadata"))
    if source.startswith("Pod/"):
        default = str(pod_meta.get("name") or pod_meta.get("generateName") or "pod")
        generated = not pod_meta.get("name")
    else:
        default, generated = f"{owner.get('name') or 'pod'}-", True
    namespace = str(pod_meta.get("namespace") or owner.get("namespace") or "default")
    return LoadedPod(
        pod=pod,
        source=source,
        default_name=default,
        generated=generated,
        namespace=namespace,
        secrets=secrets,
        config_maps=config_maps,
    )


def _flatten(documents: Iterable[Any]) -> Iterable[JsonObject]:
    for document in documents:
        if not isinstance(document, dict):
            continue
        if document.get("kind") == "List" and isinstance(document.get("items"), list):
            yield from _flatten(document["items"])
        else:
            yield document


def _secret_data(document: JsonObject, source: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in _as_map(document.get("data") or {}, source).items():
        try:
            out[str(key)] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise PlanError(f"{source}: data.{key} is not base64 of UTF-8 text") from None
    for key, value in _as_map(document.get("stringData") or {}, source).items():
        out[str(key)] = str(value)
    return out


def _map_or_empty(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _as_map(value: Any, where: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise PlanError(f"{where}: expected a map, got {type(value).__name__}")
    return value


# ------------------------------------------------------------------ network choice


def choose_network(
    *, want_netns: bool, is_root: bool, have_ip: bool, have_iptables: bool, host_network: bool
) -> tuple[NetworkMode, str]:
    """The pod's own network namespace when we can make one, else the host's loopback."""
    if not want_netns:
        return "loopback", "--no-netns was given"
    if host_network:
        return "loopback", "the pod has hostNetwork: true"
    if not is_root:
        return "loopback", "not running as root (network namespaces need root)"
    if not have_ip:
        return "loopback", "the ip command (iproute2) is missing"
    if not have_iptables:
        return "loopback", "iptables is missing"
    return "netns", ""


# ------------------------------------------------------------------ the plan


def plan_pod(pod: JsonObject, options: PlanOptions) -> PodPlan:
    """Every process of `pod`, in start order, as `options` says to run it."""
    spec = pod.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("containers"), list):
        raise PlanError("the pod has no spec.containers")
    metadata = _map_or_empty(pod.get("metadata"))
    notes: list[str] = []
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    if (
        isinstance(labels, dict)
        and labels.get(ENABLE_LABEL) == "enabled"
        and not (isinstance(annotations, dict) and annotations.get(STATUS_ANNOTATION))
    ):
        notes.append(
            "the pod is labelled wallarm-sidecar: enabled but not injected: "
            "run `wallarm-sidecar inject -f FILE` first to get the sidecar"
        )
    context = _Context(pod=pod, metadata=metadata, spec=spec, options=options)
    volumes = tuple(_volume(v, context) for v in _maps(spec.get("volumes"), "spec.volumes"))
    context.volume_paths = {v.name: v.path for v in volumes}

    inits = [
        _process(c, "sidecar" if c.get("restartPolicy") == "Always" else "init", context)
        for c in _maps(spec.get("initContainers"), "spec.initContainers")
    ]
    containers = [_process(c, "container", context) for c in _maps(spec["containers"], "spec")]
    if not containers:
        raise PlanError("the pod has no containers")
    processes = [*inits, *containers]
    names = [p.name for p in processes]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PlanError(f"container name {twice[0]!r} is used twice")
    _check_port_clashes(processes)

    traffic, status = _addresses(processes, context)
    grace = options.grace_period
    if grace is None:
        value = spec.get("terminationGracePeriodSeconds")
        grace = float(value) if isinstance(value, int) and value >= 0 else DEFAULT_GRACE
    return PodPlan(
        name=options.name,
        namespace=options.namespace,
        network=options.network,
        pod_ip=options.pod_ip,
        host_ip=options.host_ip,
        volumes=volumes,
        init_containers=tuple(inits),
        containers=tuple(containers),
        grace_period=grace,
        traffic=traffic,
        status=status,
        notes=tuple(notes),
    )


@dataclass
class _Context:
    pod: JsonObject
    metadata: JsonObject
    spec: JsonObject
    options: PlanOptions
    volume_paths: dict[str, str] = field(default_factory=dict)

    @property
    def loopback(self) -> bool:
        return self.options.network == "loopback"

    @property
    def probe_host(self) -> str:
        return "127.0.0.1" if self.loopback else self.options.pod_ip

    def host_port(self, port: int) -> int:
        return self.options.port_map.get(port, port) if self.loopback else port


def _maps(value: Any, where: str) -> list[JsonObject]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise PlanError(f"{where} must be a list of maps")
    return value


def _process(container: JsonObject, role: Role, context: _Context) -> ProcessPlan:
    name = container.get("name")
    if not isinstance(name, str) or not _DNS_LABEL.fullmatch(name):
        # it names the log file and the process: a DNS label, as Kubernetes requires
        raise PlanError(f"container name {name!r} is not a DNS label (a-z, 0-9, -)")
    image = str(container.get("image") or "")
    where = f"container {name!r}"
    options = context.options
    mounts = _mounts(container, context, where)
    env = _environment(container, context, where)
    env = {key: _rewrite_path(value, mounts) for key, value in env.items()}
    command = _strings(container.get("command"), f"{where}: command")
    args = _strings(container.get("args"), f"{where}: args")
    command = [_expand(item, env) for item in command]
    args = [_expand(item, env) for item in args]
    named_ports = _declared_ports(container, where)
    skipped = ""
    image_port: int | None = None

    if command and PurePosixPath(command[0]).name == OUR_COMMAND:
        words = [_rewrite_path(item, mounts) for item in [*command[1:], *args]]
        argv = [options.python, "-m", "wallarm_sidecar", *words]
        runs = " ".join([OUR_COMMAND, *words])
        for mount_path, variable in DIRECTORY_ENV.items():
            if mount_path in mounts and variable not in env:
                env[variable] = mounts[mount_path]
        listen_ports = _our_ports(env, context, where)
        for variable, port in listen_ports.items():
            named_ports.setdefault(variable.removeprefix("NGINX_").lower(), port)
        if words[:1] == ["init-iptables"] and context.loopback:
            skipped = (
                f"{INIT_IPTABLES} skipped: no network namespace ({options.loopback_reason}); "
                "nothing redirects the application port, so clients use the proxy port"
            )
    else:
        mapped = options.images.get(image_repository(image))
        if mapped is None:
            known = ", ".join(sorted(options.images)) or "none"
            raise PlanError(
                f"{where}: image {image!r} has no local mapping (known images: {known}; "
                f"containers whose command is {OUR_COMMAND} ... run as local commands)"
            )
        # The declared port (named http, else the first) is where the pod's users and
        # the injected proxy expect the app; without one, the image's own port.
        image_port = named_ports.get("http", next(iter(named_ports.values()), mapped.port))
        host = "127.0.0.1" if context.loopback else "0.0.0.0"
        argv = mapped.argv(options.python, host, context.host_port(image_port))
        runs = mapped.description
        if image_port not in named_ports.values():
            named_ports[f"image-{image_port}"] = image_port

    ports = tuple(
        PortPlan(
            container=name, name=port_name, container_port=port, host_port=context.host_port(port)
        )
        for port_name, port in named_ports.items()
    )
    probe = container.get("readinessProbe")
    readiness = None
    if probe is not None and role != "init":
        readiness = _probe(probe, named_ports, context, f"{where}: readinessProbe")
    elif role != "init" and image_port is not None:
        # A local process needs a moment to listen, unlike a started image's server that
        # kubelet would see as ready at once; without a probe, ready = accepts connections.
        readiness = Probe(
            action="tcp", host=context.probe_host, port=context.host_port(image_port), period=1.0
        )
    env.setdefault("HOSTNAME", options.name)
    return ProcessPlan(
        name=name,
        role=role,
        image=image,
        runs=runs,
        argv=tuple(argv),
        env=env,
        mounts=mounts,
        ports=ports,
        readiness=readiness,
        skipped=skipped,
    )


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PlanError(f"{where} must be a list of strings")
    return list(value)


def _declared_ports(container: JsonObject, where: str) -> dict[str, int]:
    ports: dict[str, int] = {}
    for index, port in enumerate(_maps(container.get("ports"), f"{where}: ports")):
        number = port.get("containerPort")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            raise PlanError(f"{where}: ports[{index}].containerPort {number!r} is not a port")
        ports[str(port.get("name") or f"port-{number}")] = number
    return ports


def _our_ports(env: dict[str, str], context: _Context, where: str) -> dict[str, int]:
    """Ports our container listens on; on loopback, rewritten to 127.0.0.1:<host port>."""
    listening: dict[str, int] = {}
    for variable in (*LISTEN_ENV, *CONNECT_ENV):
        if variable not in env:
            continue
        try:
            host, port = parse_listen(env[variable])
        except ValueError as error:
            raise PlanError(f"{where}: {variable}={env[variable]!r}: {error}") from None
        if variable in LISTEN_ENV:
            listening[variable] = port
        if context.loopback:
            mapped = context.host_port(port)
            listen_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            env[variable] = f"{listen_host}:{mapped}" if variable in LISTEN_ENV else str(mapped)
    return listening


def _check_port_clashes(processes: Sequence[ProcessPlan]) -> None:
    seen: dict[int, str] = {}
    for process in processes:
        if process.skipped or process.role == "init":
            continue
        for port in process.ports:
            owner = f"{process.name} ({port.name} {port.container_port})"
            if port.host_port in seen and not seen[port.host_port].startswith(process.name + " "):
                raise PlanError(
                    f"port {port.host_port} is used twice: {seen[port.host_port]} and {owner}"
                )
            seen.setdefault(port.host_port, owner)


def _addresses(
    processes: Sequence[ProcessPlan], context: _Context
) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    """Where clients reach the pod, and the proxy's status port."""
    host = context.probe_host
    proxy = next((p for p in processes if p.name == PROXY and not p.skipped), None)
    capture = next((p for p in processes if p.name == INIT_IPTABLES), None)
    if proxy is None:
        first = next((port for p in processes if not p.skipped for port in p.ports), None)
        return ((host, first.host_port) if first else None), None
    ports = {port.name: port for port in proxy.ports}
    status = ports.get("status_port")
    status_address = (host, status.host_port) if status else None
    listen = ports.get("listen_port")
    if capture is not None and not capture.skipped:
        app_port = parse_listen(capture.env.get("NGINX_PROXY_PASS_PORT", "80"))[1]
        return (host, app_port), status_address
    if listen is None:
        return None, status_address
    return (host, listen.host_port), status_address


def _probe(probe: Any, ports: Mapping[str, int], context: _Context, where: str) -> Probe:
    if not isinstance(probe, dict):
        raise PlanError(f"{where} must be a map")

    def number(key: str, default: int, least: int) -> int:
        value = probe.get(key)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= 86400:
            raise PlanError(f"{where}: {key} {value!r} must be a whole number >= {least}")
        return value

    base = Probe(
        action="tcp",
        initial_delay=float(number("initialDelaySeconds", 0, 0)),
        period=float(number("periodSeconds", 10, 1)),
        timeout=float(number("timeoutSeconds", 1, 1)),
        success_threshold=number("successThreshold", 1, 1),
        failure_threshold=number("failureThreshold", 3, 1),
    )

    def port_of(action: JsonObject) -> int:
        port = action.get("port")
        if isinstance(port, str) and not port.isdigit():
            if port not in ports:
                raise PlanError(f"{where}: no container port named {port!r}")
            return context.host_port(ports[port])
        if isinstance(port, int | str) and 1 <= int(port) <= 65535:
            return context.host_port(int(port))
        raise PlanError(f"{where}: port {port!r} is not a port number or name")

    if isinstance(probe.get("httpGet"), dict):
        action = probe["httpGet"]
        headers = tuple(
            (str(h.get("name")), str(h.get("value")))
            for h in _maps(action.get("httpHeaders"), f"{where}: httpHeaders")
        )
        return replace(
            base,
            action="http",
            host=str(action.get("host") or context.probe_host),
            port=port_of(action),
            path=str(action.get("path") or "/"),
            scheme=str(action.get("scheme") or "HTTP").lower(),
            headers=headers,
        )
    if isinstance(probe.get("tcpSocket"), dict):
        action = probe["tcpSocket"]
        return replace(
            base, host=str(action.get("host") or context.probe_host), port=port_of(action)
        )
    if isinstance(probe.get("exec"), dict):
        command = _strings(probe["exec"].get("command"), f"{where}: exec.command")
        if command and PurePosixPath(command[0]).name == OUR_COMMAND:
            command = [context.options.python, "-m", "wallarm_sidecar", *command[1:]]
        return replace(base, action="exec", command=tuple(command))
    raise PlanError(f"{where}: only httpGet, tcpSocket and exec probes can run locally")


# ------------------------------------------------------------------ environment


_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def _expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` references to variables defined before; `$$` is a `$`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REFERENCE.sub(replace, text)


def _environment(container: JsonObject, context: _Context, where: str) -> dict[str, str]:
    options = context.options
    env = {key: value for key, value in options.base_env.items() if key in BASE_ENV}
    for index, source in enumerate(_maps(container.get("envFrom"), f"{where}: envFrom")):
        prefix = str(source.get("prefix") or "")
        for kind, store in (("configMapRef", options.config_maps), ("secretRef", options.secrets)):
            ref = source.get(kind)
            if isinstance(ref, dict):
                data = _lookup_store(store, ref, kind, f"{where}: envFrom[{index}]")
                env.update({prefix + key: value for key, value in (data or {}).items()})
    for item in _maps(container.get("env"), f"{where}: env"):
        name = str(item.get("name") or "")
        if not name:
            raise PlanError(f"{where}: an env entry has no name")
        if "valueFrom" in item:
            value = _value_from(item["valueFrom"], context, f"{where}: env {name}")
            if value is not None:
                env[name] = value
        else:
            env[name] = _expand(str(item.get("value") or ""), env)
    return env


def _lookup_store(
    store: Mapping[str, Mapping[str, str]], ref: JsonObject, kind: str, where: str
) -> Mapping[str, str] | None:
    name = str(ref.get("name") or "")
    if name in store:
        return store[name]
    if ref.get("optional") is True:
        return None
    what = "Secret" if kind.startswith("secret") else "ConfigMap"
    raise PlanError(
        f"{where}: {what} {name!r} is not given (put it into the manifest file beside the pod)"
    )


def _value_from(source: Any, context: _Context, where: str) -> str | None:
    if not isinstance(source, dict):
        raise PlanError(f"{where}: valueFrom must be a map")
    options = context.options
    if isinstance(source.get("fieldRef"), dict):
        return _field_value(str(source["fieldRef"].get("fieldPath")), context, where)
    for kind, store in (
        ("secretKeyRef", options.secrets),
        ("configMapKeyRef", options.config_maps),
    ):
        ref = source.get(kind)
        if isinstance(ref, dict):
            data = _lookup_store(store, ref, kind, where)
            if data is None:
                return None
            key = str(ref.get("key"))
            if key in data:
                return data[key]
            if ref.get("optional") is True:
                return None
            raise PlanError(f"{where}: key {key!r} is not in {ref.get('name')!r}")
    raise PlanError(f"{where}: only fieldRef, secretKeyRef and configMapKeyRef can be resolved")


_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['([^']*)'\]$")


def _field_value(path: str, context: _Context, where: str) -> str:
    """The downward API (`fieldRef.fieldPath`) as a local pod would answer it."""
    options = context.options
    values = {
        "metadata.name": options.name,
        "metadata.namespace": options.namespace,
        "metadata.uid": f"localrun-{options.namespace}-{options.name}",
        "spec.nodeName": options.node_name,
        "spec.serviceAccountName": str(context.spec.get("serviceAccountName") or "default"),
        "status.podIP": options.pod_ip,
        "status.podIPs": options.pod_ip,
        "status.hostIP": options.host_ip,
        "status.hostIPs": options.host_ip,
    }
    if path in values:
        return values[path]
    match = _SUBSCRIPT.match(path)
    if match:
        found = context.metadata.get(match.group(1)) or {}
        return str(found.get(match.group(2), "")) if isinstance(found, dict) else ""
    raise PlanError(f"{where}: fieldRef {path!r} is not a downward-API field localrun knows")


# ------------------------------------------------------------------ volumes


def _volume(volume: JsonObject, context: _Context) -> VolumePlan:
    name = volume.get("name")
    if not isinstance(name, str) or not _DNS_LABEL.fullmatch(name):
        raise PlanError(f"volume name {name!r} is not a DNS label (a-z, 0-9, -)")
    path = f"{context.options.state_dir}/volumes/{name}"
    where = f"volume {name!r}"
    options = context.options
    if "emptyDir" in volume:
        return VolumePlan(name=name, kind="emptyDir", path=path)
    if isinstance(volume.get("hostPath"), dict):
        host_path = str(volume["hostPath"].get("path") or "")
        if not host_path.startswith("/"):
            raise PlanError(f"{where}: hostPath.path must be absolute")
        return VolumePlan(name=name, kind="hostPath", path=host_path, owned=False)
    for kind, key, store in (
        ("configMap", "name", options.config_maps),
        ("secret", "secretName", options.secrets),
    ):
        source = volume.get(kind)
        if isinstance(source, dict):
            ref = {"name": source.get(key), "optional": source.get("optional")}
            data = _lookup_store(store, ref, kind, where) or {}
            items = _maps(source.get("items"), f"{where}: items")
            files = (
                {str(i.get("path")): data[str(i.get("key"))] for i in items if i.get("key") in data}
                if items
                else dict(data)
            )
            return VolumePlan(name=name, kind=kind, path=path, files=_safe_files(files, where))
    if isinstance(volume.get("downwardAPI"), dict):
        files = {}
        for item in _maps(volume["downwardAPI"].get("items"), f"{where}: items"):
            field_ref = item.get("fieldRef")
            if not isinstance(field_ref, dict):
                raise PlanError(f"{where}: only fieldRef items can be resolved")
            path_in = str(field_ref.get("fieldPath"))
            files[str(item.get("path"))] = _field_value(path_in, context, where)
        return VolumePlan(name=name, kind="downwardAPI", path=path, files=_safe_files(files, where))
    kinds = sorted(set(volume) - {"name"})
    raise PlanError(
        f"{where}: {', '.join(kinds) or 'no type'} cannot run locally "
        "(emptyDir, hostPath, configMap, secret and downwardAPI can)"
    )


def _safe_files(files: Mapping[str, str], where: str) -> dict[str, str]:
    for relative in files:
        parts = PurePosixPath(relative).parts
        if not parts or relative.startswith("/") or ".." in parts:
            raise PlanError(f"{where}: file path {relative!r} leaves the volume")
    return dict(files)


def _mounts(container: JsonObject, context: _Context, where: str) -> dict[str, str]:
    mounts: dict[str, str] = {}
    for mount in _maps(container.get("volumeMounts"), f"{where}: volumeMounts"):
        volume = str(mount.get("name"))
        if volume not in context.volume_paths:
            raise PlanError(f"{where}: mounts volume {volume!r}, which the pod does not declare")
        path = context.volume_paths[volume]
        sub = str(mount.get("subPath") or "")
        if sub:
            if sub.startswith("/") or ".." in PurePosixPath(sub).parts:
                raise PlanError(f"{where}: subPath {sub!r} leaves the volume")
            path = f"{path}/{sub}"
        mount_path = str(mount.get("mountPath") or "").rstrip("/")
        if not mount_path.startswith("/"):
            raise PlanError(f"{where}: mountPath {mount.get('mountPath')!r} must be absolute")
        mounts[mount_path] = path
    return mounts


def _rewrite_path(value: str, mounts: Mapping[str, str]) -> str:
    """A value naming a mount path (or a file under one) names the host directory instead."""
    for mount_path in sorted(mounts, key=len, reverse=True):
        if value == mount_path or value.startswith(mount_path + "/"):
            return mounts[mount_path] + value[len(mount_path) :]
    return value
