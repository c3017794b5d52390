"""`extract_points`: sources, point naming, switches, bounds and bombs."""

from __future__ import annotations

import base64
import gzip
import json
import zlib

import pytest

from wallarm_sidecar.detect import PARSER_NAMES, InspectedRequest
from wallarm_sidecar.detect._points import AREAS, PointValue
from wallarm_sidecar.detect.parsers import (
    ATTACK_DATA_BOMB,
    ATTACK_OVERLIMIT,
    DEFAULT_LIMITS,
    RULE_BOMB_XML_ENTITY,
    RULE_BOMB_ZLIB,
    RULE_OVERLIMIT_BYTES,
    RULE_OVERLIMIT_DEPTH,
    RULE_OVERLIMIT_POINTS,
    ParserLimits,
    extract_points,
)

Triple = tuple[str, str, str]


def _get(target: str, *headers: tuple[str, str]) -> InspectedRequest:
    return InspectedRequest(method="GET", target=target, headers=headers)


def _post(
    body: bytes, content_type: str | None = None, *headers: tuple[str, str], target: str = "/"
) -> InspectedRequest:
    all_headers = (("content-type", content_type), *headers) if content_type else headers
    return InspectedRequest(method="POST", target=target, headers=all_headers, body=body)


def _triples(request: InspectedRequest, **kwargs: object) -> list[Triple]:
    points, _hits = extract_points(request, **kwargs)  # type: ignore[arg-type]
    return [(p.point, p.value, p.area) for p in points]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


JWT = (
    _b64url(b'{"alg":"HS256","typ":"JWT"}')
    + "."
    + _b64url(b'{"sub":"1\' or 1=1--","admin":true}')
    + ".c2lnbmF0dXJl"
)
MULTIPART = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="title"\r\n'
    b"\r\n"
    b"hello <b>\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="upload"; filename="../shell.php"\r\n'
    b"Content-Type: application/octet-stream\r\n"
    b"\r\n"
    b"<?php system($_GET['c']); ?>\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="meta"\r\n'
    b"Content-Type: application/json\r\n"
    b"\r\n"
    b'{"k": "v"}\r\n'
    b"--XyZ--\r\n"
)
SOAP = b"""<?xml version="1.0"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body><getUser id="7 or 1=1"><name>bob<!-- note --></name></getUser></soap:Body>
</soap:Envelope>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        pytest.param(
            _get("/a/b%2Fc/%3Cx%3E"),
            [
                ("uri", "/a/b/c/<x>", "path"),
                ("path 0", "a", "path"),
                ("path 1", "b/c", "path"),
                ("path 2", "<x>", "path"),
            ],
            id="path",
        ),
        pytest.param(
            _get("http://evil.example/admin?x=1"),
            [("uri", "/admin", "path"), ("path 0", "admin", "path")],
            id="absolute-form",
        ),
        pytest.param(
            _get("/?id=1&q=a+b%20c&flag"),
            [
                ('get_param "id"', "id", "query_name"),
                ('get_param "id"', "1", "query_value"),
                ('get_param "q"', "a b c", "query_value"),
                ('get_param "flag"', "flag", "query_name"),
                ('get_param "flag"', "", "query_value"),
            ],
            id="query",
        ),
        pytest.param(
            _get("/?%3Cscript%3E=1"),
            [('get_param "<script>"', "<script>", "query_name")],
            id="query-name",
        ),
        pytest.param(
            _get("/?q=%253Cscript%253E"),
            [
                ('get_param "q"', "%3Cscript%3E", "query_value"),
                ('get_param "q" percent', "<script>", "query_value"),
            ],
            id="double-percent",
        ),
        pytest.param(
            _get("/?q=%25253Cx"),
            [
                ('get_param "q" percent', "%3Cx", "query_value"),
                ('get_param "q" percent percent', "<x", "query_value"),
            ],
            id="triple-percent",
        ),
        pytest.param(
            _get("/?id=PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg"),
            [('get_param "id" base64', "<script>alert(1)</script>", "query_value")],
            id="base64",
        ),
        pytest.param(
            _get("/?id=" + base64.b64encode(b"%3Cscript%3E").decode()),
            [
                ('get_param "id" base64', "%3Cscript%3E", "query_value"),
                ('get_param "id" base64 percent', "<script>", "query_value"),
            ],
            id="base64-then-percent",
        ),
        pytest.param(
            _get("/?q=%26lt%3Bimg%26%23x20%3Bsrc%26gt%3B"),
            [('get_param "q" htmljs', "<img src>", "query_value")],
            id="htmljs",
        ),
        pytest.param(
            _get("/?q=\\x3csvg\\u003e"),
            [('get_param "q" htmljs', "<svg>", "query_value")],
            id="js-escapes",
        ),
        pytest.param(
            _get("/?d=%7B%22a%22%3A%5B%22x%22%5D%7D"),
            [
                ('get_param "d" json_doc hash "a"', "a", "query_name"),
                ('get_param "d" json_doc hash "a" array 0', "x", "query_value"),
            ],
            id="json-in-param",
        ),
        pytest.param(
            _get("/?t=" + JWT),
            [
                ('get_param "t" jwt header hash "alg"', "HS256", "query_value"),
                ('get_param "t" jwt payload hash "sub"', "1' or 1=1--", "query_value"),
                ('get_param "t" jwt payload hash "admin"', "true", "query_value"),
            ],
            id="jwt-param",
        ),
        pytest.param(
            _get(
                "/",
                ("host", "example.com"),
                ("user-agent", "sqlmap/1.0"),
                ("x-forwarded-for", "1.2.3.4"),
                ("referer", "http://x/?q=%3Cscript%3E"),
                ("content-length", "0"),
            ),
            [
                ('header "Host"', "example.com", "header"),
                ('header "User-Agent"', "sqlmap/1.0", "header"),
                ('header "X-Forwarded-For"', "1.2.3.4", "header"),
                ('header "Referer" percent', "http://x/?q=<script>", "header"),
            ],
            id="headers",
        ),
        pytest.param(
            _get("/", ("authorization", "Bearer " + JWT)),
            [('header "Authorization" jwt payload hash "sub"', "1' or 1=1--", "header")],
            id="bearer-jwt",
        ),
        pytest.param(
            _get("/", ("authorization", "Basic " + base64.b64encode(b"admin:' or '1").decode())),
            [('header "Authorization" base64', "admin:' or '1", "header")],
            id="basic-auth",
        ),
        pytest.param(
            _get("/", ("cookie", 'session=abc; theme="dark"; <x>=1; lonely')),
            [
                ('cookie "session"', "abc", "cookie"),
                ('cookie "theme"', "dark", "cookie"),
                ('cookie "<x>"', "<x>", "cookie"),
                ('cookie ""', "lonely", "cookie"),
            ],
            id="cookies",
        ),
        pytest.param(
            _get("/", ("cookie", "java.io.BufferedReader=test; %3Cp%3E=1")),
            [
                ('cookie "java.io.BufferedReader"', "java.io.BufferedReader", "cookie"),
                ('cookie "%3Cp%3E" percent', "<p>", "cookie"),
            ],
            id="cookie-names",
        ),
        pytest.param(
            _post(b"java.Runtime=test&b=%3Cx%3E"),
            [
                ("post", "java.Runtime=test&b=%3Cx%3E", "raw_body"),
                ('post form_urlencoded "java.Runtime"', "java.Runtime", "body_name"),
                ('post form_urlencoded "b"', "<x>", "body_value"),
            ],
            id="form-without-content-type",
        ),
        pytest.param(
            _post(b"a=1&b=2", "text/plain"),
            [('post form_urlencoded "b"', "2", "body_value")],
            id="form-as-text-plain",
        ),
        pytest.param(
            _get("/", ("cookie", "jwt=" + JWT)),
            [('cookie "jwt" jwt payload hash "sub"', "1' or 1=1--", "cookie")],
            id="cookie-jwt",
        ),
        pytest.param(
            _get("/", ("x-name", "caf\xc3\xa9")),
            [('header "X-Name"', "café", "header")],
            id="latin1-header-as-utf8",
        ),
        pytest.param(
            _post(b"a=1&b=%3Cx%3E&c+d=e+f", "application/x-www-form-urlencoded"),
            [
                ('post form_urlencoded "a"', "a", "body_name"),
                ('post form_urlencoded "b"', "<x>", "body_value"),
                ('post form_urlencoded "c d"', "e f", "body_value"),
            ],
            id="form",
        ),
        pytest.param(
            _post(
                b'{"user": {"name": "\\u003cb\\u003e", "tags": ["x", 2, null]}, "ok": false}',
                "application/json; charset=utf-8",
            ),
            [
                ('post json_doc hash "user"', "user", "body_name"),
                ('post json_doc hash "user" hash "name"', "name", "body_name"),
                ('post json_doc hash "user" hash "name"', "<b>", "body_value"),
                ('post json_doc hash "user" hash "tags" array 0', "x", "body_value"),
                ('post json_doc hash "user" hash "tags" array 1', "2", "body_value"),
                ('post json_doc hash "user" hash "tags" array 2', "null", "body_value"),
                ('post json_doc hash "ok"', "false", "body_value"),
            ],
            id="json",
        ),
        pytest.param(
            _post(b'"just a string"', "application/vnd.api+json"),
            [("post json_doc", "just a string", "body_value")],
            id="json-scalar",
        ),
        pytest.param(
            _post(b'{"a\\"b": "\\ud800"}', "application/json"),
            [
                ('post json_doc hash "a\\"b"', 'a"b', "body_name"),
                ('post json_doc hash "a\\"b"', "\ufffd", "body_value"),
            ],
            id="json-quote-and-lone-surrogate",
        ),
        pytest.param(
            _post(MULTIPART, "multipart/form-data; boundary=XyZ"),
            [
                ('post multipart "title"', "title", "body_name"),
                ('post multipart "title"', "hello <b>", "body_value"),
                ('post multipart "upload" file_name', "../shell.php", "filename"),
                ('post multipart "upload"', "<?php system($_GET['c']); ?>", "body_value"),
                ('post multipart "meta" json_doc hash "k"', "v", "body_value"),
            ],
            id="multipart",
        ),
        pytest.param(
            _post(MULTIPART.replace(b"\r\n", b"\n"), 'multipart/form-data; boundary="XyZ"'),
            [
                ('post multipart "title"', "hello <b>", "body_value"),
                ('post multipart "upload" file_name', "../shell.php", "filename"),
            ],
            id="multipart-lf",
        ),
        pytest.param(
            _post(MULTIPART[:150], "multipart/form-data; boundary=XyZ"),
            [('post multipart "upload" file_name', "../shell.php", "filename")],
            id="multipart-truncated",
        ),
        pytest.param(
            _post(SOAP, "application/soap+xml"),
            [
                ('post xml tag "soap:Envelope"', "soap:Envelope", "body_name"),
                (
                    'post xml tag "soap:Envelope" tag "soap:Body" tag "getUser" attr "id"',
                    "7 or 1=1",
                    "body_value",
                ),
                (
                    'post xml tag "soap:Envelope" tag "soap:Body" tag "getUser" tag "name"',
                    "bob",
                    "body_value",
                ),
                ("post xml comment", " note ", "body_value"),
            ],
            id="soap",
        ),
        pytest.param(
            _post(XXE, "text/xml"),
            [
                (
                    "post xml dtd",
                    '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
                    "raw_body",
                ),
                ('post xml tag "foo"', "&xxe;", "body_value"),
            ],
            id="xxe-dtd-raw",
        ),
        pytest.param(
            _post(b"<a><b>unclosed", "application/xml"),
            [
                ('post xml tag "a" tag "b"', "b", "body_name"),
                ("post", "<a><b>unclosed", "raw_body"),
            ],
            id="xml-broken-also-raw",
        ),
        pytest.param(
            _post(b"plain text 'or 1=1", "text/plain"),
            [("post", "plain text 'or 1=1", "raw_body")],
            id="raw-unknown-type",
        ),
        pytest.param(
            _post(b'{"sniffed": "yes"}'),
            [
                ("post", '{"sniffed": "yes"}', "raw_body"),
                ('post json_doc hash "sniffed"', "yes", "body_value"),
            ],
            id="raw-json-sniffed",
        ),
        pytest.param(
            _post(b'{"a": "trunc', "application/json"),
            [("post", '{"a": "trunc', "raw_body")],
            id="json-broken-is-raw",
        ),
        pytest.param(
            _post(gzip.compress(b'{"z": "<x>"}'), "application/json", ("content-encoding", "gzip")),
            [('post gzip json_doc hash "z"', "<x>", "body_value")],
            id="gzip-body",
        ),
        pytest.param(
            _post(
                zlib.compress(b"k=v"),
                "application/x-www-form-urlencoded",
                ("content-encoding", "deflate"),
            ),
            [('post gzip form_urlencoded "k"', "v", "body_value")],
            id="deflate-body",
        ),
        pytest.param(
            _get("/?z=" + base64.b64encode(zlib.compress(b"<script>")).decode()),
            [('get_param "z" base64 gzip', "<script>", "query_value")],
            id="zlib-value",
        ),
    ],
)
def test_points(request_: InspectedRequest, expected: list[Triple]) -> None:
    triples = _triples(request_)
    missing = [t for t in expected if t not in triples]
    assert not missing, f"missing {missing} in {triples}"


@pytest.mark.parametrize(
    ("request_", "absent"),
    [
        pytest.param(_get("/", ("content-length", "5")), 'header "Content-Length"', id="framing"),
        pytest.param(_get("/", ("cookie", "a=1")), 'header "Cookie"', id="cookie-parsed"),
        pytest.param(_get("/?q=plain"), 'get_param "q" percent', id="no-unchanged-layer"),
        pytest.param(_get("/?a=%2541"), 'get_param "a" percent percent', id="stops-when-stable"),
        pytest.param(_get("/?id=administrator"), 'get_param "id" base64', id="word-not-b64"),
        pytest.param(
            _get("/?id=8f14e45fceea167a5a36dedd4bea2543"), 'get_param "id" base64', id="hex-id"
        ),
        pytest.param(_get("/?q=a%26b"), 'get_param "q" htmljs', id="lone-ampersand"),
        pytest.param(_post(b'{"a": 1}', "application/json"), "post", id="json-no-raw"),
        pytest.param(
            _post(b"just some words = prose"),
            'post form_urlencoded "just some words "',
            id="prose-not-a-form",
        ),
        pytest.param(_post(b'{"a=b": 1}'), 'post form_urlencoded "{"a"', id="json-not-a-form"),
        pytest.param(_get("/", ("cookie", "sid=1")), 'cookie "sid" ', id="short-cookie-name"),
        pytest.param(_post(XXE, "text/xml"), 'post xml tag "foo" xxe', id="entity-not-resolved"),
    ],
)
def test_points_absent(request_: InspectedRequest, absent: str) -> None:
    assert absent not in {t[0] for t in _triples(request_)}


def test_every_point_is_well_formed() -> None:
    request = _post(
        MULTIPART,
        "multipart/form-data; boundary=XyZ",
        ("cookie", "a=" + JWT),
        ("user-agent", "x"),
        target="/p/%3Cq%3E?x=%253C&y=" + base64.b64encode(b"hello world!").decode(),
    )
    points, hits = extract_points(request)
    assert not hits
    for point in points:
        assert type(point) is PointValue
        assert point.area in AREAS
        point.value.encode("utf-8")
    assert points[0] == PointValue("uri", "/p/<q>", "path")


def test_duplicate_decodings_are_emitted_once() -> None:
    # both orders (percent then htmljs, htmljs then percent) reach "<x>&"
    triples = _triples(_get("/?q=%2526lt%253Bx%2526gt%253B"))
    values = [t[1] for t in triples if t[0].startswith('get_param "q"')]
    assert len(values) == len(set(values))


# --- switches ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "parser", "present_when_on", "present_when_off"),
    [
        pytest.param(
            _post(b'{"a": "b"}', "application/json"),
            "json",
            'post json_doc hash "a"',
            "post",
            id="json",
        ),
        pytest.param(
            _post(b"a=b", "application/x-www-form-urlencoded"),
            "urlenc",
            'post form_urlencoded "a"',
            "post",
            id="urlenc",
        ),
        pytest.param(
            _post(MULTIPART, "multipart/form-data; boundary=XyZ"),
            "multipart",
            'post multipart "title"',
            "post",
            id="multipart",
        ),
        pytest.param(
            _post(SOAP, "text/xml"), "xml", 'post xml tag "soap:Envelope"', "post", id="xml"
        ),
        pytest.param(
            _get("/", ("cookie", "a=b")), "cookie", 'cookie "a"', 'header "Cookie"', id="cookie"
        ),
        pytest.param(
            _get("/?q=%253C"), "percent", 'get_param "q" percent', 'get_param "q"', id="percent"
        ),
        pytest.param(
            _get("/?q=%26lt%3B"), "htmljs", 'get_param "q" htmljs', 'get_param "q"', id="htmljs"
        ),
        pytest.param(
            _get("/?t=" + JWT),
            "jwt",
            'get_param "t" jwt header hash "alg"',
            'get_param "t"',
            id="jwt",
        ),
        pytest.param(
            _get("/?b=PHNjcmlwdD4x"), "base64", 'get_param "b" base64', 'get_param "b"', id="base64"
        ),
        pytest.param(
            _post(
                gzip.compress(b"a=b"),
                "application/x-www-form-urlencoded",
                ("content-encoding", "gzip"),
            ),
            "zlib",
            'post gzip form_urlencoded "a"',
            "post",
            id="zlib",
        ),
    ],
)
def test_disabled_parsers(
    request_: InspectedRequest, parser: str, present_when_on: str, present_when_off: str
) -> None:
    assert parser in PARSER_NAMES
    on = {t[0] for t in _triples(request_)}
    off = {t[0] for t in _triples(request_, disabled=frozenset({parser}))}
    assert present_when_on in on
    assert present_when_on not in off
    assert present_when_off in off


def test_percent_disabled_keeps_raw_values() -> None:
    triples = _triples(_get("/a%20b?q=%3C"), disabled=frozenset({"percent"}))
    assert ("uri", "/a%20b", "path") in triples
    assert ('get_param "q"', "%3C", "query_value") in triples


def test_all_disabled_still_sees_everything_raw() -> None:
    triples = _triples(_post(b'{"a": 1}', "application/json"), disabled=PARSER_NAMES)
    assert ("post", '{"a": 1}', "raw_body") in triples


# --- bounds and bombs ----------------------------------------------------------------


def _hit_rules(request: InspectedRequest, limits: ParserLimits = DEFAULT_LIMITS) -> set[str]:
    return {hit.rule_id for hit in extract_points(request, limits=limits)[1]}


def test_gzip_bomb_is_a_hit_and_not_expanded() -> None:
    bomb = gzip.compress(b"\0" * (10 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 20_000
    points, hits = extract_points(
        _post(bomb, "application/octet-stream", ("content-encoding", "gzip"))
    )
    assert [(h.attack_type, h.rule_id) for h in hits] == [(ATTACK_DATA_BOMB, RULE_BOMB_ZLIB)]
    assert hits[0].point == "post gzip"
    assert sum(len(p.value) for p in points) < 10_000


def test_zlib_bomb_in_a_value_is_a_hit() -> None:
    value = base64.b64encode(zlib.compress(b"A" * 5_000_000)).decode()
    points, hits = extract_points(_get("/?z=" + value))
    assert [h.rule_id for h in hits] == [RULE_BOMB_ZLIB]
    assert hits[0].point == 'get_param "z" base64'
    assert max(len(p.value) for p in points) < 100_000


def test_small_compressed_bodies_may_inflate_well() -> None:
    body = gzip.compress(b"a=" + b"x" * 60_000)  # ratio ~ 600, below the 64 KiB floor
    request = _post(body, "application/x-www-form-urlencoded", ("content-encoding", "gzip"))
    assert not _hit_rules(request)


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_json_nested_10000_deep(opener: str) -> None:
    body = (opener * 10_000 + "1" + ("]" if opener == "[" else "}") * 10_000).encode()
    points, hits = extract_points(_post(body, "application/json"))
    assert [(h.attack_type, h.rule_id) for h in hits] == [(ATTACK_OVERLIMIT, RULE_OVERLIMIT_DEPTH)]
    assert len(points) < 100


def test_json_nested_beyond_max_depth() -> None:
    body = ("[" * 40 + "1" + "]" * 40).encode()
    assert _hit_rules(_post(body, "application/json")) == {RULE_OVERLIMIT_DEPTH}
    body = ("[" * 20 + "1" + "]" * 20).encode()
    assert not _hit_rules(_post(body, "application/json"))


def test_xml_nested_beyond_max_depth() -> None:
    body = b"<a>" * 100 + b"x" + b"</a>" * 100
    assert _hit_rules(_post(body, "text/xml")) == {RULE_OVERLIMIT_DEPTH}


def test_billion_laughs_is_refused() -> None:
    body = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""
    points, hits = extract_points(_post(body, "application/xml"))
    assert [(h.attack_type, h.rule_id) for h in hits] == [(ATTACK_DATA_BOMB, RULE_BOMB_XML_ENTITY)]
    assert all("lollollol" not in p.value for p in points)
    assert ("post", body.decode()) in [(p.point, p.value) for p in points]


def test_too_many_parameters() -> None:
    query = "&".join(f"p{i}=v" for i in range(5000))
    points, hits = extract_points(_get("/?" + query))
    assert [(h.attack_type, h.rule_id) for h in hits] == [(ATTACK_OVERLIMIT, RULE_OVERLIMIT_POINTS)]
    assert len(points) == DEFAULT_LIMITS.max_points


def test_decoded_bytes_budget() -> None:
    limits = ParserLimits(max_decoded_bytes=100)
    value = base64.b64encode(b"x" * 200).decode()
    assert _hit_rules(_get("/?v=" + value), limits) == {RULE_OVERLIMIT_BYTES}


def test_layer_limits_stop_quietly() -> None:
    limits = ParserLimits(max_percent_layers=1)
    triples = _triples(_get("/?q=%25253C"), limits=limits)
    assert ('get_param "q" percent', "%3C", "query_value") in triples
    assert 'get_param "q" percent percent' not in {t[0] for t in triples}


def test_limits_validate() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        ParserLimits(max_depth=0)


def test_parser_limits_is_frozen() -> None:
    with pytest.raises(AttributeError):
        DEFAULT_LIMITS.max_depth = 3  # type: ignore[misc]


def test_json_body_with_big_number() -> None:
    body = json.dumps({"n": 0}).replace("0", "9" * 5000).encode()
    triples = _triples(_post(body, "application/json"))
    assert ('post json_doc hash "n"', "9" * 5000, "body_value") in triples


def test_repeated_names_are_emitted_once_per_document() -> None:
    body = json.dumps({"items": [{"sku": "a"}, {"sku": "b"}]}).encode()
    triples = _triples(_post(body, "application/json"))
    assert [t for t in triples if t[2] == "body_name" and t[1] == "sku"] == [
        ('post json_doc hash "items" array 0 hash "sku"', "sku", "body_name")
    ]
    assert ('post json_doc hash "items" array 1 hash "sku"', "b", "body_value") in triples
    xml = _triples(_post(b"<r><i n='1'>a</i><i n='2'>b</i></r>", "text/xml"))
    assert [t[1] for t in xml if t[2] == "body_name"] == ["r", "i", "n"]
    assert ('post xml tag "r" tag "i"', "b", "body_value") in xml


def test_broken_xml_is_parsed_once() -> None:
    body = XXE.replace(b"</foo>", b"")
    triples = _triples(_post(body, "text/xml"))
    assert [t[0] for t in triples].count("post xml dtd") == 1
    assert ("post", body.decode(), "raw_body") in triples


def test_content_type_is_inspected_too() -> None:
    ognl = "%{(#_='multipart/form-data').(#cmd='id')}"
    triples = _triples(_post(b"x", ognl))
    assert ('header "Content-Type"', ognl, "header") in triples


@pytest.mark.parametrize("encoding", ["bogus", "rot13", "euc-jp", "utf-16", "iso-8859-1", "utf-7"])
def test_xml_declared_encodings(encoding: str) -> None:
    body = f'<?xml version="1.0" encoding="{encoding}"?><r>x</r>'.encode()
    triples = _triples(_post(body, "text/xml"))
    assert ('post xml tag "r"', "x", "body_value") in triples or (
        "post",
        body.decode(),
        "raw_body",
    ) in triples


def test_too_many_multipart_parts() -> None:
    body = (
        b"--b\r\n" * 5000 + b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\npay\r\n--b--'
    )
    points, hits = extract_points(_post(body, "multipart/form-data; boundary=b"))
    assert [h.rule_id for h in hits] == [RULE_OVERLIMIT_POINTS]
    assert any("pay" in p.value for p in points)  # the tail is still inspected
