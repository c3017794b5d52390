"""`DetectionEngine`: parsers, then one RE2 pass per value, then the detectors.

`inspect` asks the input parsers for every value at its request point, lets the
`ValueScanner` look at each value in its area (a set match that most values
leave at once; the tokenising SQL/HTML detectors only for values that pull
their trigger), and keeps at most one hit per (attack type, point).

Two bounds keep the cost flat: verdicts for header and cookie values, which
browsers repeat on every request, are remembered (a bounded table per engine),
and one request may spend at most `TOKENIZER_RUNS_PER_REQUEST` tokenizer runs
(signatures still look at every value), so thousands of odd values cannot buy
unbounded time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import re2

from wallarm_sidecar.detect._model import CLEAN, PARSER_NAMES, AttackHit, InspectedRequest, Verdict
from wallarm_sidecar.detect._points import (
    AREA_BODY_NAME,
    AREA_BODY_VALUE,
    AREA_COOKIE,
    AREA_FILENAME,
    AREA_HEADER,
    AREA_QUERY_NAME,
    AREA_QUERY_VALUE,
    PointValue,
)
from wallarm_sidecar.detect.detectors import AREA_USER_AGENT, Finding, ScanBudget, ValueScanner
from wallarm_sidecar.detect.detectors._session import (
    ATTACK_SESSION_FIXATION,
    RULE_SESSION_OFFSITE,
    is_session_name,
    referer_is_offsite,
)
from wallarm_sidecar.detect.parsers import DEFAULT_LIMITS, ParserLimits, extract_points

#: headers whose values belong to an area of their own
_HEADER_AREAS: Final = {
    'header "user-agent"': AREA_USER_AGENT,
    'header "x-filename"': AREA_FILENAME,
    'header "x_filename"': AREA_FILENAME,
    'header "x.filename"': AREA_FILENAME,
    'header "x-file-name"': AREA_FILENAME,
}
_XML_POINT: Final = "post xml "
#: areas whose values repeat from request to request (browsers send the same
#: User-Agent, Accept and session cookie every time): their verdicts are remembered
_CACHED_AREAS: Final = frozenset({AREA_HEADER, AREA_USER_AGENT, AREA_COOKIE})
_CACHE_SIZE: Final = 4096
_CACHE_VALUE_LENGTH: Final = 512
#: tokenizer runs one request may spend (signatures always run on every value)
TOKENIZER_RUNS_PER_REQUEST: Final = 256
#: areas of parameter names (a session id planted in a link or a cross-site form)
_NAME_AREAS: Final = frozenset({AREA_QUERY_NAME, AREA_BODY_NAME})
#: areas whose values are parameters for API discovery
_PARAMETER_AREAS: Final = frozenset({AREA_QUERY_VALUE, AREA_BODY_VALUE, AREA_COOKIE})

#: value type -> RE2 pattern over the whole value, first match wins
_VALUE_TYPES: Final = (
    ("integer", r"[-+]?\d{1,19}"),
    ("number", r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"),
    ("boolean", r"(?i:true|false)"),
    ("uuid", r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
    ("email", r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+"),
    ("datetime", r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"),
    ("date", r"\d{4}-\d{2}-\d{2}"),
    ("ip", r"(?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F]*:[0-9a-fA-F:]+"),
    ("url", r"(?i:https?)://\S+"),
)
_TYPE_SET = re2.Set.FullMatchSet()
for _name, _pattern in _VALUE_TYPES:
    _TYPE_SET.Add(_pattern)
_TYPE_SET.Compile()


def value_type(value: str) -> str:
    """The API-discovery type of one value: integer, uuid, email, ... or string."""
    if not value:
        return "empty"
    if len(value) > 256:
        return "string"
    if value.isascii():  # the common shapes, without the regular expressions
        if value.isdigit():
            return "integer" if len(value) <= 19 else "number"
        if value.isalpha():
            return "boolean" if value.lower() in ("true", "false") else "string"
    matches = _TYPE_SET.Match(value)
    return _VALUE_TYPES[min(matches)][0] if matches else "string"


class DetectionEngine:
    """Inspects one request at a time; safe to share within a worker."""

    def __init__(
        self,
        *,
        disabled_parsers: Iterable[str] = (),
        lib_detection: bool = True,
        collect_parameters: bool = False,
        limits: ParserLimits = DEFAULT_LIMITS,
    ) -> None:
        disabled = frozenset(disabled_parsers)
        unknown = disabled - PARSER_NAMES
        if unknown:
            raise ValueError(f"unknown parser name(s): {', '.join(sorted(unknown))}")
        self.disabled_parsers = disabled
        self.lib_detection = lib_detection
        self.collect_parameters = collect_parameters
        self.limits = limits
        self._scanner = ValueScanner(lib_detection=lib_detection)
        self._cache: dict[tuple[str, str], list[Finding]] = {}

    def inspect(self, request: InspectedRequest) -> Verdict:
        points, parser_hits = extract_points(
            request, disabled=self.disabled_parsers, limits=self.limits
        )
        hits: dict[tuple[str, str], AttackHit] = {}
        for hit in parser_hits:
            hits.setdefault((hit.attack_type, hit.point), hit)
        scan = self._scanner.scan
        cache = self._cache
        budget = ScanBudget(TOKENIZER_RUNS_PER_REQUEST)
        for item in points:
            value = item.value
            # numbers and short words carry nothing a rule looks for
            if len(value) < 3 or value.isdigit() or (len(value) < 6 and value.isalnum()):
                continue
            area = item.area
            if area == AREA_BODY_NAME and item.point.startswith(_XML_POINT):
                continue  # element and attribute names are the document's structure
            if area == AREA_HEADER:
                area = _HEADER_AREAS.get(item.point.lower(), area)
            if area in _CACHED_AREAS and len(value) <= _CACHE_VALUE_LENGTH:
                key = (area, value)
                findings = cache.get(key)
                if findings is None:
                    findings = scan(value, area)
                    if len(cache) >= _CACHE_SIZE:
                        cache.clear()
                    cache[key] = findings
            else:
                findings = scan(value, area, budget=budget)
            for found in findings:
                key = (found.attack_type, item.point)
                if key not in hits:
                    hits[key] = AttackHit(
                        attack_type=found.attack_type,
                        point=item.point,
                        fragment=found.fragment,
                        rule_id=found.rule_id,
                    )
        fixation = _session_fixation(request, points)
        if fixation is not None:
            hits.setdefault((fixation.attack_type, fixation.point), fixation)
        if not hits and not self.collect_parameters:
            return CLEAN
        parameters = _parameters(points) if self.collect_parameters else ()
        return Verdict(hits=tuple(hits.values()), parameters=parameters)


def _session_fixation(request: InspectedRequest, points: list[PointValue]) -> AttackHit | None:
    """A session id in the parameters of a request that another site's page sent."""
    for item in points:
        if item.area in _NAME_AREAS and is_session_name(item.value):
            break
    else:
        return None
    host = referer = ""
    for name, value in request.headers:
        lower = name.lower()
        if lower == "host":
            host = value
        elif lower == "referer":
            referer = value
    if not referer or not referer_is_offsite(referer, host):
        return None
    return AttackHit(
        attack_type=ATTACK_SESSION_FIXATION,
        point=item.point,
        fragment=f"{item.value} from {referer[:120]}",
        rule_id=RULE_SESSION_OFFSITE,
    )


def _parameters(points: list[PointValue]) -> tuple[tuple[str, str], ...]:
    seen: dict[str, str] = {}
    for item in points:
        if item.area in _PARAMETER_AREAS and item.point not in seen:
            seen[item.point] = value_type(item.value)
    return tuple(seen.items())
