"""Value decoders: pure functions from one string (or bytes) to its decoded form.

Each decoder is cheap to call on a value it does not apply to and never raises
on any input. Decoded text never holds lone surrogates, so every value a
detector sees encodes to UTF-8 (re2 and msgpack need that).
"""

from __future__ import annotations

import binascii
import html
import re
import zlib
from html.entities import html5
from typing import Final
from urllib.parse import unquote

_HEX: Final = "0123456789abcdefABCDEF"
_HEX_ID: Final = _HEX + "-"
_B64_STD: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_ANY: Final = _B64_STD + "-_="
_URLSAFE_TO_STD: Final = str.maketrans("-_", "+/")
_WHITESPACE_TO_SPACE: Final = str.maketrans("\t\n\r", "   ")


class DecompressionBomb(Exception):
    """A compressed input inflates beyond the allowed size or ratio."""

    def __init__(self, compressed: int, cap: int) -> None:
        super().__init__(f"{compressed} compressed bytes inflate beyond {cap} bytes")
        self.compressed = compressed
        self.cap = cap


def clean_text(text: str) -> str:
    """`text` with lone surrogates (from JSON `\\ud800` and the like) replaced."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def latin1_to_text(raw: str) -> str:
    """Re-read a latin-1 decoded wire string (target, header) as UTF-8."""
    if raw.isascii():
        return raw
    try:
        return raw.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # not latin-1 after all: keep it, minus surrogates
        return clean_text(raw)


def bytes_to_text(data: bytes) -> str:
    """Body bytes as text (UTF-8, invalid sequences replaced)."""
    return data.decode("utf-8", "replace")


# --- percent -------------------------------------------------------------------------
#
# urllib's unquote runs a Python loop per escape (100+ ms for 1 MB of `%25`); the
# quoted-printable decoder of binascii does the same `=XX` work in C. The input is
# rewritten first so that a2b_qp sees nothing else of its own syntax:
#   - `%` becomes `=`; CR and LF are escaped as `=0D` / `=0A` (no soft line breaks);
#   - a `%` followed by `%`, `=`, CR or LF cannot start an escape, and a2b_qp
#     would read the `==` it makes as one `=`: it becomes `=25`, a literal `%`;
#   - a literal `=`, and `%3D`, become `=FF`: byte 0xFF (never part of UTF-8),
#     restored to `=` afterwards; `%FF` itself becomes `%F8`, equally invalid
#     UTF-8, so it still decodes to one U+FFFD;
#   - a sentinel keeps a trailing lone `%` (a2b_qp drops a trailing `=`).
# What a2b_qp leaves undecoded (`=` not followed by two hex digits) turns back into
# `%`. The result equals `unquote(value)`; a property test holds it to that.

_LITERAL_PERCENT: Final = "\udfff"  # a lone surrogate: never in a clean value
#: applied in this order, with str.replace (str.translate with multi-character
#: replacements is ten times slower on long values)
_QP_ESCAPES: Final = (
    ("=", "=FF"),
    ("\r", "=0D"),
    ("\n", "=0A"),
    ("%", "="),
    (_LITERAL_PERCENT, "=25"),
)
_NOT_AN_ESCAPE: Final = ("%=", "%\r", "%\n")
_FF_BYTE: Final = ("%FF", "%Ff", "%fF", "%ff")


def unquote_fast(value: str) -> str:
    """`%XX` decoding (bytes read as UTF-8, invalid ones replaced), exactly like `unquote`."""
    if "%" not in value:
        return value
    if _LITERAL_PERCENT in value:  # pragma: no cover - values are cleaned before
        return unquote(value)
    if "%f" in value or "%F" in value:
        for marker in _FF_BYTE:
            value = value.replace(marker, "%F8")
    for pair in _NOT_AN_ESCAPE:
        if pair in value:
            value = value.replace(pair, _LITERAL_PERCENT + pair[1])
    while "%%" in value:  # a run of `%` takes two passes at most
        value = value.replace("%%", _LITERAL_PERCENT + "%")
    if "%" + _LITERAL_PERCENT in value:
        value = value.replace("%" + _LITERAL_PERCENT, _LITERAL_PERCENT + _LITERAL_PERCENT)
    escaped = value
    for char, escape in _QP_ESCAPES:
        if char in escaped:
            escaped = escaped.replace(char, escape)
    if "=3" in escaped:
        escaped = escaped.replace("=3D", "=FF").replace("=3d", "=FF")
    data = (escaped + "!").encode("utf-8", "surrogatepass")
    decoded = binascii.a2b_qp(data)[:-1].replace(b"=", b"%").replace(b"\xff", b"=")
    return decoded.decode("utf-8", "replace")


_PERCENT_U: Final = re.compile(r"%[uU]([0-9a-fA-F]{4})")


def percent_decode(value: str, budget: int = 1 << 30) -> tuple[str, int]:
    """One layer of URL decoding: `%XX` (as UTF-8) and IIS-style `%uXXXX`.

    At most `budget` `%uXXXX` escapes are decoded (each is a Python call);
    returns the decoded value and how many of those it used.
    """
    out = unquote_fast(value)
    if "%u" in out or "%U" in out:
        if budget <= 0:
            return out, 0
        return _PERCENT_U.subn(_code_unit, out, count=budget)
    return out, 0


def _code_unit(match: re.Match[str]) -> str:
    return _chr(int(match.group(1), 16))


def _chr(code: int) -> str:
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return "\ufffd"
    return chr(code)


# --- htmljs --------------------------------------------------------------------------
#
# Each pattern is a literal lead character followed by alternatives of bounded
# length, so matching is linear (the stdlib `re` is faster than re2 for these
# short scans). Each substitution is a Python call, hence the budget.

_HTML_ENTITY: Final = re.compile(
    r"&(?:#([0-9]{1,8});?|#[xX]([0-9a-fA-F]{1,6});?|([A-Za-z][A-Za-z0-9]{1,31};)"
    r"|(lt|gt|amp|quot|LT|GT|AMP|QUOT))"
)
#: entities browsers also read without `;` (`&ltscript` is `<script`)
_LEGACY: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_LEGACY_HINTS: Final = ("&#", ";", "&lt", "&gt", "&amp", "&quot", "&LT", "&GT", "&AMP", "&QUOT")


def may_hold_escapes(value: str) -> bool:
    """Cheap test: could `htmljs_decode` change `value`? (URLs with `&b=2` cannot.)"""
    if "&" in value:
        for hint in _LEGACY_HINTS:
            if hint in value:
                return True
    return "\\x" in value or "\\u" in value


_JS_ESCAPE: Final = re.compile(
    r"\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
    r"|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|u\{([0-9a-fA-F]{1,6})\})"
)


def htmljs_decode(value: str, budget: int = 1 << 30) -> tuple[str, int]:
    """HTML character references (`&lt; &#x3c; &#60;`) and JS escapes (`\\x3c \\u003c`).

    An escaped backslash is not special (`\\\\x41` gives `\\A`): decoding one
    layer too many only adds a value. At most `budget` escapes are decoded;
    returns the decoded value and how many it used.
    """
    used = 0
    if "&" in value and budget > 0:
        value, used = _HTML_ENTITY.subn(_html_entity, value, count=budget)
    if ("\\x" in value or "\\u" in value) and budget > used:
        value, more = _JS_ESCAPE.subn(_js_escape, value, count=budget - used)
        used += more
    return value, used


def _html_entity(match: re.Match[str]) -> str:
    decimal, hexadecimal, name, legacy = match.groups()
    if legacy is not None:
        return _LEGACY[legacy.lower()]
    if name is not None:
        return html5.get(name, match.group(0))
    code = int(decimal, 10) if decimal is not None else int(hexadecimal, 16)
    if 0x20 <= code < 0x7F or 0xA0 <= code < 0xD800:
        return chr(code)
    # the rarer HTML5 rules (C1 remapping, NUL, surrogates, beyond Unicode)
    return html.unescape(match.group(0))


def _js_escape(match: re.Match[str]) -> str:
    high, low, hex2, hex4, code_point = match.groups()
    if high is not None:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
    return _chr(int(hex2 or hex4 or code_point, 16))


# --- base64 --------------------------------------------------------------------------


def base64_bytes(value: str, *, min_length: int) -> bytes | None:
    """The bytes `value` encodes when it plausibly is base64 (std or url-safe), else None.

    Conservative: plain words, numbers, hex ids and UUIDs are never decoded.
    """
    if len(value) < min_length:
        return None
    if value.isalnum():  # the common case (ids, tokens, words): no padding, no symbols
        if not value.isascii() or len(value) % 4 == 1:
            return None
        body = value
    else:
        if value.strip(_B64_ANY):
            return None
        body = value.rstrip("=")
        if "=" in body or len(body) % 4 == 1 or len(value) - len(body) > 2:
            return None
        if "-" in body or "_" in body:
            if "+" in body or "/" in body:
                return None
            body = body.translate(_URLSAFE_TO_STD)
    if body.isdigit() or not body.strip(_HEX_ID):
        return None
    if body.isalpha() and (body.islower() or body.isupper()):
        return None
    try:
        return binascii.a2b_base64(body + "=" * (-len(body) % 4))
    except binascii.Error:  # pragma: no cover - the alphabet was checked above
        return None


def printable_text(data: bytes) -> str | None:
    """`data` as text when it is valid UTF-8 made of printable characters and whitespace."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.isprintable() or text.translate(_WHITESPACE_TO_SPACE).isprintable():
        return text
    return None


def base64_text(value: str, *, min_length: int) -> str | None:
    """Auto-detected base64 decoded to printable text, or None."""
    raw = base64_bytes(value, min_length=min_length)
    return None if raw is None else printable_text(raw)


# --- zlib ----------------------------------------------------------------------------


def is_compressed(data: bytes) -> bool:
    """True when `data` starts like a gzip member or a zlib stream."""
    if len(data) < 2:
        return False
    first, second = data[0], data[1]
    if first == 0x1F and second == 0x8B:
        return True
    return first & 0x0F == 8 and first >> 4 <= 7 and (first * 256 + second) % 31 == 0


def inflate(data: bytes, *, cap: int, raw_deflate: bool = False) -> bytes | None:
    """Decompress gzip or zlib `data` (raw deflate when asked) into at most `cap` bytes.

    A truncated stream yields what it holds. Returns None when `data` is not a
    valid stream; raises `DecompressionBomb` when the output would exceed `cap`.
    """
    decoder = zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else 32 + zlib.MAX_WBITS)
    try:
        out = decoder.decompress(data, cap + 1)
    except zlib.error:
        return None
    if len(out) > cap:
        raise DecompressionBomb(len(data), cap)
    return out


# --- jwt -----------------------------------------------------------------------------


def jwt_parts(value: str) -> tuple[bytes, bytes] | None:
    """The decoded header and payload of a compact JWS (`xxx.yyy.zzz`), or None."""
    if not value.startswith("eyJ"):
        return None
    header, _, rest = value.partition(".")
    payload, dot2, signature = rest.partition(".")
    if not dot2 or "." in signature or not payload:
        return None
    decoded: list[bytes] = []
    for part in (header, payload):
        if part.strip(_B64_ANY) or len(part) % 4 == 1:
            return None
        body = part.rstrip("=").translate(_URLSAFE_TO_STD)
        try:
            decoded.append(binascii.a2b_base64(body + "=" * (-len(body) % 4)))
        except binascii.Error:
            return None
    return decoded[0], decoded[1]
