"""Input parsers of the detection engine: a request in, values at named points out.

`extract_points` walks the path, query, headers, cookies and body of a request,
recursing through structure parsers (urlencoded, multipart, JSON, XML, JWT)
and decoders (percent, base64, htmljs, gzip), all bounded by `ParserLimits`.
"""

from wallarm_sidecar.detect.parsers._extract import extract_points
from wallarm_sidecar.detect.parsers._limits import (
    ATTACK_DATA_BOMB,
    ATTACK_OVERLIMIT,
    DEFAULT_LIMITS,
    RULE_BOMB_ZLIB,
    RULE_OVERLIMIT_BYTES,
    RULE_OVERLIMIT_DEPTH,
    RULE_OVERLIMIT_POINTS,
    ParserLimits,
)
from wallarm_sidecar.detect.parsers._xml import RULE_BOMB_XML_ENTITY

__all__ = [
    "ATTACK_DATA_BOMB",
    "ATTACK_OVERLIMIT",
    "DEFAULT_LIMITS",
    "RULE_BOMB_XML_ENTITY",
    "RULE_BOMB_ZLIB",
    "RULE_OVERLIMIT_BYTES",
    "RULE_OVERLIMIT_DEPTH",
    "RULE_OVERLIMIT_POINTS",
    "ParserLimits",
    "extract_points",
]
