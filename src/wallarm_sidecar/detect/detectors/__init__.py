"""Detectors by attack type: signature rules on RE2 and tokenising SQL/HTML detectors.

`ValueScanner` is what the engine uses; the rest is offered for tests and tools.
"""

from wallarm_sidecar.detect.detectors._exploits import Log4ShellMatch, detect_log4shell
from wallarm_sidecar.detect.detectors._rules import AREA_USER_AGENT, ATTACK_TYPES, RULES, Rule
from wallarm_sidecar.detect.detectors._scanner import (
    LIB_TRIGGERS,
    SCANNED_AREAS,
    TRIGGERS,
    Finding,
    ScanBudget,
    ValueScanner,
)
from wallarm_sidecar.detect.detectors._sqli import SqliMatch, detect_sqli
from wallarm_sidecar.detect.detectors._xss import XssMatch, detect_xss

__all__ = [
    "AREA_USER_AGENT",
    "ATTACK_TYPES",
    "LIB_TRIGGERS",
    "RULES",
    "SCANNED_AREAS",
    "TRIGGERS",
    "Finding",
    "Log4ShellMatch",
    "Rule",
    "ScanBudget",
    "SqliMatch",
    "ValueScanner",
    "XssMatch",
    "detect_log4shell",
    "detect_sqli",
    "detect_xss",
]
