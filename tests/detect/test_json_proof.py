"""The JSON body proof (`detect._json_proof`) never changes a verdict.

A body it proves clean skips the walk; so for every body, the verdict with the proof
allowed (`collect=False`) must equal the verdict of the full walk (`collect=True`,
which never uses the proof), and a proven body must have no hit in the walk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wallarm_sidecar.detect import DetectionEngine, InspectedRequest
from wallarm_sidecar.detect._points import AREA_BODY_NAME, AREA_BODY_VALUE
from wallarm_sidecar.detect.detectors import RULES, ValueScanner

BENIGN = Path(__file__).resolve().parents[1] / "data" / "benign"
ENGINE = DetectionEngine()
PROOF = ENGINE._json_proof
assert PROOF is not None


def post(body: bytes, content_type: str = "application/json") -> InspectedRequest:
    return InspectedRequest(
        method="POST",
        target="/api/orders",
        headers=[("host", "shop.example"), ("content-type", content_type)],
        body=body,
    )


def hits_of(request: InspectedRequest, *, collect: bool) -> set[tuple[str, str, str]]:
    verdict = ENGINE.inspect(request, collect=collect)
    return {(h.attack_type, h.point, h.rule_id) for h in verdict.hits}


def assert_agrees(body: bytes) -> bool:
    request = post(body)
    walked = hits_of(request, collect=True)
    assert hits_of(request, collect=False) == walked, body
    proven = PROOF(body)
    if proven:
        assert not any(point.startswith("post") for _, point, _ in walked), body
    return proven


def test_the_benchmark_order_is_proven_clean() -> None:
    order = {
        "id": 48213,
        "ls": "x",
        "customer": {"name": "Maria Jensen", "email": "maria.jensen@example.com"},
        "items": [{"sku": "TSH-BLK-M", "qty": 2, "price": 19.9}],
        "tags": ["web", "returning-customer"],
        "gift": True,
        "coupon": None,
    }
    assert assert_agrees(json.dumps(order).encode())


@pytest.mark.parametrize(
    "body",
    [
        b'{"q": "%27 OR 1=1"}',  # percent-encoded: the walker decodes it
        b'{"q": "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="}',  # base64 text
        b'{"doc": "{\\"b\\": 1}"}',  # an escape
        b'{"doc": "[1, 2]"}',  # JSON inside a string
        b'{"x": "<b>bold</b>"}',  # XML-like
        b'{"t": "eyJhbGciOiJIUzI1NiJ9.e30.sig"}',  # a JWT
        b'{"note": "line one\\nline two"}',  # a multi-line string: a document
        b'{"path": "C:\\\\temp"}',  # a backslash in the text: the HTML/JS decoder's
        b'{"a": "Tom &amp; Jerry"}',  # an entity
        b'{"a": 1',  # not JSON
        b'"just a string"',  # a bare scalar
        b"[" * 20 + b"]" * 20,  # near the depth limit
        b"[" + b",".join(b"1" for _ in range(1500)) + b"]",  # near the point limit
    ],
)
def test_what_the_walker_would_expand_is_not_proven(body: bytes) -> None:
    assert not assert_agrees(body)


def test_escapes_and_other_scripts_are_proven_from_the_decoded_strings() -> None:
    document = {"name": "Zoë Müller", "city": "Zürich", "url": "https://example.com/a/b"}
    assert assert_agrees(json.dumps(document).encode())  # \u escapes and \/
    assert assert_agrees(json.dumps(document, ensure_ascii=False).encode())
    assert assert_agrees(b'{"url": "https:\\/\\/example.com\\/x", "q": "caf\\u00e9"}')


def test_attacks_in_json_bodies_are_still_found() -> None:
    for payload in (
        "1' OR '1'='1",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        ";cat /etc/passwd",
    ):
        body = json.dumps({"id": 7, "q": payload}).encode()
        assert not PROOF(body)
        assert hits_of(post(body), collect=False), payload


@pytest.mark.parametrize(
    "literal",
    ["0", "-1", "19.9", "1e5", "-1.5E+10", "123456789012345678901234567890", "NaN", "Infinity",
     "-Infinity", "true", "false", "null"],
)  # fmt: skip
def test_numbers_and_literals_match_no_rule(literal: str) -> None:
    scanner = ValueScanner()
    assert scanner.scan(literal, AREA_BODY_VALUE) == []
    assert scanner.scan(literal, AREA_BODY_NAME) == []
    assert PROOF(b'{"v": [' + literal.encode() + b", " + literal.encode() + b"]}")


def test_benign_corpus_bodies_agree() -> None:
    proven = plain = total = 0
    for path in sorted(BENIGN.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            body = (json.loads(line).get("body") or "").encode()
            if not body.lstrip().startswith((b"{", b"[")):
                continue
            total += 1
            proven += assert_agrees(body)
            plain += body.isascii() and not any(c in body for c in (b"\\", b"%", b"&"))
    assert total > 100
    # the proof is worth having on real API bodies: escapes and non-ASCII text take
    # the walk; of the rest, prose with apostrophes is left to the SQL tokenizer
    assert proven > plain // 4


_examples = [rule.example for rule in RULES] + [rule.benign for rule in RULES]
_words = st.sampled_from(
    ["id", "ls", "name", "PHPSESSID", "select", "union", "order", "script", "onload", "cat",
     "etc", "passwd", "or", "and", "1=1", "--", "'", "<", ">", "..", "/", ";", "|", "$(", "`",
     "{", "}", "[", "]", ":", ",", "=", "http://", "file://", "${jndi:", "eval(", " "]
)  # fmt: skip
_strings = st.one_of(
    st.sampled_from(_examples),
    st.lists(_words, max_size=8).map("".join),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    st.text(max_size=20),  # any code point: escapes, other scripts, lone surrogates
)
_leaves = st.one_of(
    _strings,
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
_documents: Any = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(_strings, children, max_size=5),
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.dictionaries(_strings, _documents, max_size=6), st.lists(_documents)))
def test_proof_agrees_with_the_walk(document: object) -> None:
    assert_agrees(json.dumps(document).encode())
    assert_agrees(json.dumps(document, indent=2).encode())
    assert_agrees(json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass"))
