"""Input parsers of the detection engine: a request in, values at named points out.

`extract_points` walks the path, query, headers, cookies and body of a request,
recursing through structure parsers (urlencoded, multipart, JSON, XML, JWT)
and decoders (percent, base64, htmljs, gzip), all bounded by `ParserLimits`.

Points are named the way the Console shows them: a source, then one word per
nesting step, names in double quotes, indexes bare::

    uri                                    path 0
    get_param "id"                         get_param "q" percent
    get_param "t" base64 gzip              get_param "d" json_doc hash "a" array 0
    header "User-Agent"                    header "Authorization" jwt payload hash "sub"
    cookie "session"                       post                      (a raw body)
    post form_urlencoded "name"            post json_doc hash "user" array 0
    post multipart "file" file_name        post multipart "meta" json_doc hash "k"
    post xml tag "a" tag "b" attr "id"     post xml dtd              (the DOCTYPE, raw)
    post gzip json_doc hash "a"            (a Content-Encoding: gzip body)

A decoded form is emitted only when the decoder changed the value, once per
distinct value. A name is its own point with a `*_name` area: every query and
form parameter name; a JSON key or an XML element or attribute name the first
time it appears in its document (arrays of objects repeat their keys).
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
