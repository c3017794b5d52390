"""What the input parsers hand to the detectors: values at named request points.

A point is rendered the way the Console shows it, for example
`get_param "id" base64` or `post json_doc hash "user" array 0`. `area` tells a
detector where the value came from, so that rules can be scoped (a URL path is
not a header, a parameter name is not its value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

AREA_PATH: Final = "path"  # the decoded path and each of its segments
AREA_QUERY_NAME: Final = "query_name"
AREA_QUERY_VALUE: Final = "query_value"
AREA_HEADER: Final = "header"  # point names the header
AREA_COOKIE: Final = "cookie"
AREA_BODY_NAME: Final = "body_name"  # form field names, JSON keys, XML names
AREA_BODY_VALUE: Final = "body_value"  # form values, JSON/XML leaves, multipart parts
AREA_FILENAME: Final = "filename"  # multipart file names
AREA_RAW_BODY: Final = "raw_body"  # a body no parser understood, or an XML document

AREAS: Final = frozenset(
    {
        AREA_PATH,
        AREA_QUERY_NAME,
        AREA_QUERY_VALUE,
        AREA_HEADER,
        AREA_COOKIE,
        AREA_BODY_NAME,
        AREA_BODY_VALUE,
        AREA_FILENAME,
        AREA_RAW_BODY,
    }
)


@dataclass(frozen=True, slots=True)
class PointValue:
    """One decoded value at one request point."""

    point: str
    value: str
    area: str
