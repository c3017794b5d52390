"""`DetectionEngine`: parsers, then one RE2 pass per value, then the detectors.

`inspect` asks the input parsers for every value at its request point, lets the
`ValueScanner` look at each value in its area (a set match that most values
leave at once; the tokenising SQL/HTML detectors only for values that pull
their trigger), and keeps at most one hit per (attack type, point).

Single-line values of a request go through one joined prefilter pass first
(`ValueScanner.suspects`): only the values it cannot prove clean are scanned alone.

Two bounds keep the cost flat: verdicts for header and cookie values, which
browsers repeat on every request, are remembered (a bounded table per engine),
and one request may spend at most `TOKENIZER_RUNS_PER_REQUEST` tokenizer runs
(signatures still look at every value), so thousands of odd values cannot buy
unbounded time.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Final

import re2

from wallarm_sidecar.detect._json_proof import JsonBodyProof
from wallarm_sidecar.detect._model import CLEAN, PARSER_NAMES, AttackHit, InspectedRequest, Verdict
from wallarm_sidecar.detect._points import (
    AREA_BODY_NAME,
    AREA_BODY_VALUE,
    AREA_COOKIE,
    AREA_FILENAME,
    AREA_HEADER,
    AREA_QUERY_NAME,
    AREA_QUERY_VALUE,
)
from wallarm_sidecar.detect.detectors import AREA_USER_AGENT, Finding, ScanBudget, ValueScanner
from wallarm_sidecar.detect.detectors._scanner import DOCUMENT_MIN_LENGTH, is_document
from wallarm_sidecar.detect.detectors._session import (
    ATTACK_SESSION_FIXATION,
    RULE_SESSION_OFFSITE,
    is_session_name,
    referer_is_offsite,
)
from wallarm_sidecar.detect.parsers import DEFAULT_LIMITS, ParserLimits
from wallarm_sidecar.detect.parsers._extract import extract_raw_points
from wallarm_sidecar.detect.parsers._walker import RawPoint

#: headers whose values belong to an area of their own
_HEADER_AREAS: Final = {
    'header "user-agent"': AREA_USER_AGENT,
    'header "x-filename"': AREA_FILENAME,
    'header "x_filename"': AREA_FILENAME,
    'header "x.filename"': AREA_FILENAME,
    'header "x-file-name"': AREA_FILENAME,
}
_XML_POINT: Final = "post xml "
#: header point -> its area (`_HEADER_AREAS` by the lower-cased point), remembered
_HEADER_AREA_MEMO: dict[str, str] = {}
_first: Final = itemgetter(0)
#: value -> `value_type`, remembered for short values (API fields repeat their values)
_TYPE_MEMO: dict[str, str] = {}
_TYPE_MEMO_VALUE_LENGTH: Final = 64
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
_TYPE_MATCH: Final = _TYPE_SET._set.Match
_NUMERIC_CHARS: Final = "0123456789+-.eE"


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
        # other than a boolean (all letters, above), a type either holds `@` (email)
        # or `:` (datetime, ip v6, url), is 36 long (uuid), or is made of digits,
        # signs, dots and exponents only (integer, number, date, ip v4)
        if (
            "@" not in value
            and ":" not in value
            and len(value) != 36
            and value.lstrip(_NUMERIC_CHARS)
        ):
            return "string"
    matches = _TYPE_MATCH(value.encode("utf-8"))
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
        self._json_proof = (
            None
            if "json" in disabled
            else JsonBodyProof(self._scanner, limits, base64="base64" not in disabled)
        )
        self._budgeted: dict[tuple[str, str], tuple[list[Finding], int]] = {}

    def inspect(self, request: InspectedRequest, *, collect: bool | None = None) -> Verdict:
        """The request's hits, and its parameters when collecting (`collect` overrides
        the engine's `collect_parameters` for this request: API discovery may sample)."""
        if collect is None:
            collect = self.collect_parameters
        proof = None
        if request.body and not collect and not _offsite_referer(request):
            # a JSON body proven clean yields no points: its keys and leaves are
            # neither parameters nor session names to look at, so only when neither
            # is wanted (the session-fixation check needs a cross-site Referer)
            proof = self._json_proof
        points, parser_hits = extract_raw_points(
            request, disabled=self.disabled_parsers, limits=self.limits, body_proof=proof
        )
        parameters: dict[str, str] = {}
        cache = self._cache
        scanner = self._scanner
        # Pass 1: what the scanner gets to see, and how. Values of the remembered
        # areas are answered from the table; single-line values wait for one joined
        # prefilter pass (`ValueScanner.suspects`) and only those it cannot clear are
        # scanned alone; the rest is scanned alone. `work` holds, in request order,
        # what has (or may have) findings: (order, point, value, area, findings), the
        # findings None for a value still to scan.
        work: list[tuple[int, str, str, str, list[Finding] | None]] = []
        joined: list[str] = []
        joined_areas: list[str] = []
        joined_at: list[tuple[int, str]] = []
        for order, (point, value, point_area) in enumerate(points):
            if collect and point_area in _PARAMETER_AREAS and point not in parameters:
                kind = _TYPE_MEMO.get(value)
                if kind is None:
                    kind = value_type(value)
                    if len(value) <= _TYPE_MEMO_VALUE_LENGTH:
                        if len(_TYPE_MEMO) >= _CACHE_SIZE:
                            _TYPE_MEMO.clear()
                        _TYPE_MEMO[value] = kind
                parameters[point] = kind
            # numbers and short words carry nothing a rule looks for
            size = len(value)
            if size < 3 or value.isdigit() or (size < 6 and value.isalnum()):
                continue
            if point_area == AREA_BODY_NAME and point.startswith(_XML_POINT):
                continue  # element and attribute names are the document's structure
            area = _header_area(point) if point_area == AREA_HEADER else point_area
            if area in _CACHED_AREAS and size <= _CACHE_VALUE_LENGTH:
                key = (area, value)
                findings = cache.get(key)
                if findings is None:
                    findings = scanner.scan(value, area)
                    if len(cache) >= _CACHE_SIZE:
                        cache.clear()
                    cache[key] = findings
                if findings:
                    work.append((order, point, value, area, findings))
            elif "\n" in value or (
                (size >= DOCUMENT_MIN_LENGTH or "```" in value) and is_document(value)
            ):
                work.append((order, point, value, area, None))
            else:
                joined.append(value)
                joined_areas.append(area)
                joined_at.append((order, point))
        if joined:
            suspects = scanner.suspects(joined, joined_areas)
            if suspects:
                for position in suspects:
                    order, point = joined_at[position]
                    work.append((order, point, joined[position], joined_areas[position], None))
                work.sort(key=_first)
        hits: dict[tuple[str, str], AttackHit] = {}
        for hit in parser_hits:
            hits.setdefault((hit.attack_type, hit.point), hit)
        if work:
            budget = ScanBudget(TOKENIZER_RUNS_PER_REQUEST)
            for _order, point, value, area, known in work:
                findings = self._scan_budgeted(value, area, budget) if known is None else known
                for found in findings:
                    key = (found.attack_type, point)
                    if key not in hits:
                        hits[key] = AttackHit(
                            attack_type=found.attack_type,
                            point=point,
                            fragment=found.fragment,
                            rule_id=found.rule_id,
                        )
        fixation = _session_fixation(request, points)
        if fixation is not None:
            hits.setdefault((fixation.attack_type, fixation.point), fixation)
        if not hits and not collect:
            return CLEAN
        return Verdict(hits=tuple(hits.values()), parameters=tuple(parameters.items()))

    def _scan_budgeted(self, value: str, area: str, budget: ScanBudget) -> list[Finding]:
        """`scan(value, area, budget=budget)`, remembered for short values.

        A remembered answer stands only for a scan the budget never cut short (it
        ended with runs to spare), and is replayed only when the budget can pay the
        runs it cost: the scan would then make the same runs and find the same.
        """
        if len(value) > _CACHE_VALUE_LENGTH:
            return self._scanner.scan(value, area, budget=budget)
        key = (area, value)
        known = self._budgeted.get(key)
        if known is not None:
            findings, runs = known
            if budget.tokenizer_runs >= runs:
                budget.tokenizer_runs -= runs
                return findings
        before = budget.tokenizer_runs
        findings = self._scanner.scan(value, area, budget=budget)
        if budget.tokenizer_runs > 0:
            budgeted = self._budgeted
            if len(budgeted) >= _CACHE_SIZE:
                budgeted.clear()
            budgeted[key] = (findings, before - budget.tokenizer_runs)
        return findings


def _header_area(point: str) -> str:
    """The area of a header value at `point`: its own for a few headers, else `header`."""
    area = _HEADER_AREA_MEMO.get(point)
    if area is None:
        area = _HEADER_AREAS.get(point.lower(), AREA_HEADER)
        if len(_HEADER_AREA_MEMO) >= _CACHE_SIZE:
            _HEADER_AREA_MEMO.clear()
        _HEADER_AREA_MEMO[point] = area
    return area


def _host_and_referer(request: InspectedRequest) -> tuple[str, str]:
    host = referer = ""
    for name, value in request.headers:
        lower = name.lower()
        if lower == "host":
            host = value
        elif lower == "referer":
            referer = value
    return host, referer


def _offsite_referer(request: InspectedRequest) -> bool:
    host, referer = _host_and_referer(request)
    return bool(referer) and referer_is_offsite(referer, host)


def _session_fixation(request: InspectedRequest, points: list[RawPoint]) -> AttackHit | None:
    """A session id in the parameters of a request that another site's page sent."""
    host, referer = _host_and_referer(request)
    if not referer:
        return None
    for found in points:
        if found[2] in _NAME_AREAS and is_session_name(found[1]):
            break
    else:
        return None
    if not referer_is_offsite(referer, host):
        return None
    return AttackHit(
        attack_type=ATTACK_SESSION_FIXATION,
        point=found[0],
        fragment=f"{found[1]} from {referer[:120]}",
        rule_id=RULE_SESSION_OFFSITE,
    )
