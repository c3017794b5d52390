"""Path templates: `/api/users/42/orders/9f1c...` becomes `/api/users/{id}/orders/{uuid}`.

API discovery (appstructure) counts endpoints by template, and the BOLA detection
(jobs) counts the distinct object ids one source reaches through one template. Both
must collapse the same segments, so the rule lives here, pure and bounded: a path is
cut at `MAX_SEGMENTS` segments of at most `MAX_SEGMENT` characters each, so a hostile
path cannot make a template (or a key) of unbounded size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SEGMENTS = 32
MAX_SEGMENT = 128

_INTEGER = re.compile(r"^-?\d+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]{16,}$")
#: Opaque tokens: long, URL-safe, and mixing letters with digits (slugs have no digits).
_TOKEN = re.compile(r"^[A-Za-z0-9_\-.~=]{20,}$")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[A-Za-z]")


@dataclass(frozen=True, slots=True)
class PathTemplate:
    #: The template, e.g. `/api/users/{id}`.
    template: str
    #: The values of the collapsed segments, in order (the object ids).
    ids: tuple[str, ...]


def placeholder(segment: str) -> str | None:
    """`{id}`, `{uuid}`, `{hash}` or `{token}` for an id-like segment, else None."""
    if _INTEGER.match(segment):
        return "{id}"
    if _UUID.match(segment):
        return "{uuid}"
    if _HEX.match(segment) and _DIGIT.search(segment):
        return "{hash}"
    if _TOKEN.match(segment) and _DIGIT.search(segment) and _LETTER.search(segment):
        return "{token}"
    return None


def template_path(path: str) -> PathTemplate:
    """The path's template and the ids it collapsed (query strings never reach here)."""
    path = path.split("?", 1)[0]
    if not path.startswith("/"):
        path = "/" + path
    segments = path.split("/")[1:]
    trailing = len(segments) > 1 and segments[-1] == ""
    if trailing:
        segments = segments[:-1]
    truncated = len(segments) > MAX_SEGMENTS
    parts: list[str] = []
    ids: list[str] = []
    for whole in segments[:MAX_SEGMENTS]:
        segment = whole[:MAX_SEGMENT]
        kind = placeholder(segment)
        if kind is None:
            parts.append(segment)
        else:
            parts.append(kind)
            ids.append(segment)
    if truncated:
        parts.append("{...}")
    template = "/" + "/".join(parts) + ("/" if trailing and not truncated else "")
    return PathTemplate(template=template, ids=tuple(ids))


__all__ = ["MAX_SEGMENT", "MAX_SEGMENTS", "PathTemplate", "placeholder", "template_path"]
