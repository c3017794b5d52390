"""Property tests: detectors never raise and stay bounded on arbitrary text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wallarm_sidecar.detect.detectors import (
    SCANNED_AREAS,
    ValueScanner,
    detect_log4shell,
    detect_sqli,
    detect_xss,
)
from wallarm_sidecar.detect.detectors._sqli import MAX_TOKENS, tokenize

SCANNER = ValueScanner()
ATTACKISH = st.text(
    alphabet=st.sampled_from(list("<>'\"`;|&$(){}[]/\\*-#=!%.:@ \n\r\tORandSELECTunion"))
)
TEXT = st.one_of(st.text(), ATTACKISH)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_tokenizers_never_raise(value: str) -> None:
    detect_sqli(value)
    detect_xss(value)
    detect_log4shell(value)
    for quote in ("", "'", '"'):
        assert len(tokenize(value, quote=quote)) <= MAX_TOKENS


@settings(max_examples=200, deadline=None)
@given(TEXT, st.sampled_from(sorted(SCANNED_AREAS)))
def test_scanner_never_raises_and_reports_each_type_once(value: str, area: str) -> None:
    findings = SCANNER.scan(value, area)
    types = [f.attack_type for f in findings]
    assert len(types) == len(set(types))
    assert all(len(f.fragment) <= 200 for f in findings)
