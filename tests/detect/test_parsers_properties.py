"""Property tests of `extract_points`: total, bounded, and faithful to what it decodes."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
from urllib.parse import quote
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wallarm_sidecar.detect import PARSER_NAMES, InspectedRequest
from wallarm_sidecar.detect._points import AREAS, PointValue
from wallarm_sidecar.detect.parsers import ParserLimits, extract_points
from wallarm_sidecar.detect.parsers._decoders import clean_text, printable_text
from wallarm_sidecar.detect.parsers._extract import _config, walk
from wallarm_sidecar.detect.parsers._limits import PointsExhausted
from wallarm_sidecar.detect.parsers._render import quote as quote_name
from wallarm_sidecar.detect.parsers._walker import Walker

KNOWN_RULES = {
    "parser-bomb-zlib",
    "parser-bomb-xml-entity",
    "parser-overlimit-depth",
    "parser-overlimit-points",
    "parser-overlimit-bytes",
}
#: keywords that open one nesting level in a point
NESTING = {
    "hash",
    "array",
    "tag",
    "attr",
    "percent",
    "base64",
    "htmljs",
    "gzip",
    "jwt",
    "json_doc",
    "xml",
    "multipart",
    "form_urlencoded",
}
DECODERS = {"percent", "base64", "htmljs"}

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

wire_text = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=60)
# building blocks attackers and clients put in values
fragments = st.sampled_from(
    [
        "%",
        "%25",
        "%3C",
        "%u003c",
        "&",
        "&lt;",
        "&#x3c;",
        "\\x3c",
        "\\u003c",
        "=",
        "+",
        ";",
        '"',
        "{",
        "}",
        "[",
        "]",
        "<",
        ">",
        "<?xml",
        "<!DOCTYPE",
        '<?xml version="1.0" encoding="',
        'bogus"?>',
        'rot13"?>',
        'utf-16"?>',
        'euc-jp"?>',
        "<r>",
        "</r>",
        "<!ENTITY",
        "eyJ",
        ".",
        "/",
        "==",
        "PHNjcmlwdD4",
        "H4sI",
        "eJ",
        "a",
        "0",
        " ",
        "\n",
        "\r\n",
        "\x00",
        "é",
        "\ud800",
    ]
)
tricky = st.lists(fragments, max_size=12).map("".join)
values = st.one_of(wire_text, tricky)
header_names = st.sampled_from(
    [
        "host",
        "user-agent",
        "cookie",
        "authorization",
        "referer",
        "content-type",
        "content-encoding",
        "x-custom",
        "content-length",
    ]
)
content_types = st.sampled_from(
    [
        "",
        "application/json",
        "application/x-www-form-urlencoded",
        "text/xml",
        "application/soap+xml",
        "multipart/form-data; boundary=b",
        "multipart/mixed",
        "text/plain",
        "application/octet-stream",
    ]
)


@st.composite
def requests(draw: st.DrawFn) -> InspectedRequest:
    path = draw(st.lists(values, max_size=4).map("/".join))
    query = draw(st.lists(st.tuples(values, values).map("=".join), max_size=4).map("&".join))
    headers = draw(st.lists(st.tuples(header_names, values), max_size=6))
    content_type = draw(content_types)
    if content_type:
        headers.append(("content-type", content_type))
    body = draw(
        st.one_of(st.binary(max_size=200), values.map(lambda v: v.encode("utf-8", "replace")))
    )
    if draw(st.booleans()):
        body = gzip.compress(body)
        headers.append(("content-encoding", "gzip"))
    return InspectedRequest(
        method="POST",
        target="/" + path + ("?" + query if query else ""),
        headers=tuple(headers),
        body=body,
        body_truncated=draw(st.booleans()),
    )


def split_point(point: str) -> list[str]:
    """The keywords of a point (quoted names dropped); fails on unbalanced quotes."""
    words: list[str] = []
    rest = point
    while rest:
        if rest.startswith('"'):
            pos = 1
            while True:
                close = rest.index('"', pos)
                if rest[close - 1] != "\\" or rest[close - 2 : close] == "\\\\":
                    break
                pos = close + 1
            rest = rest[close + 1 :].lstrip(" ")
            continue
        word, _, rest = rest.partition(" ")
        words.append(word)
    return words


def check_invariants(points: list[PointValue], limits: ParserLimits) -> None:
    assert len(points) <= limits.max_points
    decoded = 0
    for point in points:
        assert type(point) is PointValue
        assert point.area in AREAS
        point.value.encode("utf-8")
        point.point.encode("utf-8")
        words = split_point(point.point)
        assert words[0] in {"uri", "path", "get_param", "header", "cookie", "post"}
        assert sum(word in NESTING for word in words) <= limits.max_depth + 4
        if words[-1] in DECODERS:
            decoded += len(point.value)
    assert decoded <= limits.max_decoded_bytes


@PROPERTY
@given(requests(), st.sets(st.sampled_from(sorted(PARSER_NAMES))))
def test_extract_points_is_total(request: InspectedRequest, disabled: set[str]) -> None:
    # the walk itself, without the safety net of extract_points, raises nothing
    walker = Walker(_config(frozenset(disabled), ParserLimits()))
    with contextlib.suppress(PointsExhausted):
        walk(walker, request)
    points, hits = extract_points(request, disabled=frozenset(disabled))
    assert [(p.point, p.value, p.area) for p in points] == walker.out
    check_invariants(points, ParserLimits())
    assert {hit.rule_id for hit in hits} <= KNOWN_RULES
    assert len({hit.rule_id for hit in hits}) == len(hits)


@PROPERTY
@given(
    requests(),
    st.builds(
        ParserLimits,
        max_depth=st.integers(1, 6),
        max_points=st.integers(1, 20),
        max_decoded_bytes=st.integers(1, 200),
        max_decompressed_size=st.integers(1, 500),
        max_percent_layers=st.integers(1, 3),
        max_base64_layers=st.integers(1, 3),
    ),
)
def test_extract_points_respects_limits(request: InspectedRequest, limits: ParserLimits) -> None:
    walker = Walker(_config(frozenset(), limits))
    with contextlib.suppress(PointsExhausted):
        walk(walker, request)
    points, hits = extract_points(request, limits=limits)
    assert [(p.point, p.value, p.area) for p in points] == walker.out
    check_invariants(points, limits)
    if any(h.rule_id == "parser-overlimit-points" for h in hits):
        assert len(points) == limits.max_points


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [s for child in node for s in _strings(child)]
    if isinstance(node, dict):
        return [s for key, child in node.items() for s in [key, *_strings(child)]]
    return []


@PROPERTY
@given(json_values)
def test_json_round_trip(document: object) -> None:
    body = json.dumps(document).encode()
    request = InspectedRequest(
        method="POST", target="/", headers=(("content-type", "application/json"),), body=body
    )
    points, hits = extract_points(request)
    seen = {p.value for p in points if p.point.startswith("post json_doc")}
    assert not hits
    assert {clean_text(s) for s in _strings(document)} <= seen


@PROPERTY
@given(st.text(min_size=1, max_size=40))
def test_query_percent_round_trip(text: str) -> None:
    text = clean_text(text)
    points, _ = extract_points(InspectedRequest(method="GET", target="/?x=" + quote(text, safe="")))
    assert PointValue('get_param "x"', text, "query_value") in points


@PROPERTY
@given(st.text(min_size=1, max_size=40))
def test_double_percent_round_trip(text: str) -> None:
    text = clean_text(text)
    target = "/?x=" + quote(quote(text, safe=""), safe="")
    points, _ = extract_points(InspectedRequest(method="GET", target=target))
    assert text in {p.value for p in points if p.point.startswith('get_param "x"')}


@PROPERTY
@given(st.text(min_size=9, max_size=60))
def test_query_base64_round_trip(text: str) -> None:
    if printable_text(text.encode("utf-8", "replace")) is None:
        return
    encoded = base64.b64encode(text.encode()).decode()
    target = "/?x=" + quote(encoded, safe="")
    points, _ = extract_points(InspectedRequest(method="GET", target=target))
    assert PointValue('get_param "x" base64', text, "query_value") in points


@PROPERTY
@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x20, blacklist_categories=["Cs"]),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)
def test_xml_text_round_trip(text: str) -> None:
    body = ("<r><v>" + escape(text) + "</v></r>").encode()
    request = InspectedRequest(
        method="POST", target="/", headers=(("content-type", "text/xml"),), body=body
    )
    points, _ = extract_points(request)
    if "\ufffe" in text or "\uffff" in text:
        return  # not XML characters: the raw body carries them
    assert PointValue('post xml tag "r" tag "v"', text, "body_value") in points


@PROPERTY
@given(st.text(max_size=40), st.text(max_size=40).filter(lambda v: "\n--b" not in v))
def test_multipart_round_trip(name: str, value: str) -> None:
    name = clean_text(name).replace('"', "").replace("\\", "").replace("\r", "").replace("\n", "")
    value = clean_text(value)
    body = (
        f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n--b--\r\n'
    ).encode()
    request = InspectedRequest(
        method="POST",
        target="/",
        headers=(("content-type", "multipart/form-data; boundary=b"),),
        body=body,
    )
    points, _ = extract_points(request)
    point = 'post multipart "' + name + '"'
    assert PointValue(point, value, "body_value") in points
    assert PointValue(point, name, "body_name") in points


@PROPERTY
@given(st.binary(max_size=300), content_types)
def test_truncated_bodies_never_raise(body: bytes, content_type: str) -> None:
    for cut in (len(body), len(body) // 2, 1):
        request = InspectedRequest(
            method="POST",
            target="/",
            headers=(("content-type", content_type),),
            body=body[:cut],
            body_truncated=True,
        )
        check_invariants(extract_points(request)[0], ParserLimits())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@PROPERTY
@given(st.dictionaries(st.text(max_size=10), st.text(max_size=20), min_size=1, max_size=4))
def test_jwt_round_trip(claims: dict[str, str]) -> None:
    claims = {clean_text(k): clean_text(v) for k, v in claims.items()}
    token = _b64url(b'{"alg":"HS256"}') + "." + _b64url(json.dumps(claims).encode()) + ".c2ln"
    points, _ = extract_points(
        InspectedRequest(method="GET", target="/", headers=(("authorization", "Bearer " + token),))
    )
    values = {p.value for p in points if p.point.startswith('header "Authorization" jwt payload')}
    assert set(claims.values()) <= values | {""}


cookie_text = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters=';="\\'),
    max_size=20,
)


@PROPERTY
@given(st.dictionaries(cookie_text.filter(bool), cookie_text, min_size=1, max_size=5))
def test_cookie_round_trip(cookies: dict[str, str]) -> None:
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    points, _ = extract_points(
        InspectedRequest(method="GET", target="/", headers=(("cookie", header),))
    )
    for name, value in cookies.items():
        assert PointValue('cookie "' + name + '"', value, "cookie") in points


@PROPERTY
@given(st.lists(st.tuples(st.text(min_size=1, max_size=10), st.text(max_size=20)), max_size=5))
def test_form_round_trip(fields: list[tuple[str, str]]) -> None:
    fields = [(clean_text(n), clean_text(v)) for n, v in fields]
    body = "&".join(quote(n, safe="") + "=" + quote(v, safe="") for n, v in fields).encode()
    request = InspectedRequest(
        method="POST",
        target="/",
        headers=(("content-type", "application/x-www-form-urlencoded"),),
        body=body,
    )
    points, _ = extract_points(request)
    for name, value in fields:
        point = "post form_urlencoded " + quote_name(name)
        assert PointValue(point, name, "body_name") in points
        assert PointValue(point, value, "body_value") in points


@PROPERTY
@given(st.text(min_size=1, max_size=30).filter(lambda v: not set(v) & set('"\\\r\n')))
def test_multipart_filename_round_trip(filename: str) -> None:
    filename = clean_text(filename)
    body = (
        '--b\r\nContent-Disposition: form-data; name="f"; filename="' + filename + '"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\x00\xff\r\n--b--\r\n"
    ).encode("utf-8")
    request = InspectedRequest(
        method="POST",
        target="/",
        headers=(("content-type", "multipart/form-data; boundary=b"),),
        body=body,
    )
    points, _ = extract_points(request)
    assert PointValue('post multipart "f" file_name', filename, "filename") in points


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["user-agent", "accept", "x-custom", "referer", "content-type"]),
            st.text(max_size=80),
        ),
        max_size=6,
    )
)
def test_remembered_header_values_give_the_same_points(headers: list[tuple[str, str]]) -> None:
    """The header memo is invisible: points and hits equal a walk from nothing."""
    from wallarm_sidecar.detect.parsers import _walker

    request = InspectedRequest(method="GET", target="/", headers=headers)
    _walker._HEADER_MEMO.clear()
    cold = extract_points(request)
    warm = extract_points(request)  # replayed from the memo
    assert warm == cold
    tight = ParserLimits(max_points=3)  # replays must respect the point budget too
    _walker._HEADER_MEMO.clear()
    cold = extract_points(request, limits=tight)
    assert extract_points(request, limits=tight) == cold
