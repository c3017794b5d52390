"""Placeholder engine: the detection issue replaces this with parsers and detectors."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

from wallarm_sidecar.detect._model import CLEAN, PARSER_NAMES, AttackHit, InspectedRequest, Verdict

_PTRAV = re.compile(r"(?:\.\./|/etc/(?:passwd|shadow|hosts))")
_SQLI = re.compile(r"(?i)(?:'\s*(?:or|and)\s+['\d]|union\s+(?:all\s+)?select|;\s*drop\s+table)")


class DetectionEngine:
    """Inspects one request at a time; safe to share within a worker."""

    def __init__(
        self,
        *,
        disabled_parsers: Iterable[str] = (),
        lib_detection: bool = True,
        collect_parameters: bool = False,
    ) -> None:
        disabled = frozenset(disabled_parsers)
        unknown = disabled - PARSER_NAMES
        if unknown:
            raise ValueError(f"unknown parser name(s): {', '.join(sorted(unknown))}")
        self.disabled_parsers = disabled
        self.lib_detection = lib_detection
        self.collect_parameters = collect_parameters

    def inspect(self, request: InspectedRequest) -> Verdict:
        path, _, query = request.target.partition("?")
        hits: list[AttackHit] = []
        decoded_path = unquote(path)
        match = _PTRAV.search(decoded_path)
        if match:
            hits.append(AttackHit(attack_type="ptrav", point="uri", fragment=match.group(0),
                                  rule_id="ptrav-0"))
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            value = unquote(value.replace("+", " "))
            match = _SQLI.search(value)
            if match:
                hits.append(AttackHit(attack_type="sqli", point=f'get_param "{unquote(name)}"',
                                      fragment=match.group(0), rule_id="sqli-0"))
        return Verdict(hits=tuple(hits)) if hits else CLEAN
