"""The wstore's configuration: flags or environment, validated once at start-up."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from wallarm_sidecar._options import (
    Option,
    duration_input,
    listen_input,
)

GIB = 1024**3
MAX_ARENA_GB = 4096.0


def parse_arena(value: Any) -> float:
    """GB (GiB) as the chart writes it: 2, 2.0, "2.0", "0.05"."""
    text = str(value).strip().strip("\"'") if not isinstance(value, int | float) else value
    try:
        gigabytes = float(text)
    except (TypeError, ValueError):
        raise ValueError("must be a number of GB such as 2.0 or 0.05") from None
    if not math.isfinite(gigabytes) or not 0 < gigabytes <= MAX_ARENA_GB:
        raise ValueError(f"must be a number of GB above 0 and at most {MAX_ARENA_GB:g}")
    return gigabytes


def _arena(value: Any) -> Any:
    return parse_arena(value) if not isinstance(value, bool) else value


# Port 0 (any free port) only comes from code, such as tests: the flags say 1-65535.
Port = Annotated[int, Field(ge=0, le=65535)]
Listen = Annotated[tuple[str, Port], BeforeValidator(listen_input)]
Seconds = Annotated[float, BeforeValidator(duration_input), Field(gt=0)]


class WstoreSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    listen: Listen = ("0.0.0.0", 3313)
    health_listen: Listen = ("0.0.0.0", 5005)
    metrics_listen: Listen = ("127.0.0.1", 9001)
    export_listen: Listen = ("127.0.0.1", 3314)
    arena: Annotated[float, BeforeValidator(_arena)] = 0.2
    max_connections: Annotated[int, Field(ge=1, le=100_000)] = 1024
    max_frame_size: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 16 * 1024 * 1024
    ingest_buffer: Annotated[int, Field(ge=64 * 1024)] = 64 * 1024 * 1024
    handshake_timeout: Seconds = 10.0
    frame_timeout: Seconds = 30.0
    shutdown_timeout: Seconds = 5.0

    @property
    def arena_bytes(self) -> int:
        return int(self.arena * GIB)

    @model_validator(mode="after")
    def _ports_differ(self) -> WstoreSettings:
        listens = (self.listen, self.health_listen, self.metrics_listen, self.export_listen)
        ports = [port for _, port in listens if port]
        if len(set(ports)) != len(ports):
            raise ValueError("the listen, health, metrics and export ports must all differ")
        return self


WSTORE_OPTIONS: tuple[Option, ...] = (
    Option(
        "listen", "--listen", "WALLARM_WSTORE_LISTEN", "record protocol address (HOST:PORT, :PORT)"
    ),
    Option(
        "arena",
        "--arena",
        "WALLARM_WSTORE_ARENA",
        "memory budget for records in GB (GiB), fractional allowed, e.g. 0.2",
    ),
    Option(
        "health_listen",
        "--health-listen",
        "WALLARM_WSTORE_HEALTH_LISTEN",
        "health address (GET /health), default 0.0.0.0:5005",
    ),
    Option(
        "metrics_listen",
        "--metrics-listen",
        "WALLARM_WSTORE_METRICS_LISTEN",
        "Prometheus address (GET /metrics), default 127.0.0.1:9001",
    ),
    Option(
        "export_listen",
        "--export-listen",
        "WALLARM_WSTORE_EXPORT_LISTEN",
        "read endpoint for the jobs container (GET /export), default 127.0.0.1:3314; "
        "keep it on loopback",
    ),
    Option(
        "max_connections",
        "--max-connections",
        "WALLARM_WSTORE_MAX_CONNECTIONS",
        "proxy connections served at once (default 1024)",
    ),
    Option(
        "max_frame_size",
        "--max-frame-size",
        "WALLARM_WSTORE_MAX_FRAME_SIZE",
        "largest frame accepted, bytes (default 16 MiB)",
    ),
    Option(
        "ingest_buffer",
        "--ingest-buffer",
        "WALLARM_WSTORE_INGEST_BUFFER",
        "bytes of partly received frames held over all connections before reading pauses "
        "(default 64 MiB)",
    ),
    Option(
        "handshake_timeout",
        "--handshake-timeout",
        "WALLARM_WSTORE_HANDSHAKE_TIMEOUT",
        "time for a new connection to say HELLO (default 10s)",
    ),
    Option(
        "frame_timeout",
        "--frame-timeout",
        "WALLARM_WSTORE_FRAME_TIMEOUT",
        "time for a started frame to arrive whole (default 30s)",
    ),
)

__all__ = ["GIB", "WSTORE_OPTIONS", "WstoreSettings", "parse_arena"]
