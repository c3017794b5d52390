"""The OWASP CRS regression corpus (go-ftw YAML), read in place, as raw requests.

The corpus lives outside the checkout (default: ``<repo>/../shared/corpora/crs-regression``,
one directory per CRS rule file, one YAML file per rule, Apache-2.0) and is never copied
into the repository. This module only reads it and rebuilds, byte for byte, the request
go-ftw would put on the wire; it does no I/O besides reading the files.

Classification of a test stage (its ``output`` block)
------------------------------------------------------
* ATTACK: the stage expects a rule to fire (``log.expect_ids`` / ``log_contains`` /
  a positive ``log.match_regex``), or expects the server to refuse the request
  (``status`` 4xx; go-ftw uses this for requests Apache or nginx reject at framing).
* LEGITIMATE: the stage only expects rules *not* to fire (``log.no_expect_ids`` /
  ``no_log_contains`` / ``log.no_match_regex``), optionally with a 2xx ``status``.
  These are the CRS "false-positive" tests: requests a real user sends that an earlier
  version of a rule used to flag.
* Anything else (no expectation at all) is skipped.

The attack class and the report group come from the rule family (the three digits of
the directory, e.g. ``REQUEST-942-APPLICATION-ATTACK-SQLI`` -> ``942``), see `FAMILIES`.
Only the ``attack`` group is in the headline attack share; ``protocol`` (911 methods,
920 protocol enforcement, 922 multipart charset rules), ``evaluation`` (949/959/980
anomaly scoring, 999 exceptions) and ``response`` (950-956, which test the response,
not the request) are reported separately. The headline legitimate share counts the
LEGITIMATE stages of the ``attack`` and ``protocol`` groups (all request families),
Both shares leave out *disputed* stages (`mark_disputed`): an ATTACK stage listed in
`KNOWN_FALSE_POSITIVES` (a test that documents a high-paranoia rule firing on ordinary
text); a LEGITIMATE stage listed in `ATTACKS_IN_SUBSTANCE` (a negative test of one rule
whose payload is a real attack that a sibling rule owns); and a LEGITIMATE stage whose
very request is an undisputed ATTACK stage in another file (the corpus contradicts
itself; the attack wins). Both tables were reviewed by hand, request by request.
Disputed stages are counted and shown, but are in neither share.

Request building follows go-ftw (``ftwhttp/request.go``): ``encoded_request`` (base64)
and ``raw_request`` are sent as they are; otherwise the request line is
``{method} {uri} {version}`` (defaults ``GET``, ``/``, ``HTTP/1.1``), then the headers
sorted by name, then ``data``. With ``autocomplete_headers`` (default true) and a body,
``Content-Type: application/x-www-form-urlencoded`` is added when absent and an
unencoded form body is percent-encoded pair by pair; ``Connection: close`` is added when
absent; ``Content-Length`` is added when absent and there is a body or the method matches
go-ftw's ``^POST|PUT|PATCH|DELETE$``. A ``multipart/form-data;`` body has every LF
replaced by CRLF. A stage without any ``headers`` key gets ``Host: localhost``; a stage
with headers is sent as written (920280 tests a missing Host on purpose). ``data`` given
as a list (the old ftw format) is joined with CRLF; the only Go template function the
corpus uses, ``{{ "x" | repeat N }}``, is expanded.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote_plus

import yaml

ATTACK: Final = "attack"
LEGITIMATE: Final = "legitimate"
Kind = Literal["attack", "legitimate"]

GROUP_ATTACK: Final = "attack"
GROUP_PROTOCOL: Final = "protocol"
GROUP_EVALUATION: Final = "evaluation"
GROUP_RESPONSE: Final = "response"
GROUPS: Final = (GROUP_ATTACK, GROUP_PROTOCOL, GROUP_EVALUATION, GROUP_RESPONSE)


@dataclass(frozen=True, slots=True)
class Family:
    """What a CRS rule family tests, in our words, and which report group it joins."""

    attack_class: str
    group: str


#: CRS rule family (first three digits of the rule id) -> attack class and report group.
FAMILIES: Final[Mapping[str, Family]] = {
    "911": Family("method", GROUP_PROTOCOL),
    "913": Family("scanner", GROUP_ATTACK),
    "920": Family("protocol", GROUP_PROTOCOL),
    "921": Family("protocol-attack", GROUP_ATTACK),  # smuggling, splitting, header/LDAP inj.
    "922": Family("multipart", GROUP_PROTOCOL),
    "930": Family("lfi", GROUP_ATTACK),  # path traversal and OS file access
    "931": Family("rfi", GROUP_ATTACK),
    "932": Family("rce", GROUP_ATTACK),
    "933": Family("php", GROUP_ATTACK),
    "934": Family("generic", GROUP_ATTACK),  # node.js, SSRF, SSTI, prototype pollution...
    "941": Family("xss", GROUP_ATTACK),
    "942": Family("sqli", GROUP_ATTACK),
    "943": Family("session-fixation", GROUP_ATTACK),
    "944": Family("java", GROUP_ATTACK),
    "949": Family("evaluation", GROUP_EVALUATION),
    "959": Family("evaluation", GROUP_EVALUATION),
    "980": Family("evaluation", GROUP_EVALUATION),
    "999": Family("evaluation", GROUP_EVALUATION),
    "950": Family("response", GROUP_RESPONSE),
    "951": Family("response", GROUP_RESPONSE),
    "952": Family("response", GROUP_RESPONSE),
    "953": Family("response", GROUP_RESPONSE),
    "954": Family("response", GROUP_RESPONSE),
    "955": Family("response", GROUP_RESPONSE),
    "956": Family("response", GROUP_RESPONSE),
}
_UNKNOWN_FAMILY: Final = Family("other", GROUP_EVALUATION)

_FAMILY_DIR = re.compile(r"^(?:REQUEST|RESPONSE)-(\d{3})-")
_LOG_ID = re.compile(r"""id\s*["':]?\s*"?(\d{6})""")
_METHODS_WITH_BODY = re.compile(r"^POST|PUT|PATCH|DELETE$")  # sic: go-ftw's own regex
_REPEAT = re.compile(r"""\{\{\s*"((?:[^"\\]|\\.)*)"\s*\|\s*repeat\s+(\d+)\s*\}\}""")


class CorpusError(ValueError):
    """A corpus file that cannot be read as a go-ftw test file."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CrsCase:
    """One stage of one CRS regression test, classified, with its raw request."""

    family: str
    rule_id: int
    test_id: str
    stage: int
    kind: Kind
    desc: str
    raw: bytes
    expected_ids: tuple[int, ...] = ()
    expected_status: int | None = None
    source: str = ""
    #: Why a LEGITIMATE stage is left out of the legitimate share ("" when it is not).
    disputed: str = ""

    @property
    def attack_class(self) -> str:
        return FAMILIES.get(self.family, _UNKNOWN_FAMILY).attack_class

    @property
    def group(self) -> str:
        return FAMILIES.get(self.family, _UNKNOWN_FAMILY).group

    @property
    def title(self) -> str:
        """The go-ftw test title, ``<rule>-<test>``, plus ``/<stage>`` past the first."""
        base = f"{self.rule_id}-{self.test_id}"
        return base if self.stage == 0 else f"{base}/{self.stage}"


# --- YAML: every scalar stays text, as Go's yaml.v3 gives it to string fields ----------


class _TextLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """A safe loader that keeps ints, floats, booleans and dates as their source text."""


for _tag in ("int", "float", "bool", "timestamp"):
    _TextLoader.add_constructor(
        f"tag:yaml.org,2002:{_tag}",
        lambda loader, node: loader.construct_scalar(node),
    )


def default_corpus_dir(repo: Path | None = None) -> Path:
    """``<repo>/../shared/corpora/crs-regression``; repo defaults to this checkout."""
    root = repo if repo is not None else Path(__file__).resolve().parent.parent
    return root.parent / "shared" / "corpora" / "crs-regression"


def family_of(path: Path) -> str:
    """The rule family of a corpus file: from its directory, else its file name."""
    match = _FAMILY_DIR.match(path.parent.name)
    if match:
        return match.group(1)
    return path.stem[:3]


def load_corpus(directory: Path) -> list[CrsCase]:
    """Every classified stage of every YAML file under `directory`, in path order."""
    if not directory.is_dir():
        raise FileNotFoundError(f"CRS regression corpus not found: {directory}")
    cases: list[CrsCase] = []
    for path in sorted(directory.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(directory).as_posix()
        rule_id = int(path.stem) if path.stem.isdigit() else None
        cases.extend(parse_test_file(text, family=family_of(path), source=rel, rule_id=rule_id))
    return cases


def parse_test_file(
    text: str, *, family: str, source: str = "", rule_id: int | None = None
) -> list[CrsCase]:
    """The classified stages of one go-ftw YAML document (empty files give none).

    `rule_id` overrides the document's own (one corpus file carries a typo in it).
    """
    try:
        document = yaml.load(text, Loader=_TextLoader)
    except yaml.YAMLError as exc:
        raise CorpusError(f"{source}: {exc}") from exc
    if document is None:
        return []
    if not isinstance(document, dict) or not isinstance(document.get("tests"), list):
        raise CorpusError(f"{source}: not a go-ftw test file (no 'tests' list)")
    if rule_id is None:
        rule_id = _as_int(document.get("rule_id"), default=0)
    cases: list[CrsCase] = []
    for test in document["tests"]:
        test_id = str(test.get("test_id", test.get("test_title", "?")))
        desc = str(test.get("desc") or "").strip()
        for index, stage in enumerate(test.get("stages") or ()):
            # The old format wraps each stage in a "stage:" key.
            body = stage.get("stage", stage) if isinstance(stage, dict) else {}
            inp = body.get("input") or {}
            out = body.get("output") or {}
            classified = classify(out)
            if classified is None:
                continue
            kind, ids, status = classified
            cases.append(
                CrsCase(
                    family=family,
                    rule_id=rule_id,
                    test_id=test_id,
                    stage=index,
                    kind=kind,
                    desc=desc,
                    raw=build_request(inp),
                    expected_ids=ids,
                    expected_status=status,
                    source=source,
                )
            )
    return cases


def classify(output: Mapping[str, Any]) -> tuple[Kind, tuple[int, ...], int | None] | None:
    """(kind, expected rule ids, expected status) for a stage's output, or None.

    The rule is written out in the module docstring.
    """
    log = output.get("log") or {}
    expect_ids = [_as_int(i) for i in _as_list(log.get("expect_ids"))]
    for text in _as_list(output.get("log_contains")):
        expect_ids.extend(int(m) for m in _LOG_ID.findall(str(text)))
    positive = bool(expect_ids) or bool(output.get("log_contains"))
    positive = positive or bool(log.get("match_regex")) or bool(output.get("response_contains"))
    negative = any(
        (
            log.get("no_expect_ids"),
            log.get("no_match_regex"),
            output.get("no_log_contains"),
        )
    )
    status = _status(output.get("status"))
    if status is not None and 400 <= status < 500:
        positive = True
    elif status is not None and 200 <= status < 300:
        negative = True
    ids = tuple(i for i in expect_ids if i)
    if positive:
        return ATTACK, ids, status
    if negative:
        return LEGITIMATE, (), status
    return None


def _status(value: Any) -> int | None:
    values = [_as_int(v, default=0) for v in _as_list(value)]
    values = [v for v in values if v]
    return values[0] if values else None


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


def _as_int(value: Any, *, default: int = 0) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def _as_bool(value: Any, *, default: bool) -> bool:
    if value is None:
        return default
    return str(value).strip().lower() in {"true", "yes", "on", "1"}


# --- request building (go-ftw's BuildRequest) ------------------------------------------


def render_data(data: Any) -> str | None:
    """The body text of a stage: a list joined with CRLF, sprig ``repeat`` expanded."""
    if data is None:
        return None
    text = "\r\n".join(str(part) for part in data) if isinstance(data, list) else str(data)
    return _REPEAT.sub(lambda m: _unquote_go(m.group(1)) * int(m.group(2)), text)


def _unquote_go(literal: str) -> str:
    return literal.encode("latin-1", "backslashreplace").decode("unicode_escape")


def encode_form(data: bytes) -> bytes:
    """go-ftw's ``encodeDataParameters`` for an already-chosen urlencoded body.

    An unencoded body (no ``%`` or ``+``, so unescaping changes nothing) is encoded
    pair by pair with Go's ``url.QueryEscape``; anything else is left as written.
    """
    if not data or b"%" in data or b"+" in data:
        return data
    out = bytearray()
    remaining = data
    while remaining:
        amp = remaining.find(b"&")
        if amp == -1:
            token, remaining = remaining, b""
        else:
            token, remaining = remaining[:amp], remaining[amp + 1 :]
        eq = token.find(b"=")
        if eq == -1:
            out += quote_plus(token, safe="").encode("ascii") + b"&"
            continue
        out += quote_plus(token[:eq], safe="").encode("ascii") + b"="
        out += quote_plus(token[eq + 1 :], safe="").encode("ascii") + b"&"
    return bytes(out[:-1])


def build_request(inp: Mapping[str, Any]) -> bytes:
    """The bytes go-ftw writes to the socket for one stage ``input`` block."""
    if inp.get("raw_request"):
        return str(inp["raw_request"]).encode("utf-8")
    if inp.get("encoded_request"):
        return base64.b64decode(str(inp["encoded_request"]))
    method = _text(inp.get("method"), "GET")
    uri = _text(inp.get("uri"), "/")
    version = _text(inp.get("version"), "HTTP/1.1")
    autocomplete = _as_bool(inp.get("autocomplete_headers"), default=True)
    if "headers" in inp:
        headers = {str(k): _text(v, "") for k, v in (inp.get("headers") or {}).items()}
    else:
        headers = {"Host": "localhost"}

    text = render_data(inp.get("data"))
    if text is None and inp.get("encoded_data"):
        data = base64.b64decode(str(inp["encoded_data"]))
    else:
        data = (text or "").encode("utf-8")

    if data and autocomplete:
        if not headers.get("Content-Type"):
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if headers.get("Content-Type") == "application/x-www-form-urlencoded":
            data = encode_form(data)
    if headers.get("Content-Type", "").startswith("multipart/form-data;"):
        data = data.replace(b"\n", b"\r\n")
    if autocomplete:
        if not headers.get("Connection"):
            headers["Connection"] = "close"
        if (data or _METHODS_WITH_BODY.search(method)) and not headers.get("Content-Length"):
            headers["Content-Length"] = str(len(data))

    head = f"{method} {uri} {version}\r\n"
    head += "".join(f"{name}: {headers[name]}\r\n" for name in sorted(headers))
    return head.encode("utf-8") + b"\r\n" + data


def _text(value: Any, default: str) -> str:
    return default if value is None else str(value)


# --- framing: what our proxy would hand to the engine ----------------------------------

FRAMED: Final = "framed"
REJECTED: Final = "rejected"  # the proxy answers 400 before detection
INCOMPLETE: Final = "incomplete"  # the proxy waits for bytes that never come, then times out


@dataclass(frozen=True, slots=True, kw_only=True)
class FramedRequest:
    """One request as the proxy's HTTP parser hands it over (latin-1 text, raw body)."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Framing:
    """The outcome of parsing one raw request with httptools (llhttp, strict)."""

    outcome: str
    requests: tuple[FramedRequest, ...] = ()
    error: str = ""


@dataclass(slots=True)
class _Collector:
    parser: Any = None
    done: list[FramedRequest] = field(default_factory=list)
    url: bytearray = field(default_factory=bytearray)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    method: str = ""
    in_message: bool = False

    def on_message_begin(self) -> None:
        self.url.clear()
        self.headers = []
        self.body.clear()
        self.method = ""
        self.in_message = True

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self.method = self.parser.get_method().decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done.append(
            FramedRequest(
                method=self.method,
                target=self.url.decode("latin-1"),
                headers=tuple(self.headers),
                body=bytes(self.body),
            )
        )
        self.in_message = False


def frame(raw: bytes) -> Framing:
    """Parse `raw` as the proxy would: every complete request, or why there is none.

    A parse error before the first complete request is a framing rejection (400, never
    reaches the app). An error after it only ends the connection: the requests before it
    were forwarded, so they are inspected. Bytes that never complete a request are
    INCOMPLETE. An Upgrade/CONNECT request stops parsing after its head.
    """
    import httptools

    collector = _Collector()
    parser = httptools.HttpRequestParser(collector)
    collector.parser = parser
    try:
        parser.feed_data(raw)
    except httptools.HttpParserUpgrade:
        if collector.in_message and not collector.done:
            collector.on_message_complete()
    except httptools.HttpParserError as exc:
        if not collector.done:
            return Framing(outcome=REJECTED, error=str(exc) or type(exc).__name__)
    if not collector.done:
        return Framing(outcome=INCOMPLETE)
    return Framing(outcome=FRAMED, requests=tuple(collector.done))


#: LEGITIMATE stages that are attacks in substance: the stage only says that its own rule
#: must stay silent because a sibling rule (or another paranoia level) owns the payload.
#: Reviewed by hand; the request itself is what the description says.
ATTACKS_IN_SUBSTANCE: Final[Mapping[str, str]] = {
    "920640-2": "time-based SQL injection select(sleep(10)) in a JSON field",
    "920640-4": "time-based SQL injection select(sleep(10)) in a JSON field",
    "921110-4": "CRLF followed by a request line in a form value (request splitting)",
    "922130-3": "upload of 1.php that dumps /etc/passwd (web shell)",
    "922130-5": "upload of 1.php that dumps /etc/passwd (web shell)",
    "922130-6": "upload of 1.php that dumps /etc/passwd (web shell)",
    "932207-4": "';ls -al' appended to the Referer (the test calls it an obvious payload)",
    "932250-2": "';tar -xzf ... /etc' appended to a value (command chaining)",
    "932260-1": "a full 'bash -c \"echo test\"' command line as a value",
    "932260-3": "';tar -xzf ... /etc' appended to a value (command chaining)",
    "933100-81": "system('id') call inside a PHP-like tag",
    "933100-86": "PHP short echo tag '<?echo \"test\";?>' (the test calls it an attack)",
    "934110-6": "cloud metadata endpoint 169.254.169.254/latest/user-data (SSRF)",
    "934110-7": "cloud metadata endpoint http://169.254.169.254/latest (SSRF)",
    "934110-8": "cloud metadata endpoint http://metadata.google.internal (SSRF)",
    "934120-19": "metadata address 169.254.169.254 as an IPv4-mapped IPv6 literal (SSRF)",
    "941100-5": "<script> with createElement('script') in the Referer (stored XSS)",
    "941140-14": "url(javascript:alert(1)) (XSS through CSS)",
    "942101-11": "'union all select 1,2,3 from aa' in the path",
    "942131-7": "quote-delimited boolean expression ''1' not regexp '1''",
    "942160-12": "blind SQL injection BENCHMARK(2999/**/999,MD5( in the path",
    "942350-9": "stacked query ';INSERT INTO ... --' inside a comment",
    "942360-29": "sqlmap payload ||(SELECT(DBMS_LDAP.INIT(...))FROM(DUAL))",
    "942360-30": "sqlmap payload '||(select(pg_sleep(15))...)||'",
    "942360-31": "sqlmap payload UNION ALL SELECT NULL,NULL,CONCAT(...)--",
    "942520-10": "quote then comment: x'@email-- (auth bypass shape)",
    "942521-15": "tautology \\'lol' or '1 (the test calls it a false negative)",
    "942522-5": "tautology 'or'1 (the test calls it normal SQLi)",
    "944100-11": "XStream gadget: an XML element named java.lang.Runtime",
    "944100-12": "XStream gadget: an XML attribute named java.lang.Runtime",
    "944100-15": "XStream gadget: an XML element named java.lang.ProcessBuilder",
    "944100-16": "XStream gadget: an XML attribute named java.lang.ProcessBuilder",
    **dict.fromkeys(
        (f"944120-{n}" for n in (6, 7, 23, 24, 40, 41, 57, 58, 74, 75, 91, 92, 108, 109, 125, 126)),
        "ProcessBuilder next to a Commons-Collections gadget class (InvokerTransformer...)",
    ),
}


#: ATTACK stages whose own description calls the request a (known, expected) false
#: positive: a high-paranoia rule is *documented* to fire on ordinary text. Reviewed by hand.
KNOWN_FALSE_POSITIVES: Final[Mapping[str, str]] = {
    "932236-58": "recipe sentence starting with 'Cut' (known false positive)",
    "932236-59": "news sentence starting with 'Wall Street' (known false positive)",
    "932236-60": "news sentence starting with 'Mount Airy' (known false positive)",
    "932290-6": "file name ''that's the joke''.jpeg (known false positive)",
    "932290-7": "the name O'keefe's (known false positive)",
    "932290-8": 'Size: 8"x11" (known false positive)',
    "932290-9": 'That\'s two "O"s in goose (known false positive)',
    "932350-1": "a form field named id with the value 4 (PL3 rule; 932340-7 calls it legitimate)",
    "932371-2": "two English sentences, the second starting with 'At' (known false positive)",
    "934210-2": "django-filter lookup username__startswith=p (934220-4 calls it normal usage)",
    "941120-10": "Stripe webhook signature header (expected false positive)",
    "941120-12": "JWT in an Authorization header (expected false positive)",
    "941120-13": "Square webhook HMAC signature (expected false positive)",
    "941390-10": "English prose containing 'import (' (known false positive)",
}


def request_key(raw: bytes) -> tuple[object, ...]:
    """What makes two corpus requests the same request: the framed method, target,
    headers (any order, without Connection) and body; the raw bytes when unframed."""
    framing = frame(raw)
    if not framing.requests:
        return ("raw", raw)
    first = framing.requests[0]
    headers = tuple(sorted(h for h in first.headers if h[0] != "connection"))
    return (first.method, first.target, headers, first.body)


def mark_disputed(cases: Sequence[CrsCase]) -> list[CrsCase]:
    """`cases` with `disputed` set where the corpus does not settle what a request is.

    * An ATTACK stage listed in `KNOWN_FALSE_POSITIVES`.
    * A LEGITIMATE stage listed in `ATTACKS_IN_SUBSTANCE`, or whose very request is an
      (undisputed) ATTACK stage of an attack-group family elsewhere: when the corpus
      contradicts itself, the attack wins unless it is a known false positive.
    """
    marked: list[CrsCase] = []
    for case in cases:
        reason = ""
        if case.kind == ATTACK and case.group == GROUP_ATTACK:
            reason = KNOWN_FALSE_POSITIVES.get(case.title, "")
        marked.append(replace(case, disputed=reason) if reason else case)
    attacks: dict[tuple[object, ...], str] = {}
    for case in marked:
        if is_headline_attack(case):
            attacks.setdefault(request_key(case.raw), case.title)
    for index, case in enumerate(marked):
        if case.kind != LEGITIMATE:
            continue
        twin = attacks.get(request_key(case.raw))
        reason = f"same request as attack test {twin}" if twin else ""
        reason = reason or ATTACKS_IN_SUBSTANCE.get(case.title, "")
        if reason:
            marked[index] = replace(case, disputed=reason)
    return marked


def is_headline_attack(case: CrsCase) -> bool:
    """An undisputed ATTACK stage of a request-content family (the headline attack share)."""
    return case.kind == ATTACK and case.group == GROUP_ATTACK and not case.disputed


def is_headline_legitimate(case: CrsCase) -> bool:
    """An undisputed LEGITIMATE stage of any request family (the legitimate share)."""
    return (
        case.kind == LEGITIMATE
        and not case.disputed
        and case.group in (GROUP_ATTACK, GROUP_PROTOCOL)
    )
