"""Options of the `jobs` and `appstructure` containers, validated once at start-up.

Cloud credentials are not options: they come from the environment only
(`WALLARM_API_TOKEN`, `WALLARM_API_CREDENTIAL`), or from the registration file that the
`register` init container (or jobs itself) wrote into `--node-dir`.
"""

from __future__ import annotations

import re
import socket
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from wallarm_sidecar._options import (
    Option,
    duration_input,
    labels_group_input,
    loopback_listen_input,
)
from wallarm_sidecar.postanalytics._behaviour import DEFAULT_AUTH_PATHS, BehaviourSettings

Port = Annotated[int, Field(ge=0, le=65535)]
Listen = Annotated[tuple[str, Port], BeforeValidator(loopback_listen_input)]
Seconds = Annotated[float, BeforeValidator(duration_input), Field(gt=0, le=86_400)]


class _Common(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    wstore_export: Listen = ("127.0.0.1", 3314)
    health_listen: Listen = ("127.0.0.1", 5006)
    node_dir: str = "/opt/wallarm/etc/wallarm"
    node_name: Annotated[str, Field(min_length=1, max_length=253)] = socket.gethostname()
    node_group: Annotated[str, BeforeValidator(labels_group_input), Field(max_length=200)] = ""
    namespace: Annotated[str, Field(max_length=63)] = ""
    page_size: Annotated[int, Field(ge=1, le=10_000)] = 1000
    retry_base: Seconds = 0.5
    retry_max: Seconds = 60.0
    cloud_timeout: Seconds = 10.0


class JobsSettings(_Common):
    export_interval: Seconds = 1.0
    brute_threshold: Annotated[int, Field(ge=0, le=1_000_000)] = 30
    brute_window: Seconds = 60.0
    brute_paths: str = DEFAULT_AUTH_PATHS
    dirbust_threshold: Annotated[int, Field(ge=0, le=1_000_000)] = 30
    dirbust_window: Seconds = 60.0
    bola_threshold: Annotated[int, Field(ge=0, le=1_000_000)] = 30
    bola_window: Seconds = 60.0
    auto_list: Literal["off", "gray", "deny"] = "off"
    auto_list_ttl: Seconds = 3600.0

    @field_validator("brute_paths")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"not a regular expression: {error}") from None
        return value

    def behaviour(self) -> BehaviourSettings:
        return BehaviourSettings(
            brute_threshold=self.brute_threshold,
            brute_window=self.brute_window,
            brute_paths=self.brute_paths,
            dirbust_threshold=self.dirbust_threshold,
            dirbust_window=self.dirbust_window,
            bola_threshold=self.bola_threshold,
            bola_window=self.bola_window,
        )


class AppstructureSettings(_Common):
    health_listen: Listen = ("127.0.0.1", 5007)
    report_interval: Seconds = 60.0
    read_interval: Seconds = 1.0
    max_endpoints: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000


_COMMON: tuple[Option, ...] = (
    Option(
        "wstore_export",
        "--wstore-export",
        "WALLARM_WSTORE_EXPORT",
        "wstore's export address (HOST:PORT), default 127.0.0.1:3314",
    ),
    Option("node_dir", "--node-dir", "WALLARM_NODE_DIR", "where the registration file lives"),
    Option("node_name", "--node-name", "WALLARM_NODE_NAME", "this node's name (the pod name)"),
    Option("node_group", "--labels", "WALLARM_LABELS", "node labels, group=<node group>"),
    Option("namespace", "--namespace", "POD_NAMESPACE", "the pod's namespace (recorded)"),
    Option(
        "page_size",
        "--page-size",
        "WALLARM_EXPORT_PAGE_SIZE",
        "records read from wstore at once (default 1000, at most 10000)",
    ),
    Option(
        "retry_base",
        "--retry-base",
        "WALLARM_EXPORT_RETRY_BASE",
        "first retry delay after a failure (default 0.5s; doubles, with jitter)",
    ),
    Option(
        "retry_max",
        "--retry-max",
        "WALLARM_EXPORT_RETRY_MAX",
        "longest retry delay (default 60s)",
    ),
    Option(
        "cloud_timeout",
        "--cloud-timeout",
        "WALLARM_API_TIMEOUT",
        "time for one Cloud call (default 10s)",
    ),
)

JOBS_OPTIONS: tuple[Option, ...] = (
    *_COMMON,
    Option(
        "health_listen",
        "--health-listen",
        "WALLARM_JOBS_HEALTH_LISTEN",
        "GET /health address, default 127.0.0.1:5006",
    ),
    Option(
        "export_interval",
        "--export-interval",
        "WALLARM_EXPORT_INTERVAL",
        "pause after a page that was not full (default 1s)",
    ),
    Option(
        "brute_threshold",
        "--brute-threshold",
        "WALLARM_BRUTE_THRESHOLD",
        "attempts on one auth endpoint from one source that make a brute hit (30; 0 off)",
    ),
    Option("brute_window", "--brute-window", "WALLARM_BRUTE_WINDOW", "their window (60s)"),
    Option(
        "brute_paths",
        "--brute-paths",
        "WALLARM_BRUTE_PATHS",
        "regular expression of auth paths (login, signin, auth, token, ...)",
    ),
    Option(
        "dirbust_threshold",
        "--dirbust-threshold",
        "WALLARM_DIRBUST_THRESHOLD",
        "distinct 404 paths from one source that make a dirbust hit (30; 0 off)",
    ),
    Option("dirbust_window", "--dirbust-window", "WALLARM_DIRBUST_WINDOW", "their window (60s)"),
    Option(
        "bola_threshold",
        "--bola-threshold",
        "WALLARM_BOLA_THRESHOLD",
        "distinct object ids through one endpoint from one source that make a bola hit (30; 0 off)",
    ),
    Option("bola_window", "--bola-window", "WALLARM_BOLA_WINDOW", "their window (60s)"),
    Option(
        "auto_list",
        "--auto-list",
        "WALLARM_BEHAVIOUR_AUTO_LIST",
        "put detected sources on the Cloud's IP list: off (default), gray or deny",
    ),
    Option(
        "auto_list_ttl",
        "--auto-list-ttl",
        "WALLARM_BEHAVIOUR_AUTO_LIST_TTL",
        "how long such an entry lasts (default 1h)",
    ),
)

APPSTRUCTURE_OPTIONS: tuple[Option, ...] = (
    *_COMMON,
    Option(
        "health_listen",
        "--health-listen",
        "WALLARM_APPSTRUCTURE_HEALTH_LISTEN",
        "GET /health address, default 127.0.0.1:5007",
    ),
    Option(
        "report_interval",
        "--report-interval",
        "WALLARM_APPSTRUCTURE_REPORT_INTERVAL",
        "how often the API inventory goes to the Cloud (default 60s)",
    ),
    Option(
        "read_interval",
        "--read-interval",
        "WALLARM_APPSTRUCTURE_READ_INTERVAL",
        "pause after reading everything wstore holds (default 1s)",
    ),
    Option(
        "max_endpoints",
        "--max-endpoints",
        "WALLARM_APPSTRUCTURE_MAX_ENDPOINTS",
        "endpoints held between two reports (default 10000)",
    ),
)

__all__ = ["APPSTRUCTURE_OPTIONS", "JOBS_OPTIONS", "AppstructureSettings", "JobsSettings"]
