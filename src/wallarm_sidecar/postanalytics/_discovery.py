"""API discovery (appstructure), sans-IO: endpoints, methods and parameters seen.

Records are folded into per-endpoint observations keyed by application, host, method
and path template (`_paths.template_path`). Each observation counts requests and the
parameters seen (request point such as `get_param "id"` and value type, both as the
proxy wrote them), with first and last seen times. `take()` hands out what was seen
since the last successful report and starts afresh; `restore()` puts a report back
when the Cloud did not take it, so nothing is lost over a Cloud outage (counts merge).

Bounds, since paths and parameter names come from clients: at most `max_endpoints`
endpoints and `max_parameters` parameters per endpoint are held between reports;
records beyond them are counted in `overflow`, not stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wallarm_sidecar.postanalytics._paths import template_path
from wallarm_sidecar.wire import RequestRecord

MAX_POINT = 512
MAX_TYPE = 32
#: The Cloud's limit of endpoints per POST /api/v1/api-inventory.
MAX_ENDPOINTS_PER_POST = 500


@dataclass(slots=True)
class ParameterSeen:
    count: int = 0
    first_seen: float = 0.0
    last_seen: float = 0.0


@dataclass(slots=True)
class EndpointSeen:
    count: int = 0
    first_seen: float = 0.0
    last_seen: float = 0.0
    parameters: dict[tuple[str, str], ParameterSeen] = field(default_factory=dict)


EndpointKey = tuple[str, str, str, str]  # application, host, method, template


class Discovery:
    """Observations since the last report."""

    def __init__(self, *, max_endpoints: int = 10_000, max_parameters: int = 200) -> None:
        self.max_endpoints = max_endpoints
        self.max_parameters = max_parameters
        self.endpoints: dict[EndpointKey, EndpointSeen] = {}
        self.overflow = 0
        self.records = 0

    def feed(self, record: RequestRecord) -> None:
        self.records += 1
        template = template_path(record.path).template
        key = (record.application[:200], record.host[:255], record.method[:16], template)
        seen = self.endpoints.get(key)
        if seen is None:
            if len(self.endpoints) >= self.max_endpoints:
                self.overflow += 1
                return
            seen = self.endpoints[key] = EndpointSeen(first_seen=record.time)
        _touch(seen, record.time)
        for point, value_type in record.parameters:
            parameter_key = (point[:MAX_POINT], value_type[:MAX_TYPE])
            parameter = seen.parameters.get(parameter_key)
            if parameter is None:
                if len(seen.parameters) >= self.max_parameters:
                    self.overflow += 1
                    continue
                parameter = seen.parameters[parameter_key] = ParameterSeen(first_seen=record.time)
            _touch(parameter, record.time)

    def take(self) -> list[dict[str, Any]]:
        """Everything seen since the last take, as Cloud observations; starts afresh."""
        report = [_observation(key, seen) for key, seen in self.endpoints.items()]
        self.endpoints = {}
        return report

    def restore(self, report: list[dict[str, Any]]) -> None:
        """Merge back a report the Cloud did not take (counts add, times widen)."""
        for item in report:
            key = (item["application"], item["host"], item["method"], item["path"])
            seen = self.endpoints.get(key)
            if seen is None:
                seen = self.endpoints[key] = EndpointSeen(first_seen=item["first_seen"])
            _merge(seen, item["count"], item["first_seen"], item["last_seen"])
            for parameter in item["parameters"]:
                parameter_key = (parameter["point"], parameter["type"])
                found = seen.parameters.get(parameter_key)
                if found is None:
                    found = seen.parameters[parameter_key] = ParameterSeen(
                        first_seen=parameter["first_seen"]
                    )
                _merge(found, parameter["count"], parameter["first_seen"], parameter["last_seen"])


def _touch(seen: EndpointSeen | ParameterSeen, time: float) -> None:
    seen.count += 1
    seen.first_seen = min(seen.first_seen, time)
    seen.last_seen = max(seen.last_seen, time)


def _merge(
    seen: EndpointSeen | ParameterSeen, count: int, first_seen: float, last_seen: float
) -> None:
    seen.count += count
    seen.first_seen = min(seen.first_seen, first_seen)
    seen.last_seen = max(seen.last_seen, last_seen)


def _observation(key: EndpointKey, seen: EndpointSeen) -> dict[str, Any]:
    application, host, method, path = key
    return {
        "application": application,
        "host": host,
        "method": method,
        "path": path,
        "count": seen.count,
        "first_seen": seen.first_seen,
        "last_seen": seen.last_seen,
        "parameters": [
            {
                "point": point,
                "type": value_type,
                "count": parameter.count,
                "first_seen": parameter.first_seen,
                "last_seen": parameter.last_seen,
            }
            for (point, value_type), parameter in sorted(seen.parameters.items())
        ],
    }


__all__ = ["MAX_ENDPOINTS_PER_POST", "Discovery", "EndpointSeen", "ParameterSeen"]
