"""`InjectionSettings`: the chart's `config` tree (plus `wstore`), validated once.

Field names are the chart's keys (camelCase aliases); `settings_json_schema()` is the
part of the chart's `values.schema.json` under `config`. Keys the injector does not use
(the chart's own, or newer ones) are ignored rather than refused, so every values file of
the public Sidecar documentation loads.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel

from wallarm_sidecar import __version__
from wallarm_sidecar._options import parse_duration
from wallarm_sidecar.proxy import PRIVATE_NETWORKS  # the proxy's own default trust

FilteringModeName = Literal["off", "monitoring", "safe_blocking", "block"]
ModeOverrideName = Literal["on", "off", "strict"]
SwitchName = Literal["on", "off"]
SchemaName = Literal["single", "split"]


DEFAULT_IMAGE = f"wallarm-sidecar:{__version__}"

_QUANTITY = re.compile(
    r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"
)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def parse_switch_name(value: Any) -> SwitchName:
    """`on`/`off` from YAML booleans (`on` unquoted is `true` in YAML 1.1) or words."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"on", "true", "yes", "1", "enabled"}:
            return "on"
        if lowered in {"off", "false", "no", "0", "disabled"}:
            return "off"
    raise ValueError("must be on or off")


def parse_mode_name(value: Any) -> FilteringModeName:
    if isinstance(value, str):
        lowered = value.strip().lower().replace("-", "_")
        if lowered in ("off", "monitoring", "safe_blocking", "block"):
            return lowered  # type: ignore[return-value]
    if value is False:  # YAML 1.1: an unquoted `off`
        return "off"
    raise ValueError("must be one of off, monitoring, safe_blocking, block")


def parse_override_name(value: Any) -> ModeOverrideName:
    if isinstance(value, str) and value.strip().lower() == "strict":
        return "strict"
    return parse_switch_name(value)


def parse_bool(value: Any) -> bool:
    return parse_switch_name(value) == "on"


def parse_worker_processes(value: Any) -> str:
    text = str(value).strip().lower() if not isinstance(value, bool) else ""
    if text == "auto" or (text.isdigit() and 1 <= int(text) <= 256):
        return text
    raise ValueError("must be auto or a number of processes 1-256")


def parse_quantity(value: Any) -> str:
    text = str(value).strip() if isinstance(value, str | int | float) else ""
    if isinstance(value, bool) or not _QUANTITY.match(text):
        raise ValueError("must be a Kubernetes quantity such as 100m, 0.5, 128Mi or 1Gi")
    return text


def parse_interval(value: Any) -> str:
    text = str(value).strip()
    parse_duration(text)  # raises ValueError with the accepted forms
    return text


def parse_networks(value: Any) -> tuple[str, ...]:
    items: list[Any]
    if isinstance(value, str):
        items = [item for item in value.replace(",", " ").split() if item]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ValueError("must be a list of IP addresses or CIDRs")
    networks: list[str] = []
    for item in items:
        try:
            networks.append(str(ipaddress.ip_network(str(item).strip(), strict=False)))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR") from None
    return tuple(networks)


_SWITCH_WORDS = ["on", "off", "true", "false", "yes", "no", "enabled", "disabled"]
_SWITCH_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "boolean"}, {"enum": _SWITCH_WORDS}]}

Port = Annotated[int, Field(ge=1, le=65535)]
Switch = Annotated[SwitchName, BeforeValidator(parse_switch_name), WithJsonSchema(_SWITCH_SCHEMA)]
Flag = Annotated[bool, BeforeValidator(parse_bool), WithJsonSchema(_SWITCH_SCHEMA)]
Quantity = Annotated[
    str,
    BeforeValidator(parse_quantity),
    WithJsonSchema({"type": ["string", "number"], "pattern": _QUANTITY.pattern}),
]


class _Section(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True
    )


class ExistingSecret(_Section):
    """Where the chart finds the API token instead of `api.token`."""

    enabled: Flag = False
    secret_name: str = "wallarm-api-token"
    secret_key: str = "token"


class ApiSettings(_Section):
    """`config.wallarm.api`: the Cloud the nodes register with."""

    token: SecretStr = SecretStr("")
    host: str = "api.wallarm.com"
    port: Port = 443
    use_ssl: Flag = Field(
        default=True, alias="useSSL", validation_alias=AliasChoices("useSSL", "use_ssl")
    )
    ca_verify: Flag = True
    node_group: Annotated[str, Field(min_length=1, max_length=128)] = "defaultSidecarGroup"
    existing_secret: ExistingSecret = ExistingSecret()


class UpstreamSettings(_Section):
    """`config.wallarm.upstream`: how the proxy reaches postanalytics."""

    connect_attempts: Annotated[int, Field(ge=1, le=1000)] = 10
    reconnect_interval: Annotated[str, BeforeValidator(parse_interval)] = "15s"


class WallarmSettings(_Section):
    """`config.wallarm`: filtering behaviour of the injected nodes."""

    mode: Annotated[
        FilteringModeName,
        BeforeValidator(parse_mode_name),
        WithJsonSchema(
            {"anyOf": [{"enum": ["off", "monitoring", "safe_blocking", "block"]}, {"const": False}]}
        ),
    ] = "monitoring"
    mode_allow_override: Annotated[
        ModeOverrideName,
        BeforeValidator(parse_override_name),
        WithJsonSchema({"anyOf": [{"type": "boolean"}, {"enum": [*_SWITCH_WORDS, "strict"]}]}),
    ] = "on"
    fallback: Switch = "on"
    enable_lib_detection: Switch = "on"
    parse_response: Switch = "on"
    parse_websocket: Switch = "off"
    unpack_response: Switch = "on"
    acl_export_enable: Switch = "on"
    upstream: UpstreamSettings = UpstreamSettings()
    api: ApiSettings = ApiSettings()


class InjectionStrategy(_Section):
    """`config.injectionStrategy`: which containers are injected."""

    schema_name: SchemaName = Field(
        default="single", alias="schema", validation_alias=AliasChoices("schema", "schema_name")
    )
    iptables_enable: Flag = True
    native_sidecar: Flag = False


class NginxSettings(_Section):
    """`config.nginx`: ports and workers of the proxy (names kept from the NGINX original)."""

    application_port: Port = 80
    listen_port: Port = 26001
    status_port: Port = 10246
    wallarm_metrics_port: Port = 18080
    worker_processes: Annotated[
        str,
        BeforeValidator(parse_worker_processes),
        WithJsonSchema(
            {
                "anyOf": [
                    {"const": "auto"},
                    {"type": "integer", "minimum": 1, "maximum": 256},
                    {"type": "string", "pattern": "^[0-9]+$"},
                ]
            }
        ),
    ] = "auto"
    worker_connections: Annotated[int, Field(ge=1, le=1_000_000)] = 4096
    real_ip_header: Annotated[str, Field(pattern=_HEADER_NAME.pattern)] = "X-Forwarded-For"
    set_real_ip_from: Annotated[
        tuple[str, ...],
        BeforeValidator(parse_networks),
        WithJsonSchema(
            {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]}
        ),
    ] = PRIVATE_NETWORKS


class Resources(_Section):
    """A container's `resources` (requests and limits of cpu and memory)."""

    requests: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}


class ContainerSettings(_Section):
    resources: Resources = Resources()


class SidecarContainers(_Section):
    proxy: ContainerSettings = ContainerSettings()
    helper: ContainerSettings = ContainerSettings()


class SidecarInitContainers(_Section):
    iptables: ContainerSettings = ContainerSettings()
    helper: ContainerSettings = ContainerSettings()


class ImageSettings(_Section):
    """`config.sidecar.image` in the chart's map form (a plain string is accepted too)."""

    registry: str = ""
    image: str = "wallarm-sidecar"
    tag: str = __version__
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"

    @property
    def reference(self) -> str:
        name = f"{self.registry.rstrip('/')}/{self.image}" if self.registry else self.image
        return f"{name}@{self.tag}" if self.tag.startswith("sha256:") else f"{name}:{self.tag}"


def _image(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip() or any(c.isspace() for c in value.strip()):
            raise ValueError("must be an image reference")
        name, _, tag = value.strip().rpartition(":")
        if not name or "/" in tag:
            return {"image": value.strip(), "tag": "latest"}
        return {"image": name, "tag": tag}
    return value


def _string_or_map(schema: dict[str, Any]) -> None:
    reference = schema.pop("$ref", None)
    if reference is not None:
        schema["anyOf"] = [{"type": "string"}, {"$ref": reference}]


class SidecarSettings(_Section):
    """`config.sidecar`: image, security context and resources of the injected containers."""

    image: Annotated[ImageSettings, BeforeValidator(_image)] = Field(
        default=ImageSettings(), json_schema_extra=_string_or_map
    )
    security_context: dict[str, Any] = {}
    containers: SidecarContainers = SidecarContainers()
    init_containers: SidecarInitContainers = SidecarInitContainers()


class WstoreSettings(_Section):
    """Where postanalytics listens; the chart fills it with its Service."""

    host: Annotated[str, Field(min_length=1)] = "wallarm-sidecar-postanalytics.wallarm-sidecar.svc"
    port: Port = 3313


class InjectionSettings(_Section):
    """The chart's `config` tree plus `wstore`: everything `mutate` needs besides the pod."""

    wallarm: WallarmSettings = WallarmSettings()
    injection_strategy: InjectionStrategy = InjectionStrategy()
    nginx: NginxSettings = NginxSettings()
    sidecar: SidecarSettings = SidecarSettings()
    wstore: WstoreSettings = WstoreSettings()

    @field_validator("nginx")
    @classmethod
    def _ports_differ(cls, nginx: NginxSettings) -> NginxSettings:
        ports = (nginx.listen_port, nginx.status_port, nginx.wallarm_metrics_port)
        if len(set(ports)) != len(ports):
            raise ValueError("listenPort, statusPort and wallarmMetricsPort must all differ")
        return nginx

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> InjectionSettings:
        """From a controller config file: the chart's `config` content plus `wstore`."""
        return cls.model_validate(dict(config or {}))

    @classmethod
    def from_values(cls, values: Mapping[str, Any] | None) -> InjectionSettings:
        """From a chart values file (top level `config:`)."""
        config = (values or {}).get("config") or {}
        if not isinstance(config, Mapping):
            raise ValueError("the values' config key must be a map")
        return cls.from_config(config)

    @property
    def token(self) -> str:
        return self.wallarm.api.token.get_secret_value()

    def with_token(self, token: str) -> InjectionSettings:
        api = self.wallarm.api.model_copy(update={"token": SecretStr(token)})
        wallarm = self.wallarm.model_copy(update={"api": api})
        return self.model_copy(update={"wallarm": wallarm})


#: Chart keys that may sit under `config` (the ARM64 example nests them there) and are not ours.
CHART_KEYS: frozenset[str] = frozenset({"postanalytics", "controller"})


def unknown_keys(config: Mapping[str, Any]) -> list[str]:
    """Dotted keys of `config` that no setting reads (typos, or options of another chart)."""
    return sorted(_unknown(InjectionSettings, config, "", top=True))


def _unknown(
    model: type[BaseModel], data: Mapping[str, Any], prefix: str, *, top: bool
) -> list[str]:
    found: list[str] = []
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    for key, value in data.items():
        info = fields.get(str(key))
        if info is None:
            if not (top and key in CHART_KEYS):
                found.append(f"{prefix}{key}")
            continue
        annotation = info.annotation
        if (
            isinstance(value, Mapping)
            and isinstance(annotation, type)
            and issubclass(annotation, _Section)
        ):
            found += _unknown(annotation, value, f"{prefix}{key}.", top=False)
    return found


def settings_json_schema() -> dict[str, Any]:
    """JSON schema of the `config` tree, for the chart's `values.schema.json`."""
    return InjectionSettings.model_json_schema(by_alias=True, mode="validation")
