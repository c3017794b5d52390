"""The pod's `sidecar.wallarm.io/*` annotations as a table, and the options they give.

Each row names an annotation, the `PodOptions` field it sets, how its value is parsed and
the chart values key it overrides (annotation beats values, DESIGN §4). A value that does
not parse rejects the pod with a message naming the annotation and the value.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from wallarm_sidecar.detect import PARSER_NAMES
from wallarm_sidecar.injector._settings import (
    FilteringModeName,
    InjectionSettings,
    ModeOverrideName,
    SchemaName,
    SwitchName,
    parse_bool,
    parse_interval,
    parse_mode_name,
    parse_override_name,
    parse_quantity,
    parse_switch_name,
    parse_worker_processes,
)

PREFIX: Final = "sidecar.wallarm.io/"
STATUS_ANNOTATION: Final = PREFIX + "status"
STATUS_INJECTED: Final = "injected"

#: Injected containers whose resources annotations (`<c>-cpu` ...) and values keys exist.
ContainerKey = Literal["proxy", "helper", "init-iptables", "init-helper"]
RESOURCE_VALUES_KEYS: Final[dict[ContainerKey, str]] = {
    "proxy": "config.sidecar.containers.proxy.resources",
    "helper": "config.sidecar.containers.helper.resources",
    "init-iptables": "config.sidecar.initContainers.iptables.resources",
    "init-helper": "config.sidecar.initContainers.helper.resources",
}
_NGINX_ONLY = re.compile(r"^nginx-(?:[a-z]+-(?:include|snippet)|extra-modules)$")


class AnnotationError(ValueError):
    """An annotation whose value cannot be used; the message names it and the value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PodOptions:
    """What one pod gets: the settings with the pod's annotations applied."""

    schema: SchemaName
    iptables: bool
    native_sidecar: bool
    mode: FilteringModeName
    mode_allow_override: ModeOverrideName
    node_group: str
    application: str | None
    block_page: str | None
    fallback: SwitchName
    parser_disable: str | None
    enable_lib_detection: SwitchName
    parse_response: SwitchName
    parse_websocket: SwitchName
    unpack_response: SwitchName
    acl_export_enable: SwitchName
    connect_attempts: int
    reconnect_interval: str
    application_port: int | None  # None: detected from the pod
    listen_port: int
    status_port: int
    metrics_port: int
    worker_processes: str
    worker_connections: int
    image: str
    extra_volumes: tuple[dict[str, Any], ...] = ()
    extra_volume_mounts: tuple[dict[str, Any], ...] = ()
    #: requests/limits by container key, e.g. {"proxy": {"requests": {"cpu": "100m"}}}
    resources: dict[ContainerKey, dict[str, dict[str, str]]] = field(default_factory=dict)
    #: where each field's value came from: an annotation or a values key (for messages)
    sources: dict[str, str] = field(default_factory=dict)


def _int_in(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.strip().isdigit() or not low <= int(text) <= high:
            raise ValueError(f"must be {what} {low}-{high}")
        return int(text)

    return parse


def _choice(*names: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.strip().lower() not in names:
            raise ValueError(f"must be one of {', '.join(names)}")
        return text.strip().lower()

    return parse


def _word(what: str, *, forbidden: str = "") -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip()
        if (
            not value
            or len(value) > 128
            or any(c.isspace() or not c.isprintable() or c in forbidden for c in value)
        ):
            raise ValueError(f"must be {what}: 1-128 printable characters without spaces")
        return value

    return parse


def _block_page(text: str) -> str:
    """Syntax of `WALLARM_BLOCK_PAGE` (the page file lives in the pod, so is not read here)."""
    for word in text.split():
        if word.startswith("response_code="):
            code = word.removeprefix("response_code=")
            if not code.isdigit() or not 300 <= int(code) <= 599:
                raise ValueError("response_code must be a number 300-599")
        elif word.startswith("type="):
            reasons = set(word.removeprefix("type=").split(","))
            if not reasons <= {"attack", "acl_ip", "acl_source"}:
                raise ValueError("type must list attack, acl_ip, acl_source")
        elif not word.startswith(("&/", "http://", "https://", "/")):
            raise ValueError(
                "expected &/path/page.html, a redirect URL, response_code=NNN or type=..."
            )
    return text.strip()


def _parsers(text: str) -> str:
    names = [n.strip().lower() for n in text.replace(",", ";").split(";") if n.strip()]
    unknown = sorted(set(names) - PARSER_NAMES)
    if unknown:
        raise ValueError(
            f"unknown parser {', '.join(unknown)}; known: {', '.join(sorted(PARSER_NAMES))}"
        )
    return ";".join(names)


def _json_objects(what: str, required: tuple[str, ...]) -> Callable[[str], tuple[Any, ...]]:
    def parse(text: str) -> tuple[Any, ...]:
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"malformed JSON: {error.msg} at character {error.pos}") from None
        if not isinstance(items, list):
            raise ValueError(f"must be a JSON array of {what}")
        for item in items:
            if not isinstance(item, dict) or not all(
                isinstance(item.get(key), str) and item[key] for key in required
            ):
                raise ValueError(
                    f"must be a JSON array of {what}, each with {' and '.join(required)}"
                )
        return tuple(items)

    return parse


def _image(text: str) -> str:
    value = text.strip()
    if not value or any(c.isspace() for c in value):
        raise ValueError("must be an image reference such as registry/name:tag")
    return value


def _bool_word(text: str) -> bool:
    return parse_bool(text)


@dataclass(frozen=True, slots=True)
class AnnotationSpec:
    name: str
    field: str
    parse: Callable[[str], Any]
    values_key: str = ""


_PORT = _int_in(1, 65535, "a port")

ANNOTATIONS: Final[tuple[AnnotationSpec, ...]] = (
    AnnotationSpec(
        "sidecar-injection-schema",
        "schema",
        _choice("single", "split"),
        "config.injectionStrategy.schema",
    ),
    AnnotationSpec(
        "sidecar-injection-iptables-enable",
        "iptables",
        _bool_word,
        "config.injectionStrategy.iptablesEnable",
    ),
    AnnotationSpec("wallarm-mode", "mode", parse_mode_name, "config.wallarm.mode"),
    AnnotationSpec(
        "wallarm-mode-allow-override",
        "mode_allow_override",
        parse_override_name,
        "config.wallarm.modeAllowOverride",
    ),
    AnnotationSpec(
        "wallarm-node-group",
        "node_group",
        _word("a node group name", forbidden=",="),
        "config.wallarm.api.nodeGroup",
    ),
    AnnotationSpec("wallarm-application", "application", _word("an application id")),
    AnnotationSpec("wallarm-block-page", "block_page", _block_page),
    AnnotationSpec("wallarm-fallback", "fallback", parse_switch_name, "config.wallarm.fallback"),
    AnnotationSpec("wallarm-parser-disable", "parser_disable", _parsers),
    AnnotationSpec(
        "wallarm-enable-libdetection",
        "enable_lib_detection",
        parse_switch_name,
        "config.wallarm.enableLibDetection",
    ),
    AnnotationSpec(
        "wallarm-parse-response",
        "parse_response",
        parse_switch_name,
        "config.wallarm.parseResponse",
    ),
    AnnotationSpec(
        "wallarm-parse-websocket",
        "parse_websocket",
        parse_switch_name,
        "config.wallarm.parseWebsocket",
    ),
    AnnotationSpec(
        "wallarm-unpack-response",
        "unpack_response",
        parse_switch_name,
        "config.wallarm.unpackResponse",
    ),
    AnnotationSpec(
        "wallarm-acl-export-enable",
        "acl_export_enable",
        parse_switch_name,
        "config.wallarm.aclExportEnable",
    ),
    AnnotationSpec(
        "wallarm-upstream-connect-attempts",
        "connect_attempts",
        _int_in(1, 1000, "a number"),
        "config.wallarm.upstream.connectAttempts",
    ),
    AnnotationSpec(
        "wallarm-upstream-reconnect-interval",
        "reconnect_interval",
        parse_interval,
        "config.wallarm.upstream.reconnectInterval",
    ),
    AnnotationSpec("application-port", "application_port", _PORT, "config.nginx.applicationPort"),
    AnnotationSpec("nginx-listen-port", "listen_port", _PORT, "config.nginx.listenPort"),
    AnnotationSpec("nginx-status-port", "status_port", _PORT, "config.nginx.statusPort"),
    AnnotationSpec(
        "nginx-wallarm-metrics-port",
        "metrics_port",
        _PORT,
        "config.nginx.wallarmMetricsPort",
    ),
    AnnotationSpec(
        "nginx-worker-processes",
        "worker_processes",
        parse_worker_processes,
        "config.nginx.workerProcesses",
    ),
    AnnotationSpec(
        "nginx-worker-connections",
        "worker_connections",
        _int_in(1, 1_000_000, "a number"),
        "config.nginx.workerConnections",
    ),
    AnnotationSpec("proxy-extra-volumes", "extra_volumes", _json_objects("volumes", ("name",))),
    AnnotationSpec(
        "proxy-extra-volume-mounts",
        "extra_volume_mounts",
        _json_objects("volume mounts", ("name", "mountPath")),
    ),
    AnnotationSpec("proxy-image", "image", _image, "config.sidecar.image"),
    *(
        AnnotationSpec(
            f"{container}-{suffix}",
            f"resources.{container}.{section}.{resource}",
            parse_quantity,
            f"{values_key}.{section}.{resource}",
        )
        for container, values_key in RESOURCE_VALUES_KEYS.items()
        for suffix, section, resource in (
            ("cpu", "requests", "cpu"),
            ("memory", "requests", "memory"),
            ("cpu-limit", "limits", "cpu"),
            ("memory-limit", "limits", "memory"),
        )
    ),
)
_BY_NAME: Final = {spec.name: spec for spec in ANNOTATIONS}


def default_options(settings: InjectionSettings) -> PodOptions:
    wallarm, nginx, sidecar = settings.wallarm, settings.nginx, settings.sidecar
    containers = {
        "proxy": sidecar.containers.proxy,
        "helper": sidecar.containers.helper,
        "init-iptables": sidecar.init_containers.iptables,
        "init-helper": sidecar.init_containers.helper,
    }
    resources: dict[ContainerKey, dict[str, dict[str, str]]] = {}
    for key, container in containers.items():
        sections = {
            "requests": dict(container.resources.requests),
            "limits": dict(container.resources.limits),
        }
        resources[key] = {name: values for name, values in sections.items() if values}  # type: ignore[index]
    return PodOptions(
        schema=settings.injection_strategy.schema_name,
        iptables=settings.injection_strategy.iptables_enable,
        native_sidecar=settings.injection_strategy.native_sidecar,
        mode=wallarm.mode,
        mode_allow_override=wallarm.mode_allow_override,
        node_group=wallarm.api.node_group,
        application=None,
        block_page=None,
        fallback=wallarm.fallback,
        parser_disable=None,
        enable_lib_detection=wallarm.enable_lib_detection,
        parse_response=wallarm.parse_response,
        parse_websocket=wallarm.parse_websocket,
        unpack_response=wallarm.unpack_response,
        acl_export_enable=wallarm.acl_export_enable,
        connect_attempts=wallarm.upstream.connect_attempts,
        reconnect_interval=wallarm.upstream.reconnect_interval,
        application_port=None,
        listen_port=nginx.listen_port,
        status_port=nginx.status_port,
        metrics_port=nginx.wallarm_metrics_port,
        worker_processes=nginx.worker_processes,
        worker_connections=nginx.worker_connections,
        image=sidecar.image.reference,
        resources=resources,
        sources={spec.field: spec.values_key for spec in ANNOTATIONS if spec.values_key},
    )


def apply_annotations(
    options: PodOptions, annotations: Mapping[str, Any]
) -> tuple[PodOptions, list[str]]:
    """Options with the pod's annotations applied, and warnings; `AnnotationError` if invalid."""
    changes: dict[str, Any] = {}
    resources = {
        key: {s: dict(v) for s, v in sections.items()}
        for key, sections in options.resources.items()
    }
    sources = dict(options.sources)
    warnings: list[str] = []
    for key in sorted(annotations):
        if not key.startswith(PREFIX) or key == STATUS_ANNOTATION:
            continue
        name = key.removeprefix(PREFIX)
        value = annotations[key]
        spec = _BY_NAME.get(name)
        if spec is None:
            if _NGINX_ONLY.match(name):
                warnings.append(f"annotation {key} is NGINX-only and has no effect in this sidecar")
            else:
                warnings.append(f"annotation {key} is not known and has no effect")
            continue
        text = value if isinstance(value, str) else str(value)
        try:
            parsed = spec.parse(text)
        except ValueError as error:
            raise AnnotationError(f"annotation {key}={text!r}: {error}") from None
        sources[spec.field] = f"annotation {key}={text!r}"
        if spec.field.startswith("resources."):
            _, container, section, resource = spec.field.split(".")
            target = resources.setdefault(container, {})  # type: ignore[arg-type]
            target.setdefault(section, {})[resource] = parsed
        else:
            changes[spec.field] = parsed
    return (
        dataclasses.replace(options, **changes, resources=resources, sources=sources),
        warnings,
    )
