"""The walker: turns one request into points, recursing through parsers and decoders.

One `Walker` lives for one request. Every value goes through `value`, which
emits it and then tries the decoders whose cheap pre-checks pass; a decoder
that changes the value recurses with a point suffix (`percent`, `base64`, ...).
Structure parsers (query, cookies, JSON, XML, multipart) call back into it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, Final, NoReturn

from wallarm_sidecar.detect._model import AttackHit, InspectedRequest
from wallarm_sidecar.detect._points import (
    AREA_BODY_NAME,
    AREA_BODY_VALUE,
    AREA_COOKIE,
    AREA_HEADER,
    AREA_PATH,
    AREA_QUERY_NAME,
    AREA_QUERY_VALUE,
    AREA_RAW_BODY,
)
from wallarm_sidecar.detect.parsers._decoders import (
    DecompressionBomb,
    base64_bytes,
    bytes_to_text,
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
from wallarm_sidecar.detect.parsers._limits import (
    ATTACK_DATA_BOMB,
    ATTACK_OVERLIMIT,
    RULE_BOMB_ZLIB,
    RULE_OVERLIMIT_BYTES,
    RULE_OVERLIMIT_DEPTH,
    RULE_OVERLIMIT_POINTS,
    ParserLimits,
    PointsExhausted,
)
from wallarm_sidecar.detect.parsers._multipart import parse_multipart
from wallarm_sidecar.detect.parsers._render import (
    content_type_params,
    header_point,
    path_point,
    quote,
)
from wallarm_sidecar.detect.parsers._xml import parse_xml

_SKIP: Final = "skip"
_COOKIE: Final = "cookie"
_AUTHORIZATION: Final = "authorization"
_CONTENT_TYPE: Final = "content-type"
_CONTENT_ENCODING: Final = "content-encoding"
#: headers handled apart; framing ones the proxy has validated are skipped, every
#: other header is a value at `header "Name"`
_HEADER_KINDS: Final = {
    "content-length": _SKIP,
    "transfer-encoding": _SKIP,
    "cookie": _COOKIE,
    "authorization": _AUTHORIZATION,
    "proxy-authorization": _AUTHORIZATION,
    "content-type": _CONTENT_TYPE,
    "content-encoding": _CONTENT_ENCODING,
}
_FRAGMENT_CHARS: Final = 64

# numbers stay text: faster than building int/float objects, no digit limit
_JSON: Final = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=str)
#: areas of the keys and leaves of a JSON document found inside a value of an area
_JSON_AREAS: Final = {
    AREA_QUERY_VALUE: (AREA_QUERY_NAME, AREA_QUERY_VALUE),
    AREA_RAW_BODY: (AREA_BODY_NAME, AREA_BODY_VALUE),
    AREA_BODY_VALUE: (AREA_BODY_NAME, AREA_BODY_VALUE),
    AREA_BODY_NAME: (AREA_BODY_NAME, AREA_BODY_VALUE),
}
_BODY_AREAS: Final = (AREA_BODY_NAME, AREA_BODY_VALUE)
#: first characters of a JWT, a JSON document, an XML document
_STRUCTURED_LEADS: Final = frozenset("e{[<")
#: base64 of UTF-8 text never starts with `/ + - _` (a lead byte of 0xF8 or more)
_BASE64_LEADS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_NOT_JSON: Final = object()
_TOO_DEEP: Final = object()


#: one point as the walker collects it: (point, value, area); `extract_points` hands
#: them out as `PointValue`s, the engine reads the tuples as they are
RawPoint = tuple[str, str, str]


class Config:
    """Parser switches and limits, resolved once per (disabled, limits) pair."""

    __slots__ = (
        "base64",
        "cookie",
        "htmljs",
        "json",
        "jwt",
        "limits",
        "max_base64_layers",
        "max_decode_input",
        "max_percent_layers",
        "min_base64_length",
        "multipart",
        "percent",
        "urlenc",
        "xml",
        "zlib",
    )

    def __init__(self, disabled: frozenset[str], limits: ParserLimits) -> None:
        self.limits = limits
        self.max_base64_layers = limits.max_base64_layers
        self.max_decode_input = limits.max_decode_input
        self.max_percent_layers = limits.max_percent_layers
        self.min_base64_length = limits.min_base64_length
        self.base64 = "base64" not in disabled
        self.cookie = "cookie" not in disabled
        self.htmljs = "htmljs" not in disabled
        self.json = "json" not in disabled
        self.jwt = "jwt" not in disabled
        self.multipart = "multipart" not in disabled
        self.percent = "percent" not in disabled
        self.urlenc = "urlenc" not in disabled
        self.xml = "xml" not in disabled
        self.zlib = "zlib" not in disabled


class Layers:
    """Decoding layers applied so far to one value, and the forms already seen."""

    __slots__ = ("base64", "percent", "seen")

    def __init__(self, percent: int, base64: int, seen: set[str]) -> None:
        self.percent = percent
        self.base64 = base64
        self.seen = seen

    def then(self, *, percent: int = 0, base64: int = 0) -> Layers:
        return Layers(self.percent + percent, self.base64 + base64, self.seen)


def parse_json(text: str) -> object:
    """The decoded document, `_NOT_JSON` when it is not JSON, `_TOO_DEEP` when absurdly nested."""
    try:
        return _JSON.decode(text)
    except RecursionError:
        return _TOO_DEEP
    except ValueError:
        return _NOT_JSON


#: Decoded header values, remembered per (config, point, text): points, decoded
#: bytes and escapes they cost. Bounded: cleared whole when full.
_HEADER_MEMO: dict[tuple[object, str, str], tuple[tuple[RawPoint, ...], int, int]] = {}
_MEMO_SIZE: Final = 1024
_MEMO_VALUE_LENGTH: Final = 512


class Walker:
    """Collects the points and parser hits of one request."""

    __slots__ = (
        "body_proof",
        "cfg",
        "decoded",
        "escapes",
        "hits",
        "max_depth",
        "max_points",
        "min_decode",
        "out",
    )

    def __init__(self, cfg: Config, body_proof: Callable[[bytes], bool] | None = None) -> None:
        self.cfg = cfg
        #: proves a top-level JSON body clean without walking it (`JsonBodyProof`)
        self.body_proof = body_proof
        self.out: list[RawPoint] = []
        self.hits: list[AttackHit] = []
        self.decoded = 0
        self.escapes = cfg.limits.max_escapes
        self.max_depth = cfg.limits.max_depth
        self.max_points = cfg.limits.max_points
        #: alphanumeric values shorter than this have nothing to decode
        self.min_decode = cfg.min_base64_length if cfg.base64 else 1 << 62

    # --- bookkeeping -----------------------------------------------------------------

    def emit(self, point: str, value: str, area: str) -> None:
        out = self.out
        if len(out) >= self.max_points:
            self.exhausted(point)
        out.append((point, value, area))

    def exhausted(self, point: str) -> NoReturn:
        fragment = f"more than {self.max_points} points"
        self.hit(ATTACK_OVERLIMIT, RULE_OVERLIMIT_POINTS, point, fragment)
        raise PointsExhausted

    def hit(self, attack_type: str, rule_id: str, point: str, fragment: str) -> None:
        for known in self.hits:
            if known.rule_id == rule_id:
                return
        self.hits.append(
            AttackHit(
                attack_type=attack_type,
                point=point,
                fragment=fragment[:_FRAGMENT_CHARS],
                rule_id=rule_id,
            )
        )

    def deeper(self, point: str, depth: int) -> bool:
        """True when one more nesting level is allowed below `depth`; else a hit."""
        if depth < self.max_depth:
            return True
        self.hit(ATTACK_OVERLIMIT, RULE_OVERLIMIT_DEPTH, point, f"nesting deeper than {depth}")
        return False

    def charge(self, point: str, size: int) -> bool:
        """Account for `size` decoded bytes; False (and a hit) when over budget."""
        self.decoded += size
        if self.decoded <= self.cfg.limits.max_decoded_bytes:
            return True
        fragment = f"over {self.decoded} bytes decoded"
        self.hit(ATTACK_OVERLIMIT, RULE_OVERLIMIT_BYTES, point, fragment)
        return False

    def inflate(self, point: str, data: bytes, *, raw_deflate: bool = False) -> bytes | None:
        """Decompressed `data` within budget; None (a hit for a bomb) when refused or invalid."""
        cap = self.cfg.limits.decompression_cap(len(data))
        try:
            out = inflate(data, cap=cap, raw_deflate=raw_deflate)
        except DecompressionBomb as bomb:
            self.hit(ATTACK_DATA_BOMB, RULE_BOMB_ZLIB, point, str(bomb))
            return None
        if out is None or not self.charge(point, len(out)):
            return None
        return out

    # --- values ----------------------------------------------------------------------

    def value(self, point: str, value: str, area: str, depth: int = 0) -> None:
        """Emit `value` at `point`, then every decoded form of it."""
        out = self.out
        if len(out) >= self.max_points:
            self.exhausted(point)
        out.append((point, value, area))
        if value and (len(value) >= self.min_decode or not value.isalnum()):
            self.decode(point, value, area, depth, None)

    def decode(
        self,
        point: str,
        value: str,
        area: str,
        depth: int,
        layers: Layers | None,
        *,
        structured: bool = True,
    ) -> None:
        """Recurse into every decoded form of `value` (which is already emitted).

        `structured=False` skips looking for JSON, XML and JWT inside it (the
        caller already tried and failed).
        """
        cfg = self.cfg
        if len(value) > cfg.max_decode_input:
            return
        if "%" in value and cfg.percent:
            if layers is None:
                layers = Layers(0, 0, {value})
            if layers.percent < cfg.max_percent_layers:
                decoded, used = percent_decode(value, self.escapes)
                self.escapes -= used
                if decoded != value:
                    self.layer(point + " percent", decoded, area, depth, layers.then(percent=1))
        if ("&" in value or "\\" in value) and cfg.htmljs and may_hold_escapes(value):
            decoded, used = htmljs_decode(value, self.escapes)
            self.escapes -= used
            if decoded != value:
                if layers is None:
                    layers = Layers(0, 0, {value})
                self.layer(point + " htmljs", decoded, area, depth, layers)
        first = value[0]
        if first in _STRUCTURED_LEADS and structured:
            if first == "e":
                if cfg.jwt and value.startswith("eyJ"):
                    self.jwt(point, value, area, depth)
            elif first == "<":
                if (
                    cfg.xml
                    and value.startswith(("<?xml", "<!DOCTYPE"))
                    and self.deeper(point, depth)
                ):
                    parse_xml(self, point, value, depth + 1)
            elif cfg.json:
                self.embedded_json(point, value, area, depth)
        if (
            len(value) >= cfg.min_base64_length
            and first in _BASE64_LEADS
            and " " not in value
            and "." not in value
            and cfg.base64
            and (layers is None or layers.base64 < cfg.max_base64_layers)
        ):
            raw = base64_bytes(value, min_length=cfg.min_base64_length)
            if raw is not None:
                if layers is None:
                    layers = Layers(0, 0, {value})
                self.base64(point + " base64", raw, area, depth, layers.then(base64=1))

    def layer(self, point: str, decoded: str, area: str, depth: int, layers: Layers) -> None:
        """Recurse into a decoded form unless it was already seen for this value."""
        seen = layers.seen
        if decoded in seen:
            return
        seen.add(decoded)
        if self.deeper(point, depth) and self.charge(point, len(decoded)):
            self.emit(point, decoded, area)
            if decoded:
                self.decode(point, decoded, area, depth + 1, layers)

    def base64(self, point: str, raw: bytes, area: str, depth: int, layers: Layers) -> None:
        if is_compressed(raw):
            if not self.cfg.zlib or not self.deeper(point, depth):
                return
            inflated = self.inflate(point, raw)
            if inflated is None:
                return
            point += " gzip"
            depth += 1
            raw = inflated
        text = printable_text(raw)
        if text is not None:
            self.layer(point, text, area, depth, layers)

    def jwt(self, point: str, value: str, area: str, depth: int) -> None:
        parts = jwt_parts(value)
        if parts is None or not self.deeper(point, depth):
            return
        areas = _JSON_AREAS.get(area, (area, area))
        for label, raw in zip((" jwt header", " jwt payload"), parts, strict=True):
            node = parse_json(bytes_to_text(raw))
            if node is _TOO_DEEP:
                self.deeper(point, self.max_depth)
            elif node is not _NOT_JSON:
                self.json(point + label, node, depth + 1, areas, set())

    def embedded_json(self, point: str, value: str, area: str, depth: int) -> bool:
        """A value shaped like a JSON object or array, at `point json_doc`; False if not JSON."""
        if value.rstrip()[-1:] not in ("}", "]"):
            return False
        return self.json_document(point, value, area, depth)

    def json_document(self, point: str, value: str, area: str, depth: int) -> bool:
        """Parse `value` as JSON at `point json_doc`; False when it is not JSON."""
        node = parse_json(value)
        if node is _NOT_JSON:
            return False
        point += " json_doc"
        if node is _TOO_DEEP:
            self.deeper(point, self.max_depth)
        elif self.deeper(point, depth):
            self.json(point, node, depth + 1, _JSON_AREAS.get(area, (area, area)), set())
        return True

    def json(
        self,
        point: str,
        node: Any,
        depth: int,
        areas: tuple[str, str],
        names: set[str],
    ) -> None:
        """Walk a decoded JSON document: keys are names, leaves are values.

        A key is a name point the first time it appears in the document only
        (`names`): arrays of objects repeat their keys, and a detector has
        nothing new to learn from them. Children are handled inline by type
        (this loop runs for every key and leaf of every JSON body); only
        containers recurse.
        """
        kind = type(node)
        if kind is str:
            self.value(point, clean_text(node), areas[1], depth)
            return
        if kind is not dict and kind is not list:
            self.emit(point, _json_scalar(node), areas[1])
            return
        if not self.deeper(point, depth):
            return
        depth += 1
        name_area, value_area = areas
        is_dict = kind is dict
        items: Iterable[tuple[Any, Any]]
        if is_dict:
            items = node.items()
            prefix = point + ' hash "'
        else:
            items = enumerate(node)
            prefix = point + " array "
        # the emissions are spelled out inline: this loop runs for every key and
        # leaf of every JSON body, and a method call per point shows in the budget
        out = self.out
        max_points = self.max_points
        min_decode = self.min_decode
        key: Any
        for key, child in items:
            if is_dict:
                name = key if key.isascii() else clean_text(key)
                if '"' in name or "\\" in name:
                    child_point = point + " hash " + quote(name)
                else:
                    child_point = prefix + name + '"'
                if name not in names:
                    names.add(name)
                    if len(out) >= max_points:
                        self.exhausted(child_point)
                    out.append((child_point, name, name_area))
            else:
                child_point = prefix + str(key)
            kind = type(child)
            if kind is str:
                leaf: str = child if child.isascii() else clean_text(child)
                decodable = bool(leaf) and (len(leaf) >= min_decode or not leaf.isalnum())
            elif kind is dict or kind is list:
                self.json(child_point, child, depth, areas, names)
                continue
            else:
                leaf = _json_scalar(child)
                decodable = False
            if len(out) >= max_points:
                self.exhausted(child_point)
            out.append((child_point, leaf, value_area))
            if decodable:
                self.decode(child_point, leaf, value_area, depth, None)

    # --- request parts ---------------------------------------------------------------

    def path(self, path: str) -> None:
        percent = self.cfg.percent
        value = self.value
        value("uri", unquote_fast(path) if percent and "%" in path else path, AREA_PATH)
        index = 0
        for raw in path.split("/", self.max_points):
            if raw:
                segment = unquote_fast(raw) if percent and "%" in raw else raw
                value(path_point(index), segment, AREA_PATH)
                index += 1

    def pairs(self, prefix: str, text: str, name_area: str, value_area: str, depth: int) -> None:
        """`a=1&b=2` (query strings and urlencoded forms): names and values."""
        percent = self.cfg.percent
        out = self.out
        max_points = self.max_points - 1  # two points per pair
        min_decode = self.min_decode
        for pair in text.split("&", self.max_points):
            if not pair:
                continue
            name, _, val = pair.partition("=")
            if percent:
                if "+" in name or "%" in name:
                    name = unquote_fast(name.replace("+", " "))
                if "+" in val or "%" in val:
                    val = unquote_fast(val.replace("+", " "))
            point = prefix + quote(name)
            if len(out) >= max_points:
                self.emit(point, name, name_area)  # raises, or emits the last one
                self.exhausted(point)
            # inline emissions: this loop runs for every parameter of every request
            out.append((point, name, name_area))
            out.append((point, val, value_area))
            if val and (len(val) >= min_decode or not val.isalnum()):
                self.decode(point, val, value_area, depth, None)

    def cookies(self, header: str) -> None:
        for part in header.split(";", self.max_points):
            name, eq, val = part.partition("=")
            name = name.strip()
            if not eq:
                if not name:
                    continue
                name, val = "", name
            val = val.strip()
            if len(val) > 1 and val[0] == '"' == val[-1]:
                val = val[1:-1]
            point = "cookie " + quote(name)
            # every name but a short plain word: gadget class names and encoded
            # payloads hide in cookie names as well as in their values
            if len(name) > 5 or (name and not name.isalnum()):
                self.value(point, name, AREA_COOKIE)
            self.value(point, val, AREA_COOKIE)

    def headers(self, request: InspectedRequest) -> tuple[str, str]:
        """Inspect the headers; return the Content-Type and Content-Encoding values."""
        content_type = content_encoding = ""
        value = self.value
        out = self.out
        min_decode = self.min_decode
        for name, raw in request.headers:
            text = raw if raw.isascii() else latin1_to_text(raw)
            kind = _HEADER_KINDS.get(name)
            if kind is None:
                point = header_point(name)
                if len(text) <= _MEMO_VALUE_LENGTH:
                    self.header_value(point, text)
                    continue
                # inline `value`: this branch runs for nearly every long header
                if len(out) >= self.max_points:
                    self.exhausted(point)
                out.append((point, text, AREA_HEADER))
                if text and (len(text) >= min_decode or not text.isalnum()):
                    self.decode(point, text, AREA_HEADER, 0, None)
            elif kind is _SKIP:
                continue
            elif kind is _COOKIE and self.cfg.cookie:
                self.cookies(text)
            elif kind is _AUTHORIZATION:
                self.authorization(header_point(name), text)
            else:
                if kind is _CONTENT_TYPE:
                    content_type = content_type or text
                elif kind is _CONTENT_ENCODING:
                    content_encoding = text
                if len(text) <= _MEMO_VALUE_LENGTH:
                    self.header_value(header_point(name), text)
                else:
                    value(header_point(name), text, AREA_HEADER)
        return content_type, content_encoding

    def header_value(self, point: str, text: str) -> None:
        """`value` for a header, remembered: the same headers (User-Agent, Accept, ...)
        come with most requests, and their decoded forms depend only on the text.

        A remembered result is replayed only when this request's budgets (points,
        decoded bytes, escapes) can pay for it as they did the first time; a value
        that gave a parser hit is never remembered.
        """
        key = (self.cfg, point, text)
        memo = _HEADER_MEMO.get(key)
        out = self.out
        if memo is not None:
            points, decoded, escapes = memo
            if (
                len(out) + len(points) <= self.max_points
                and self.decoded + decoded <= self.cfg.limits.max_decoded_bytes
                and self.escapes >= escapes
            ):
                out.extend(points)
                self.decoded += decoded
                self.escapes -= escapes
                return
        start, hits, decoded_before, escapes_before = (
            len(out),
            len(self.hits),
            self.decoded,
            self.escapes,
        )
        self.value(point, text, AREA_HEADER)
        if len(self.hits) == hits:
            if len(_HEADER_MEMO) >= _MEMO_SIZE:
                _HEADER_MEMO.clear()
            _HEADER_MEMO[key] = (
                tuple(out[start:]),
                self.decoded - decoded_before,
                escapes_before - self.escapes,
            )

    def authorization(self, point: str, text: str) -> None:
        """`Bearer <jwt>` / `Basic <base64>`: the credentials are decoded without the scheme."""
        self.emit(point, text, AREA_HEADER)
        _scheme, space, credentials = text.partition(" ")
        credentials = credentials.strip() if space else text
        if credentials:
            self.decode(point, credentials, AREA_HEADER, 0, None)

    def body(self, prefix: str, data: bytes, content_type: str, depth: int) -> None:
        """Dispatch a body (or a multipart part) on its media type; raw when not understood."""
        cfg = self.cfg
        mime = content_type.partition(";")[0].strip().lower()
        text: str | None = None
        structured = True  # whether a raw body may still be sniffed for JSON / XML
        if "json" in mime:
            if cfg.json:
                proof = self.body_proof
                if depth == 0 and proof is not None and proof(data):
                    return  # no key or leaf of it has a finding: nothing to emit
                text = bytes_to_text(data).lstrip("\ufeff")
                if self.json_document(prefix, text, AREA_BODY_VALUE, depth):
                    return
                structured = False
        elif mime == "application/x-www-form-urlencoded":
            if cfg.urlenc and self.deeper(prefix, depth):
                self.pairs(
                    prefix + " form_urlencoded ",
                    bytes_to_text(data),
                    AREA_BODY_NAME,
                    AREA_BODY_VALUE,
                    depth + 1,
                )
                return
        elif mime.startswith("multipart/"):
            if cfg.multipart and self.deeper(prefix, depth):
                boundary = content_type_params(content_type)[1].get("boundary", "")
                if parse_multipart(self, prefix, data, boundary, depth + 1):
                    return
        elif "xml" in mime and cfg.xml and self.deeper(prefix, depth):
            if parse_xml(self, prefix, data, depth + 1):
                return
            structured = False
        if text is None:
            text = bytes_to_text(data)
        self.emit(prefix, text, AREA_RAW_BODY)
        if text:
            self.decode(prefix, text, AREA_RAW_BODY, depth, None, structured=structured)
            if (
                mime in _SNIFFED_FORM_TYPES
                and cfg.urlenc
                and _looks_like_form(text)
                and self.deeper(prefix, depth)
            ):
                # no (or a vague) media type, but shaped like `a=b&c=d`: servers that
                # default to a form read it as one, so its fields are points of their own
                self.pairs(
                    prefix + " form_urlencoded ",
                    text,
                    AREA_BODY_NAME,
                    AREA_BODY_VALUE,
                    depth + 1,
                )

    def encoded_body(self, data: bytes, content_encoding: str) -> tuple[str, bytes, bool] | None:
        """Undo Content-Encoding: the point prefix, the bytes, and whether all codings
        were undone (if not, the Content-Type does not describe the bytes); None for
        a refused bomb.
        """
        prefix = "post"
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        layers = 0
        for coding in reversed(codings):
            if coding in ("identity", ""):
                continue
            if coding not in ("gzip", "x-gzip", "deflate") or not self.cfg.zlib:
                return prefix, data, False
            point = prefix + " gzip"
            if not self.deeper(point, layers):
                return None
            layers += 1
            cap = self.cfg.limits.decompression_cap(len(data))
            try:
                inflated = inflate(data, cap=cap)
                if inflated is None and coding == "deflate":
                    inflated = inflate(data, cap=cap, raw_deflate=True)
            except DecompressionBomb as bomb:
                self.hit(ATTACK_DATA_BOMB, RULE_BOMB_ZLIB, point, str(bomb))
                return None
            if inflated is None:
                return prefix, data, False
            if not self.charge(point, len(inflated)):
                return None
            prefix, data = point, inflated
        return prefix, data, True


#: media types of a body that may still be an urlencoded form in disguise
_SNIFFED_FORM_TYPES: Final = frozenset({"", "text/plain", "application/octet-stream"})
#: the first field of an urlencoded form: a short name without spaces, then `=`
_FORM_NAME_MAX: Final = 128


def _looks_like_form(text: str) -> bool:
    """Whether a body without a media type reads as `name=value(&name=value)*`."""
    if text[0] in "{[<" or "\n" in text[:_FORM_NAME_MAX]:
        return False
    eq = text.find("=", 0, _FORM_NAME_MAX)
    if eq <= 0:
        return False
    name = text[:eq]
    return " " not in name and "&" not in name


def _json_scalar(node: object) -> str:
    """The text of a JSON number, boolean or null."""
    if node is True:
        return "true"
    if node is False:
        return "false"
    if node is None:
        return "null"
    return repr(node)
