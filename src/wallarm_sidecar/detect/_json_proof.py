"""`JsonBodyProof`: proves a plain JSON body clean with one RE2 pass over its raw text.

Walking a JSON body costs a Python step per key and leaf (a point name, a decoder
check, a place in the joined prefilter pass): most of a 1 KB API request's cost.
For the common body (ASCII, no escapes, nothing any decoder would expand) the walk
is provably unnecessary when no rule or trigger can match any of its strings:

* every key and string leaf of such a body is exactly the text between two of its
  double quotes, and no string holds a line break (strict JSON forbids control
  characters in strings), so turning each `"` into a line break makes every string
  a line of its own; what lies between strings (`:`, `,`, brackets, numbers,
  whitespace) becomes lines too, which can only add matches;
* the scanner's line-mode set (`ValueScanner.suspects` explains it) finds in text
  joined by line breaks exactly the patterns that some line holds alone, so one
  pass with no pattern live in the body's areas means `scan` finds nothing in any
  key or leaf, whatever the full walk would have made of them;
* numbers and literals match no pattern (a test holds every rule to that), and the
  walker's decoders only run on values with `%`, `&` or `\\`, values that open like
  JSON, XML or a JWT, or base64-shaped values: the proof refuses such bodies, so the
  full walk would have made no point beyond the keys and leaves.

A body with escapes or non-ASCII text is proven the same way from its decoded strings
(keys and leaves as the walker reads them, joined by line breaks: a Python step per
string, still a fraction of the walk). Anything else (a multi-line string, a decodable
value, a body near a parser limit, invalid JSON) gets the full walk, so the verdict is
always the walk's.
"""

from __future__ import annotations

from typing import Any, Final

import re2

from wallarm_sidecar.detect._points import AREA_BODY_NAME, AREA_BODY_VALUE
from wallarm_sidecar.detect.detectors import ValueScanner
from wallarm_sidecar.detect.parsers import ParserLimits
from wallarm_sidecar.detect.parsers._decoders import (
    base64_bytes,
    bytes_to_text,
    clean_text,
    is_compressed,
    printable_text,
)
from wallarm_sidecar.detect.parsers._walker import parse_json

#: `"` becomes a line break, every other byte stays
_QUOTES_TO_LINES: Final = bytes.maketrans(b'"', b"\n")
_STRUCTURED_LEADS: Final = (b"{", b"[", b"<")
_UNANCHORED: Final = re2._Anchor.UNANCHORED
_MEMO_SIZE: Final = 4096
_MEMO_LINE_LENGTH: Final = 128
#: lines one proof may scan alone before it gives up (the walk takes over)
_SCANS_PER_BODY: Final = 8
#: bodies larger than this are walked (the proof's own passes grow with the size,
#: and the walker's point and depth limits must stay out of reach)
MAX_PROVEN_BODY: Final = 64 * 1024


def _options() -> Any:
    options = re2.Options()
    options.never_capture = True
    options.max_mem = 1 << 20
    return options


class JsonBodyProof:
    """Callable: True when a JSON body is proven clean (no point of it has a finding)."""

    def __init__(self, scanner: ValueScanner, limits: ParserLimits, *, base64: bool) -> None:
        self._line_set: Any = scanner._line_set
        live = scanner._live
        self._live: frozenset[int] = live[AREA_BODY_NAME] | live[AREA_BODY_VALUE]
        self._usable = scanner._joinable
        self._min_base64 = limits.min_base64_length if base64 else 0
        # containers and points stay far from the walker's depth and point limits
        self._max_containers = limits.max_depth // 2
        self._max_points = limits.max_points // 2
        # Strings the walker would decode further: one that opens like JSON, XML or a
        # JWT (after the first line, which is the body's own bracket: a structural
        # line never starts with these), or a base64-shaped one (checked as the
        # walker checks it). One pass finds both kinds.
        lead = r"[{\[<]|eyJ"
        if self._min_base64:
            lead += r"|[A-Za-z0-9][^\n .]{" + str(self._min_base64 - 1) + ",}$"
        self._decodable: Any = re2.compile(("(?m)^(?:" + lead + ")").encode(), _options())._regexp
        self._regexes = scanner._line_regex
        self._scan = scanner.scan
        #: line -> whether `scan` finds nothing in it, as a key or as a value
        self._line_memo: dict[bytes, bool] = {}
        #: base64-shaped string -> whether the walker would make a point of it
        self._base64_memo: dict[bytes, bool] = {}

    def __call__(self, body: bytes) -> bool:
        if not self._usable or len(body) > MAX_PROVEN_BODY:
            return False
        containers = body.count(b"{") + body.count(b"[")
        # every point is a string (two quotes), or a leaf before a comma or a bracket
        points = body.count(b'"') // 2 + body.count(b",") + containers + 1
        if containers > self._max_containers or points > self._max_points:
            return False
        if body.isascii() and b"\\" not in body:
            if b"%" in body or b"&" in body:
                return False
            node = parse_json(body.decode("ascii"))
            if type(node) is not dict and type(node) is not list:
                return False  # not JSON, too deep, or a bare scalar: the walker decides
            # each string a line of its own, the first line the document's bracket
            return self._lines_are_clean(body.translate(_QUOTES_TO_LINES), 1)
        # Escapes or other scripts: the strings as the walker reads them, from the
        # decoded document (a Python step per string, still a fraction of the walk).
        node = parse_json(bytes_to_text(body).lstrip("\ufeff"))
        if type(node) is not dict and type(node) is not list:
            return False
        strings: list[str] = []
        _collect_strings(node, strings)
        text = "\n".join(strings)
        if text.count("\n") != len(strings) - 1 or "%" in text or "&" in text or "\\" in text:
            return False  # a multi-line string (a document), or one a decoder would expand
        return self._lines_are_clean(text.encode("utf-8", "surrogatepass"), 0)

    def _lines_are_clean(self, text: bytes, start: int) -> bool:
        """No line of `text` from `start` on is decodable, or has a finding alone."""
        decodable = self._decodable
        end = len(text)
        pos = start
        while pos < end:
            begin, stop = decodable.Match(_UNANCHORED, text, pos, end)[0]
            if begin < 0:
                break
            if self._decodable_string(text[begin:stop]):
                return False
            pos = text.find(b"\n", stop) + 1
            if pos == 0:
                break
        found = self._line_set.Match(text)
        if not found:
            return True
        live = self._live
        budget = [_SCANS_PER_BODY]
        for index in found:
            if index in live and not self._lines_clean(index, text, budget):
                return False
        return True

    def _decodable_string(self, line: bytes) -> bool:
        if line[:1] in _STRUCTURED_LEADS or line.startswith(b"eyJ"):
            return True
        known = self._base64_memo.get(line)
        if known is None:
            raw = base64_bytes(_text(line), min_length=self._min_base64)
            # what `Walker.base64` would make a point of: text, or a compressed blob
            known = raw is not None and (is_compressed(raw) or printable_text(raw) is not None)
            if len(line) <= _MEMO_LINE_LENGTH:
                if len(self._base64_memo) >= _MEMO_SIZE:
                    self._base64_memo.clear()
                self._base64_memo[line] = known
        return known

    def _lines_clean(self, index: int, text: bytes, budget: list[int]) -> bool:
        """Whether every line holding pattern `index` is clean when scanned alone, as
        the walk would scan it. Most are short words and numbers the engine never
        scans (a key such as `id` is not the shell command `id`); others pulled a
        tokenizer's trigger (`09/27`, an apostrophe in prose) and are scanned here,
        a few per body at most (`budget`), remembered when short."""
        regex = self._regexes(index)
        end = len(text)
        pos = 0
        while pos < end:
            begin = regex.Match(_UNANCHORED, text, pos, end)[0][0]
            if begin < 0:
                return True
            start = text.rfind(b"\n", 0, begin) + 1
            stop = text.find(b"\n", begin)
            if stop < 0:
                stop = end
            line = text[start:stop]
            if not _never_scanned(line):
                clean = self._line_memo.get(line)
                if clean is None:
                    budget[0] -= 1
                    if budget[0] < 0:
                        return False
                    value = _text(line)
                    scan = self._scan
                    clean = not scan(value, AREA_BODY_VALUE) and not scan(value, AREA_BODY_NAME)
                    if len(line) <= _MEMO_LINE_LENGTH:
                        if len(self._line_memo) >= _MEMO_SIZE:
                            self._line_memo.clear()
                        self._line_memo[line] = clean
                if not clean:
                    return False
            pos = stop + 1
        return True


def _collect_strings(node: Any, out: list[str]) -> None:
    """Keys and leaves of a decoded document as the walker emits them (numbers are
    text too: the decoder keeps them as written)."""
    children: Any
    if type(node) is dict:
        for key in node:
            out.append(key if key.isascii() else clean_text(key))
        children = node.values()
    else:
        children = node
    for child in children:
        kind = type(child)
        if kind is str:
            out.append(child if child.isascii() else clean_text(child))
        elif kind is dict or kind is list:
            _collect_strings(child, out)


def _text(line: bytes) -> str:
    return line.decode("utf-8", "surrogatepass")


def _never_scanned(line: bytes) -> bool:
    """The engine's own skip rule for a value (`DetectionEngine.inspect`): on the
    UTF-8 bytes it skips no more than the engine does on the text."""
    size = len(line)
    return size < 3 or line.isdigit() or (size < 6 and line.isalnum())
