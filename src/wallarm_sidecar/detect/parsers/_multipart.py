"""multipart/form-data (and other multipart/*) bodies: field names, file names, values.

Lenient on purpose: CRLF or bare LF line ends, a missing closing delimiter (a
truncated body keeps its last part), parts without headers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final
from urllib.parse import unquote

from wallarm_sidecar.detect._points import AREA_BODY_NAME, AREA_BODY_VALUE, AREA_FILENAME
from wallarm_sidecar.detect.parsers._decoders import bytes_to_text
from wallarm_sidecar.detect.parsers._render import content_type_params, quote

if TYPE_CHECKING:
    from wallarm_sidecar.detect.parsers._walker import Walker

_MAX_BOUNDARY: Final = 200
#: part headers looked at (a part is a few short header lines)
_MAX_HEAD_BYTES: Final = 8192
_MAX_HEAD_LINES: Final = 32
#: part media types worth parsing as structure rather than as one value
_STRUCTURED: Final = ("json", "xml", "multipart/", "x-www-form-urlencoded")


def parse_multipart(walker: Walker, prefix: str, data: bytes, boundary: str, depth: int) -> bool:
    """Emit the points of a multipart body; False when it has no usable boundary."""
    if not boundary or len(boundary) > _MAX_BOUNDARY:
        return False
    # a delimiter starts a line; the line break before it belongs to it
    delimiter = b"\n--" + boundary.encode("utf-8", "replace")
    chunks = (b"\n" + data).split(delimiter, walker.max_points)
    if len(chunks) < 2:
        return False
    point = prefix
    prefix += " multipart "
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            return True  # the closing delimiter; the rest is epilogue
        line_end = chunk.find(b"\n")
        if line_end < 0:
            continue  # a truncated delimiter line
        _part(walker, prefix, chunk[line_end + 1 :], depth)
    if len(chunks) > walker.max_points:  # more parts than points, even if all empty
        walker.exhausted(point)
    return True


def _part(walker: Walker, prefix: str, chunk: bytes, depth: int) -> None:
    head, body = _split_head(chunk)
    if body.endswith(b"\r"):  # the CR of the CRLF before the next delimiter
        body = body[:-1]
    disposition = content_type = ""
    for line in head[:_MAX_HEAD_BYTES].split(b"\n", _MAX_HEAD_LINES):
        header, colon, raw = line.partition(b":")
        if not colon:
            continue
        key = header.strip().lower()
        if key == b"content-disposition":
            disposition = bytes_to_text(raw).strip()
        elif key == b"content-type":
            content_type = bytes_to_text(raw).strip()
    params = content_type_params(disposition)[1] if disposition else {}
    name = params.get("name", "")
    filename = params.get("filename")
    extended = params.get("filename*")
    if extended is not None:
        filename = _extended_value(extended)
    point = prefix + quote(name)
    walker.emit(point, name, AREA_BODY_NAME)
    if filename is not None:
        walker.value(point + " file_name", filename, AREA_FILENAME, depth)
    mime = content_type.lower()
    if mime and any(kind in mime for kind in _STRUCTURED):
        walker.body(point, body, content_type, depth)
        return
    if filename is None:
        text = bytes_to_text(body)
    else:
        try:  # a binary upload is not text: only its name is inspected
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return
    walker.value(point, text, AREA_BODY_VALUE, depth)


def _split_head(chunk: bytes) -> tuple[bytes, bytes]:
    """Part headers and content, split at the first empty line (CRLF or LF)."""
    if chunk.startswith(b"\r\n"):
        return b"", chunk[2:]
    if chunk.startswith(b"\n"):
        return b"", chunk[1:]
    crlf = chunk.find(b"\r\n\r\n")
    lf = chunk.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return chunk[:crlf], chunk[crlf + 4 :]
    if lf >= 0:
        return chunk[:lf], chunk[lf + 2 :]
    return chunk, b""  # truncated inside the headers


def _extended_value(value: str) -> str:
    """RFC 5987 `UTF-8''na%C3%AFve.txt`."""
    charset, quote_mark, rest = value.partition("'")
    if not quote_mark:
        return value
    encoded = rest.partition("'")[2]
    latin1 = charset.strip().lower() in ("iso-8859-1", "latin-1", "latin1")
    return unquote(encoded, encoding="latin-1" if latin1 else "utf-8", errors="replace")
