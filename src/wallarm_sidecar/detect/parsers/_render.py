"""Point rendering: Console-style names, built with plain string concatenation."""

from __future__ import annotations

from typing import Final


def quote(name: str) -> str:
    """A name as it appears in a point: double-quoted, `"` and `\\` escaped."""
    if '"' in name or "\\" in name:
        name = name.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + name + '"'


_PATH_POINTS: Final = tuple(f"path {index}" for index in range(64))


def path_point(index: int) -> str:
    return _PATH_POINTS[index] if index < 64 else f"path {index}"


_HEADER_POINTS: dict[str, str] = {}
_HEADER_CACHE_SIZE: Final = 512


def header_point(name: str) -> str:
    """`header "User-Agent"` for the lower-case wire name `user-agent` (memoised)."""
    point = _HEADER_POINTS.get(name)
    if point is None:
        point = "header " + quote(name.title())
        if len(_HEADER_POINTS) < _HEADER_CACHE_SIZE:
            _HEADER_POINTS[name] = point
    return point


def content_type_params(value: str) -> tuple[str, dict[str, str]]:
    """The lower-case media type and the parameters of a Content-Type-like header.

    Parameter names are lower-cased; quoted values lose their quotes and
    backslash escapes; the first occurrence of a name wins.
    """
    mime, _, rest = value.partition(";")
    params: dict[str, str] = {}
    while rest:
        key, eq, rest = rest.partition("=")
        if not eq:
            break
        key = key.strip(" \t;").lower()
        rest = rest.lstrip(" \t")
        if rest.startswith('"'):
            val, rest = _quoted_string(rest)
        else:
            val, _, rest = rest.partition(";")
            val = val.strip(" \t")
        params.setdefault(key, val)
    return mime.strip(" \t").lower(), params


def _quoted_string(text: str) -> tuple[str, str]:
    """Split `"value"; rest` into the unescaped value and what follows the next `;`.

    A backslash escapes only `"` and `\\`; others are kept (browsers send raw
    Windows paths in file names).
    """
    parts: list[str] = []
    pos = 1
    end = len(text)
    quote_at = text.find('"', pos)
    while True:
        escape_at = text.find("\\", pos, quote_at if quote_at >= 0 else end)
        if escape_at < 0:
            break
        escaped = text[escape_at + 1 : escape_at + 2]
        if escaped in ('"', "\\"):
            parts.append(text[pos:escape_at])
            parts.append(escaped)
            pos = escape_at + 2
            if 0 <= quote_at < pos:
                quote_at = text.find('"', pos)
        else:
            parts.append(text[pos : escape_at + 1])
            pos = escape_at + 1
    if quote_at < 0:
        parts.append(text[pos:])
        return "".join(parts), ""
    parts.append(text[pos:quote_at])
    return "".join(parts), text[quote_at + 1 :].partition(";")[2]
