"""Settings of the node's Cloud jobs (`register`, `helper`, and the jobs inside `node`).

The identity rows (`WALLARM_NODE_NAME`, `WALLARM_LABELS`, `WALLARM_NODE_DIR`,
`WALLARM_ACL_DIR`) are the proxy's own, so `node` takes each flag once.
"""

from __future__ import annotations

import socket
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from wallarm_sidecar._options import Option, parse_duration, parse_switch
from wallarm_sidecar.cloudlink._endpoint import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    CloudEndpoint,
    parse_api_host,
    parse_api_port,
    parse_ca_verify,
)
from wallarm_sidecar.proxy._settings import PROXY_OPTIONS


def _when_text(parse: Any) -> Any:
    return lambda value: parse(value) if isinstance(value, str) else value


def parse_labels_group(text: str) -> str:
    """`WALLARM_LABELS=group=<name>[,key=value]` gives the node group ('' when absent)."""
    for item in text.split(","):
        key, _, group = item.partition("=")
        if key.strip() == "group":
            return group.strip()
    return ""


def _secret(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if any(c.isspace() or not c.isprintable() for c in value):
            raise ValueError("must be one printable word (a token or credential)")
    return value


Seconds = Annotated[float, BeforeValidator(_when_text(parse_duration))]
Secret = Annotated[str, BeforeValidator(_secret), Field(max_length=4096)]


class NodeSyncSettings(BaseModel):
    """Validated once at start-up (docs/node-sync.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_host: Annotated[str, BeforeValidator(_when_text(parse_api_host))] = DEFAULT_HOST
    api_port: Annotated[int, BeforeValidator(_when_text(parse_api_port))] = DEFAULT_PORT
    api_use_ssl: Annotated[bool, BeforeValidator(_when_text(parse_switch))] = True
    api_ca_verify: Annotated[bool | str, BeforeValidator(_when_text(parse_ca_verify))] = True
    api_credential: Secret = ""
    api_token: Secret = ""
    api_timeout: Annotated[Seconds, Field(gt=0, le=300)] = 10.0
    node_name: Annotated[str, Field(min_length=1, max_length=253)] = socket.gethostname()
    node_group: Annotated[str, BeforeValidator(_when_text(parse_labels_group))] = ""
    namespace: Annotated[str, Field(max_length=63)] = ""
    node_dir: str = "/opt/wallarm/etc/wallarm"
    acl_dir: str = "/opt/wallarm/var/lib/wallarm-acl"
    sync_interval: Annotated[Seconds, Field(ge=0.05, le=86400)] = 30.0
    register_timeout: Annotated[Seconds, Field(ge=0, le=86400)] = 60.0
    fallback: Annotated[bool, BeforeValidator(_when_text(parse_switch))] = True

    @property
    def endpoint(self) -> CloudEndpoint:
        return CloudEndpoint(self.api_host, self.api_port, self.api_use_ssl, self.api_ca_verify)

    @property
    def credential(self) -> str:
        """What registers this node: the scoped credential, else the token ('' if neither)."""
        return self.api_credential or self.api_token


#: The proxy's rows for what the jobs share with it (same flags, same variables).
SHARED_OPTIONS: tuple[Option, ...] = tuple(
    option
    for option in PROXY_OPTIONS
    if option.field in ("node_name", "node_group", "node_dir", "acl_dir")
)

#: The jobs' own rows (`node` adds these to the proxy's).
JOB_OPTIONS: tuple[Option, ...] = (
    Option("api_host", "--api-host", "WALLARM_API_HOST", "Cloud API host"),
    Option("api_port", "--api-port", "WALLARM_API_PORT", "Cloud API port"),
    Option("api_use_ssl", "--api-use-ssl", "WALLARM_API_USE_SSL", "HTTPS to the Cloud: on, off"),
    Option(
        "api_ca_verify",
        "--api-ca-verify",
        "WALLARM_API_CA_VERIFY",
        "verify the Cloud's certificate: true, false or a CA bundle file",
    ),
    Option(
        "api_credential",
        "--api-credential",
        "WALLARM_API_CREDENTIAL",
        "scoped credential (wsc1...) from the controller; prefer the env var",
    ),
    Option(
        "api_token",
        "--api-token",
        "WALLARM_API_TOKEN",
        "node token, or API token with WALLARM_LABELS; prefer the env var",
    ),
    Option("api_timeout", "--api-timeout", "WALLARM_API_TIMEOUT", "timeout of one Cloud call"),
    Option("namespace", "--namespace", "POD_NAMESPACE", "the pod's namespace"),
    Option(
        "sync_interval",
        "--sync-interval",
        "WALLARM_SYNC_INTERVAL",
        "how often mode rules and IP lists are fetched (30s)",
    ),
    Option(
        "register_timeout",
        "--register-timeout",
        "WALLARM_REGISTER_TIMEOUT",
        "how long registration retries before register gives up (60s)",
    ),
    Option(
        "fallback",
        "--fallback",
        "WALLARM_FALLBACK",
        "on: serve traffic without registration; off: refuse to start unregistered",
    ),
)

SYNC_OPTIONS: tuple[Option, ...] = SHARED_OPTIONS + JOB_OPTIONS

__all__ = [
    "JOB_OPTIONS",
    "SHARED_OPTIONS",
    "SYNC_OPTIONS",
    "NodeSyncSettings",
    "parse_labels_group",
]
