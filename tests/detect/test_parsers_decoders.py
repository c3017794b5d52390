"""Value decoders of `wallarm_sidecar.detect.parsers`: tables and properties."""

from __future__ import annotations

import base64
import gzip
import zlib
from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wallarm_sidecar.detect.parsers._decoders import (
    DecompressionBomb,
    base64_bytes,
    base64_text,
    clean_text,
    htmljs_decode,
    inflate,
    is_compressed,
    jwt_parts,
    latin1_to_text,
    may_hold_escapes,
    percent_decode,
    printable_text,
    unquote_fast,
)
from wallarm_sidecar.detect.parsers._render import content_type_params
from wallarm_sidecar.detect.parsers._render import quote as quote_name


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- percent -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        pytest.param("%3Cscript%3E", "<script>", id="basic"),
        pytest.param("%253C", "%3C", id="one-layer-only"),
        pytest.param("%u003cscript%U003E", "<script>", id="iis-u"),
        pytest.param("%C3%A9t%C3%A9", "été", id="utf8"),
        pytest.param("%ZZ%4", "%ZZ%4", id="invalid-kept"),
        pytest.param("%ud800", "\ufffd", id="lone-surrogate-replaced"),
        pytest.param("%u12", "%u12", id="short-u"),
        pytest.param("100%", "100%", id="trailing"),
        pytest.param("%FF", "\ufffd", id="invalid-utf8-replaced"),
    ],
)
def test_percent_decode(raw: str, decoded: str) -> None:
    assert percent_decode(raw)[0] == decoded


@given(st.text())
def test_percent_round_trip(text: str) -> None:
    text = clean_text(text)
    assert percent_decode(quote(text, safe=""))[0] == text


@given(st.text(alphabet=st.sampled_from("%uU0123456789abcdefABCDEFxz<>&;#\\ ")))
def test_percent_decode_total(text: str) -> None:
    assert _utf8_ok(percent_decode(text)[0])


# --- htmljs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        pytest.param("&lt;script&gt;", "<script>", id="named"),
        pytest.param("&#x3c;&#X3C;", "<<", id="hex"),
        pytest.param("&#60;img", "<img", id="decimal"),
        pytest.param("&#60img", "<img", id="decimal-no-semicolon"),
        pytest.param("\\x3cscript\\x3e", "<script>", id="js-hex"),
        pytest.param("\\u003cscript\\u003E", "<script>", id="js-unicode"),
        pytest.param("\\u{3c}svg", "<svg", id="js-code-point"),
        pytest.param("\\ud83d\\ude00", "😀", id="js-surrogate-pair"),
        pytest.param("\\ud83d", "\ufffd", id="js-lone-surrogate"),
        pytest.param("&#xd800;", "\ufffd", id="html-lone-surrogate"),
        pytest.param("\\\\x41", "\\A", id="escaped-backslash-decodes-too"),
        pytest.param("C:\\xyz\\u12", "C:\\xyz\\u12", id="not-escapes"),
        pytest.param("a & b", "a & b", id="plain-ampersand"),
        pytest.param("\\u{110000}", "\ufffd", id="beyond-unicode"),
    ],
)
def test_htmljs_decode(raw: str, decoded: str) -> None:
    assert htmljs_decode(raw)[0] == decoded


@given(st.text())
def test_htmljs_round_trip_js_escapes(text: str) -> None:
    text = clean_text(text)
    escaped = "".join(
        f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\u{{{ord(c):x}}}" for c in text
    )
    assert htmljs_decode(escaped)[0] == text


@given(st.text(alphabet=st.sampled_from("&#;xX0123456789abcdefDlt\\u{}'\" <>")))
def test_htmljs_decode_total(text: str) -> None:
    assert _utf8_ok(htmljs_decode(text)[0])


# --- base64 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        pytest.param("PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "<script>alert(1)</script>", id="pad"),
        pytest.param("PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg", "<script>alert(1)</script>", id="nopad"),
        pytest.param("JyBvciAxPTEtLSA=", "' or 1=1-- ", id="sqli"),
        pytest.param("Pz4_Pz4_Pz4-", "?>??>??>>", id="urlsafe"),
        pytest.param("Pz4/Pz4/Pz4+", "?>??>??>>", id="std"),
        pytest.param("dXNlcjpwYXNzd29yZA==", "user:password", id="basic-auth"),
        pytest.param("bGluZTEKbGluZTIJdGFi", "line1\nline2\ttab", id="whitespace-ok"),
    ],
)
def test_base64_text(raw: str, decoded: str) -> None:
    assert base64_text(raw, min_length=12) == decoded


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("administrator", id="lower-word"),
        pytest.param("ADMINISTRATOR", id="upper-word"),
        pytest.param("internationalization", id="long-word"),
        pytest.param("JavaScriptEngine", id="camel-word"),
        pytest.param("12345678901234567890", id="digits"),
        pytest.param("8f14e45fceea167a5a36dedd4bea2543", id="md5"),
        pytest.param("550e8400-e29b-41d4-a716-446655440000", id="uuid"),
        pytest.param("AAAAAAAAAAAAAAAA", id="binary-zeros"),
        pytest.param("Pz4_Pz4/Pz4+", id="mixed-alphabets"),
        pytest.param("abc=defghijklmn", id="inner-padding"),
        pytest.param("abcdefghijklm===", id="too-much-padding"),
        pytest.param("short", id="short"),
        pytest.param("SGVsbG8gV29ybGQh\x00", id="foreign-char"),
        pytest.param("/usr/local/bin/python3", id="path"),
        pytest.param("ZnJhbmNl_", id="short-urlsafe"),
        pytest.param("SessionIdentifier", id="len-mod-4-is-1"),
    ],
)
def test_base64_rejects_ordinary_values(raw: str) -> None:
    assert base64_text(raw, min_length=12) is None


@given(st.text(min_size=9))
def test_base64_round_trip(text: str) -> None:
    text = clean_text(text)
    if not printable_text(text.encode()):
        return
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(text.encode()).decode()
        assert base64_text(encoded, min_length=12) == text
        assert base64_text(encoded.rstrip("="), min_length=12) == text


@given(st.text(alphabet=st.sampled_from("ABCxyz019+/-_= .")))
def test_base64_total(text: str) -> None:
    raw = base64_bytes(text, min_length=4)
    assert raw is None or isinstance(raw, bytes)


@given(st.binary())
def test_printable_text_is_printable(data: bytes) -> None:
    text = printable_text(data)
    if text is not None:
        assert text.encode() == data
        assert text.replace("\n", "").replace("\r", "").replace("\t", "").isprintable()


# --- zlib ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "compress",
    [
        pytest.param(gzip.compress, id="gzip"),
        pytest.param(zlib.compress, id="zlib"),
    ],
)
def test_inflate_round_trip(compress: object) -> None:
    data = b"hello " * 100
    packed = compress(data)  # type: ignore[operator]
    assert is_compressed(packed)
    assert inflate(packed, cap=len(data)) == data


def test_inflate_raw_deflate() -> None:
    packer = zlib.compressobj(wbits=-15)
    packed = packer.compress(b"raw deflate") + packer.flush()
    assert inflate(packed, cap=100) is None
    assert inflate(packed, cap=100, raw_deflate=True) == b"raw deflate"


def test_inflate_bomb_raises() -> None:
    with pytest.raises(DecompressionBomb):
        inflate(gzip.compress(b"\0" * 100_000), cap=99_999)


def test_inflate_truncated_is_lenient() -> None:
    packed = gzip.compress(b"0123456789" * 1000)
    assert inflate(packed[: len(packed) // 2], cap=10_000) is not None


@given(st.binary())
def test_inflate_never_raises_but_bomb(data: bytes) -> None:
    try:
        out = inflate(data, cap=1000)
    except DecompressionBomb:
        return
    assert out is None or len(out) <= 1000


@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=3000))
def test_inflate_respects_cap(data: bytes, cap: int) -> None:
    packed = zlib.compress(data)
    try:
        out = inflate(packed, cap=cap)
    except DecompressionBomb:
        assert len(data) > cap
    else:
        assert out == data


# --- jwt -----------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_jwt_parts() -> None:
    header, payload = b'{"alg":"none"}', b'{"sub":"1"}'
    token = _b64url(header) + "." + _b64url(payload) + ".c2ln"
    assert jwt_parts(token) == (b'{"alg":"none"}', b'{"sub":"1"}')


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("eyJhbGciOi", id="one-part"),
        pytest.param("eyJh.eyJz", id="two-parts"),
        pytest.param("eyJh.eyJz.sig.more", id="four-parts"),
        pytest.param("eyJh..sig", id="empty-payload"),
        pytest.param("abc.def.ghi", id="not-json-header"),
        pytest.param("eyJ!.eyJz.sig", id="bad-alphabet"),
    ],
)
def test_jwt_parts_rejects(token: str) -> None:
    assert jwt_parts(token) is None


@given(st.text())
def test_jwt_parts_total(text: str) -> None:
    jwt_parts("eyJ" + text)


# --- text and rendering --------------------------------------------------------------


@given(st.text())
def test_clean_text_encodes(text: str) -> None:
    cleaned = clean_text(text)
    assert _utf8_ok(cleaned)
    if _utf8_ok(text):
        assert cleaned == text


@given(st.text(alphabet=st.characters(max_codepoint=0xFF)))
def test_latin1_to_text_encodes(text: str) -> None:
    assert _utf8_ok(latin1_to_text(text))


@pytest.mark.parametrize(
    ("name", "rendered"),
    [
        pytest.param("id", '"id"', id="plain"),
        pytest.param('a"b', '"a\\"b"', id="quote"),
        pytest.param("a\\b", '"a\\\\b"', id="backslash"),
        pytest.param("", '""', id="empty"),
    ],
)
def test_quote_name(name: str, rendered: str) -> None:
    assert quote_name(name) == rendered


@pytest.mark.parametrize(
    ("header", "mime", "params"),
    [
        pytest.param("application/JSON", "application/json", {}, id="bare"),
        pytest.param(
            "multipart/form-data; boundary=----x",
            "multipart/form-data",
            {"boundary": "----x"},
            id="boundary",
        ),
        pytest.param(
            'multipart/form-data; BOUNDARY="a b;c"; charset=utf-8',
            "multipart/form-data",
            {"boundary": "a b;c", "charset": "utf-8"},
            id="quoted",
        ),
        pytest.param(
            'form-data; name="f"; filename="C:\\dir\\a.php"',
            "form-data",
            {"name": "f", "filename": "C:\\dir\\a.php"},
            id="windows-path",
        ),
        pytest.param('form-data; name="a\\"b"', "form-data", {"name": 'a"b'}, id="escaped-quote"),
        pytest.param('form-data; name="open', "form-data", {"name": "open"}, id="unterminated"),
        pytest.param("form-data; junk", "form-data", {}, id="junk"),
    ],
)
def test_content_type_params(header: str, mime: str, params: dict[str, str]) -> None:
    assert content_type_params(header) == (mime, params)


@given(st.text())
def test_content_type_params_total(header: str) -> None:
    mime, params = content_type_params(header)
    assert isinstance(mime, str)
    assert all(isinstance(v, str) for v in params.values())


# --- fast paths hold to their references ---------------------------------------------

_URL_PIECES = st.sampled_from(
    [
        *"%=0123456789abcdefABCDEFxu \r\n\t!é\x00\x7f_",
        "%3D",
        "%3d",
        "=3D",
        "=FF",
        "%0a",
        "%C3%A9",
        "%e2%82",
        "%\r\n",
        "%f",
        "%ff",
        "%FE",
        "%fe",
        "\ufffd",
        "%%",
        "%%%41",
    ]
)


@settings(max_examples=2000)
@given(st.lists(_URL_PIECES, max_size=24).map("".join))
def test_unquote_fast_equals_unquote_on_url_pieces(value: str) -> None:
    assert unquote_fast(value) == unquote(value)


@given(st.text().map(clean_text))
def test_unquote_fast_equals_unquote(value: str) -> None:
    assert unquote_fast(value) == unquote(value)


@given(
    st.lists(
        st.sampled_from(["&", "#", "x", "X", "1", "9", "f", ";", "lt", "amp", "a", " "]),
        max_size=20,
    ).map("".join)
)
def test_html_entities_match_the_stdlib(value: str) -> None:
    import html

    decoded, _ = htmljs_decode(value)
    if "\\" not in value:
        assert decoded == html.unescape(value) or "&" in value  # legacy prefixes aside
    assert _utf8_ok(decoded)


def test_huge_numeric_entity_does_not_raise() -> None:
    # html.unescape raises ValueError on `&#` + 5000 digits (int conversion limit)
    decoded, _ = htmljs_decode("&#" + "9" * 5000)
    assert decoded.startswith("\ufffd")


def test_escape_budget() -> None:
    decoded, used = htmljs_decode("&lt;" * 10, budget=3)
    assert (decoded, used) == ("<<<" + "&lt;" * 7, 3)
    decoded, used = percent_decode("%u0041" * 4, budget=2)
    assert (decoded, used) == ("AA%u0041%u0041", 2)
    assert htmljs_decode("\\x41&lt;", budget=0) == ("\\x41&lt;", 0)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("https://x/?a=1&b=2&page=3", id="url"),
        pytest.param("C:\\Users\\me\\file.txt", id="windows-path"),
        pytest.param("rock & roll", id="ampersand"),
    ],
)
def test_may_hold_escapes_skips_ordinary_values(value: str) -> None:
    assert not may_hold_escapes(value)
    assert htmljs_decode(value)[0] == value
