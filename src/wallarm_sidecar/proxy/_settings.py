"""The proxy's configuration: DESIGN §4's environment (or the equivalent flags)."""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from wallarm_sidecar._options import (
    Option,
    duration_input,
    labels_group_input,
    listen_input,
    switch_input,
)
from wallarm_sidecar.detect import PARSER_NAMES
from wallarm_sidecar.proxy._blockpage import BlockPage
from wallarm_sidecar.proxy._policy import PRIVATE_NETWORKS, FilteringMode, ModeOverride, Network


def _mode(value: Any) -> Any:
    return FilteringMode.parse(value) if isinstance(value, str) else value


def _override(value: Any) -> Any:
    return ModeOverride.parse(value) if isinstance(value, str) else value


def _workers(value: Any) -> Any:
    if isinstance(value, str):
        if value.strip().lower() == "auto":
            return len(os.sched_getaffinity(0)) or 1
        if not value.strip().isdigit():
            raise ValueError("must be auto or a number of processes")
        return int(value)
    return value


def _networks(value: Any) -> Any:
    if isinstance(value, str):
        items = [item for item in value.replace(",", " ").split() if item]
        try:
            return tuple(ipaddress.ip_network(item, strict=False) for item in items)
        except ValueError as error:
            raise ValueError(f"must be IP addresses or CIDRs: {error}") from None
    return value


def _parsers(value: Any) -> Any:
    if isinstance(value, str):
        names = frozenset(n.strip().lower() for n in value.replace(",", ";").split(";"))
        names -= {""}
        unknown = names - PARSER_NAMES
        if unknown:
            raise ValueError(
                f"unknown parser {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(PARSER_NAMES))}"
            )
        return names
    return value


def _block_page(value: Any) -> Any:
    return BlockPage.parse(value) if isinstance(value, str) else value


def _application(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if len(value) > 128 or any(c.isspace() or not c.isprintable() for c in value):
            raise ValueError("must be an application id without spaces, at most 128 characters")
    return value


Port = Annotated[int, Field(ge=1, le=65535)]
Listen = Annotated[tuple[str, Port], BeforeValidator(listen_input)]
Seconds = Annotated[float, BeforeValidator(duration_input), Field(gt=0)]
Switch = Annotated[bool, BeforeValidator(switch_input)]


class ProxySettings(BaseModel):
    """Validated once at start-up; travels to the workers as this object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Annotated[FilteringMode, BeforeValidator(_mode)] = FilteringMode.MONITORING
    mode_allow_override: Annotated[ModeOverride, BeforeValidator(_override)] = ModeOverride.ON
    listen: Listen = ("0.0.0.0", 26001)
    upstream_host: str = "127.0.0.1"
    upstream_port: Port = 80
    status_listen: Listen = ("0.0.0.0", 10246)
    metrics_listen: Listen = ("0.0.0.0", 18080)
    worker_processes: Annotated[int, BeforeValidator(_workers), Field(ge=1, le=256)] = 1
    worker_connections: Annotated[int, Field(ge=1, le=1_000_000)] = 4096
    real_ip_header: Annotated[str, Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")] = (
        "X-Forwarded-For"
    )
    set_real_ip_from: Annotated[tuple[Network, ...], BeforeValidator(_networks)] = tuple(
        ipaddress.ip_network(n) for n in PRIVATE_NETWORKS
    )
    wstore_host: str = "127.0.0.1"
    wstore_port: Port = 3313
    upstream_connect_attempts: Annotated[int, Field(ge=1, le=1000)] = 10
    upstream_reconnect_interval: Seconds = 15.0
    block_page: Annotated[BlockPage, BeforeValidator(_block_page)] = BlockPage()
    application: Annotated[str, BeforeValidator(_application)] = ""
    node_name: str = socket.gethostname()
    node_group: Annotated[str, BeforeValidator(labels_group_input)] = ""
    parser_disable: Annotated[frozenset[str], BeforeValidator(_parsers)] = frozenset()
    enable_lib_detection: Switch = True
    node_dir: str = "/opt/wallarm/etc/wallarm"
    acl_dir: str = "/opt/wallarm/var/lib/wallarm-acl"
    inspect_body_limit: Annotated[int, Field(ge=0, le=16 * 1024 * 1024)] = 64 * 1024
    #: API discovery: seconds between two requests of one endpoint whose parameter
    #: names and types the record carries (0: every request)
    parameter_sample_interval: Annotated[
        float, BeforeValidator(duration_input), Field(ge=0, le=86400)
    ] = 1.0
    max_body_size: Annotated[int, Field(ge=0)] = 100 * 1024 * 1024
    max_header_size: Annotated[int, Field(ge=1024, le=1024 * 1024)] = 32 * 1024
    client_header_timeout: Seconds = 60.0
    client_body_timeout: Seconds = 60.0
    keepalive_timeout: Seconds = 75.0
    upstream_connect_timeout: Seconds = 10.0
    upstream_read_timeout: Seconds = 60.0
    shutdown_timeout: Seconds = 30.0
    access_log: Switch = True
    record_queue_size: Annotated[int, Field(ge=1, le=10_000_000)] = 10_000

    @model_validator(mode="after")
    def _ports_differ(self) -> ProxySettings:
        if self.listen[1] == self.upstream_port and self.upstream_host in (
            "127.0.0.1",
            "localhost",
            "::1",
        ):
            raise ValueError(
                f"the listen port {self.listen[1]} equals the application port "
                "(NGINX_PROXY_PASS_PORT): requests would loop"
            )
        ports = {self.listen[1], self.status_listen[1], self.metrics_listen[1]}
        if len(ports) != 3:
            raise ValueError("the listen, status and metrics ports must all differ")
        return self


PROXY_OPTIONS: tuple[Option, ...] = (
    Option(
        "mode", "--mode", "WALLARM_MODE", "filtering mode: off, monitoring, safe_blocking, block"
    ),
    Option(
        "mode_allow_override",
        "--mode-allow-override",
        "WALLARM_MODE_ALLOW_OVERRIDE",
        "how Cloud mode rules apply: on, off, strict",
    ),
    Option(
        "listen", "--listen", "NGINX_LISTEN_PORT", "where the proxy listens (PORT or HOST:PORT)"
    ),
    Option("upstream_port", "--upstream-port", "NGINX_PROXY_PASS_PORT", "the application port"),
    Option("upstream_host", "--upstream-host", "WALLARM_UPSTREAM_HOST", "the application host"),
    Option("status_listen", "--status-listen", "NGINX_STATUS_PORT", "status port (/healthz)"),
    Option(
        "metrics_listen",
        "--metrics-listen",
        "NGINX_WALLARM_METRICS_PORT",
        "Prometheus port (/wallarm-metrics)",
    ),
    Option("worker_processes", "--workers", "NGINX_WORKER_PROCESSES", "worker processes or auto"),
    Option(
        "worker_connections",
        "--worker-connections",
        "NGINX_WORKER_CONNECTIONS",
        "client connections per worker",
    ),
    Option("real_ip_header", "--real-ip-header", "NGINX_REAL_IP_HEADER", "client address header"),
    Option(
        "set_real_ip_from",
        "--set-real-ip-from",
        "NGINX_SET_REAL_IP_FROM",
        "trusted proxies (CIDRs, comma separated)",
    ),
    Option("wstore_host", "--wstore-host", "WALLARM_WSTORE_HOST", "postanalytics host"),
    Option("wstore_port", "--wstore-port", "WALLARM_WSTORE_PORT", "postanalytics port"),
    Option(
        "upstream_connect_attempts",
        "--wstore-connect-attempts",
        "WALLARM_UPSTREAM_CONNECT_ATTEMPTS",
        "postanalytics connection attempts before waiting the reconnect interval",
    ),
    Option(
        "upstream_reconnect_interval",
        "--wstore-reconnect-interval",
        "WALLARM_UPSTREAM_RECONNECT_INTERVAL",
        "wait between postanalytics reconnection rounds (15s, 500ms)",
    ),
    Option("block_page", "--block-page", "WALLARM_BLOCK_PAGE", "block page or code"),
    Option("application", "--application", "WALLARM_APPLICATION", "application id"),
    Option("node_name", "--node-name", "WALLARM_NODE_NAME", "node name (defaults to host name)"),
    Option("node_group", "--labels", "WALLARM_LABELS", "node labels, group=<node group>"),
    Option("parser_disable", "--parser-disable", "WALLARM_PARSER_DISABLE", "parsers to disable"),
    Option(
        "enable_lib_detection",
        "--enable-lib-detection",
        "WALLARM_ENABLE_LIB_DETECTION",
        "SQL/HTML tokenising detectors: on, off",
    ),
    Option("node_dir", "--node-dir", "WALLARM_NODE_DIR", "node credentials and Cloud config"),
    Option("acl_dir", "--acl-dir", "WALLARM_ACL_DIR", "directory of ip-lists.json"),
    Option(
        "inspect_body_limit",
        "--inspect-body-limit",
        "WALLARM_INSPECT_BODY_LIMIT",
        "request body bytes inspected (the rest is streamed)",
    ),
    Option(
        "parameter_sample_interval",
        "--parameter-sample-interval",
        "WALLARM_PARAMETER_SAMPLE_INTERVAL",
        "API discovery: seconds between parameter samples of one endpoint (0: every request)",
    ),
    Option("max_body_size", "--max-body-size", "WALLARM_MAX_BODY_SIZE", "largest request body"),
    Option(
        "max_header_size", "--max-header-size", "WALLARM_MAX_HEADER_SIZE", "largest request head"
    ),
    Option(
        "client_header_timeout",
        "--client-header-timeout",
        "WALLARM_CLIENT_HEADER_TIMEOUT",
        "time to receive a request head",
    ),
    Option(
        "client_body_timeout",
        "--client-body-timeout",
        "WALLARM_CLIENT_BODY_TIMEOUT",
        "longest pause while receiving a body",
    ),
    Option(
        "keepalive_timeout",
        "--keepalive-timeout",
        "WALLARM_KEEPALIVE_TIMEOUT",
        "idle keep-alive connections are closed after this",
    ),
    Option(
        "upstream_connect_timeout",
        "--upstream-connect-timeout",
        "WALLARM_UPSTREAM_CONNECT_TIMEOUT",
        "time to connect to the application",
    ),
    Option(
        "upstream_read_timeout",
        "--upstream-read-timeout",
        "WALLARM_UPSTREAM_READ_TIMEOUT",
        "longest wait for the application's response",
    ),
    Option(
        "shutdown_timeout",
        "--shutdown-timeout",
        "WALLARM_SHUTDOWN_TIMEOUT",
        "how long SIGTERM waits for in-flight requests",
    ),
    Option("access_log", "--access-log", "WALLARM_ACCESS_LOG", "JSON access log: on, off"),
    Option(
        "record_queue_size",
        "--record-queue-size",
        "WALLARM_RECORD_QUEUE_SIZE",
        "request records kept while postanalytics is away",
    ),
)
