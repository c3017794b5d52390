"""`ValueScanner`: one RE2 set pass per value, then the detectors it calls for.

For each request area we compile one RE2 set holding that area's rules plus a
few cheap triggers for the tokenising detectors. A clean value costs one set
match (and most values are short and clean); a value that matches a rule gets
its fragment from that rule's own RE2 regex; a value that pulls a trigger is
handed to the SQL, HTML/JS or Log4Shell detector.
"""

from __future__ import annotations

import re as stdlib_re
from collections.abc import Iterable, Sequence
from typing import Any, Final, NamedTuple

import re2

from wallarm_sidecar.detect._points import AREAS
from wallarm_sidecar.detect.detectors._exploits import detect_log4shell
from wallarm_sidecar.detect.detectors._rules import (
    _STRONG_COMMANDS,
    AREA_USER_AGENT,
    RULES,
    Rule,
)
from wallarm_sidecar.detect.detectors._sqli import detect_sqli
from wallarm_sidecar.detect.detectors._xss import detect_xss

MAX_FRAGMENT: Final = 200
#: the prefix that puts a pattern in line mode: `^` and `$` also match at line breaks
_LINE_MODE: Final = "(?m)"
_UNANCHORED: Final = re2._Anchor.UNANCHORED
#: what would make a pattern see joined values differently from lone ones: `\A` and
#: `\z` (text ends even in line mode), `\C` (any byte, a line break too) and inline
#: flags that switch line mode off
_JOIN_BREAKERS: Final = stdlib_re.compile(r"(?<!\\)(?:\\\\)*\\[AzC]|\(\?[a-zA-Z]*-[a-zA-Z]*m")

SCANNED_AREAS: Final = AREAS | {AREA_USER_AGENT}


#: RE2's memory budget for one prefilter set (its DFA cache grows up to this under
#: varied traffic, then is reused); measured: smaller budgets fail to compile the sets.
SET_MEMORY: Final = 8 << 20


def _options(max_mem: int = 1 << 20) -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.never_capture = True
    options.max_mem = max_mem
    return options


def _line_options(max_mem: int) -> Any:
    options = _options(max_mem)
    options.never_nl = True
    return options


#: a value of several lines (at least two line breaks inside it, or one in a value
#: this long) is a document: a post, a script, a stack trace
DOCUMENT_MIN_LENGTH: Final = 48
DOCUMENT_LENGTH: Final = 64
#: a value that is a whole SQL statement (a snippet, a query for a SQL console) is
#: content; an injection is a fragment that continues the application's own query
_STATEMENT_HEADS: Final = ("select", "insert", "update", "delete", "create", "alter", "with",
                           "explain")  # fmt: skip
_WHOLE_STATEMENT: Final = re2.compile(
    r"\s*(?:select|insert|update|delete|create|alter|with|explain)\s[^;]{4,}?\s"
    r"(?:from|into|set|table|index|view|as)\s[^;]*(?:;\s*)?$",
    _options(),
)

#: trigger name -> RE2 pattern that says "this value is worth tokenising"
TRIGGERS: Final[dict[str, str]] = {
    "sqli": (
        r"['\"`]\s*\)*\s*(?:(?:or|and|xor|not|union|order|group|having|limit|procedure|into|"
        r"like|rlike|regexp|div|mod|is|in|between|select|exec|waitfor|sounds|collate|where|glob|"
        r"notnull|isnull|match)\b|"
        r"[-+|&=<>!;#*/%^~,(@]|$)|"
        r"^\s*[-+]?[\d.]+(?:e\d+)?\s*\)*\s*(?:(?:or|and|xor|not|union|order|group|having|"
        r"limit|procedure|into|like|rlike|regexp|div|between|is|waitfor)\b|[;|&=<>!#(+*/^%]|--)|"
        r"^\s*\(|^\s*(?:(?:and|or|xor|union|except|intersect|in|like)\b|&&|\|\||;)|"
        r"^[\w.-]{1,40}=\s*(?:(?:and|or|xor|div)\b|&&|\|\||;)|"
        r"\b(?:or|and|xor)\s+['\"(]*\w+['\")]*\s*(?:[=<>]|like\b)|"
        r"^\s*[\w.@`\[\]]+\s*\)*\s+(?:or|and|xor|union|order|group|having|limit|"
        r"procedure|into|like|rlike|regexp|div)\b|^\s*(?:select|insert|update|delete|drop|"
        r"create|alter|truncate|exec|execute|declare|shutdown|waitfor|grant|revoke|replace|"
        r"load|show|sleep|benchmark|pg_sleep|extractvalue|updatexml|load_file|name_const|"
        r"gtid_subset|randomblob)\b|\b(?:union|intersect)\b|;\s*(?:select|insert|update|"
        r"delete|drop|create|alter|truncate|exec|execute|declare|shutdown|waitfor|grant|"
        r"--|#)|\)\s*(?:or|and|;|--|#)"
    ),
    "xss": r"<[\s/!]*[a-z]|script\s*:|data\s*:|\bon[a-z]{3,}\s*=|\bstyle\s*=",
    "log4shell": r"\$\{",
    # shell evasions that hide a command name: c'a't, w\ho\am\i, c$@at, ${IFS}
    "cmdline": (
        r"[a-z][\\'\"^`]+[a-z]|\$@|\$\{?ifs|\$\{\w*\}[a-z]|[a-z]\$[?$*@!_-][a-z]|"
        r"[a-z]\$[a-z_]\w{0,15}(?:[^\w{(]|$)|"
        r"[a-z](?:\$\(\)|[<>]\(\)|``)(?:[a-z]|\s)|(?:^|\s)['\"][a-z]{1,3}['\"][a-z]"
    ),
    # look-alike characters that some servers fold to ASCII: ＜script＞; and markup in
    # the high half of latin-1 that a US-ASCII page reads with the top bit dropped
    # (¼script¾...¼/script¾): an element there needs its closing tag as well
    # typographic quotes that a database's best-fit conversion turns into `'`
    # (’ OR ’1’=’1), right before what follows a broken quote
    "quotes": (
        r"[\x{2018}\x{2019}\x{00b4}\x{02bc}\x{2032}]\s*\)*\s*(?:(?:or|and|xor|union|select|having|"
        r"order|group)\b|[#;=|&]|--)"
    ),
    "fold": (
        # unbounded runs, not {0,64}: a counted run of a negated class blows up the DFA
        r"[\x{ff01}-\x{ff5e}]|\x{bc}[a-z][^\x{bc}\x{be}]*\x{be}[^\x{bc}]*\x{bc}\s*/\s*[a-z]"
        r"[^\x{bc}\x{be}]*\x{be}"
    ),
}
_TRIGGER_TYPES: Final = {"sqli": "sqli", "xss": "xss", "log4shell": "rce"}
_TRIGGER_RULES: Final = {
    "sqli": "sqli-tokens",
    "xss": "xss-tokens",
    "log4shell": "rce-log4shell-lookup",
}
#: triggers that rewrite the value and scan it again
#: in documents SQL is content: only the HTML tokenizer still reads them
#: in documents shell syntax and SQL are content; the SQL tokenizer still reads a
#: document's first line, where an injection padded with line breaks (`' or 1=1--`
#: and then pages of text) still has to begin
_NOT_IN_DOCUMENTS: Final = frozenset({"cmdline", "quotes"})
_REWRITES: Final = frozenset({"cmdline", "fold", "quotes"})
#: attack types a rewrite may report: what the rewrite undid hid them
_REWRITE_TYPES: Final = {
    "cmdline": frozenset({"rce", "ptrav"}),
    "quotes": frozenset({"sqli"}),
    "fold": None,
}
_FULLWIDTH: Final = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_HIGH_BIT: Final = {0xBC: "<", 0xBE: ">", 0xA2: '"', 0xA7: "'", 0xA8: "(", 0xA9: ")"}
_HAS_FULLWIDTH: Final = stdlib_re.compile("[\uff01-\uff5e]").search
_SHELL_NOISE: Final = str.maketrans("", "", "\\'\"^`")
#: `$name` right after a letter (linear: a fixed look-behind and one word)
_GLUED_VARIABLE: Final = stdlib_re.compile(r"(?<=[A-Za-z])\$[A-Za-z_]\w{0,15}(?![\w{(])")
_TYPOGRAPHIC_QUOTES: Final = ("\u2018", "\u2019", "\u00b4", "\u02bc", "\u2032")
#: triggers that are the libinjection-like tokenizers (switched off with lib_detection)
LIB_TRIGGERS: Final = frozenset({"sqli", "xss"})


class ScanBudget:
    """How many tokenizer runs one request may still spend."""

    __slots__ = ("tokenizer_runs",)

    def __init__(self, tokenizer_runs: int = 256) -> None:
        self.tokenizer_runs = tokenizer_runs


class Finding(NamedTuple):
    """One attack found in one value."""

    attack_type: str
    rule_id: str
    fragment: str


class ValueScanner:
    """Finds attacks in single values; compiled once, then shared (its only state is
    the line-mode regexes `suspects` compiles on first use)."""

    def __init__(self, rules: Iterable[Rule] = RULES, *, lib_detection: bool = True) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.lib_detection = lib_detection
        # Single rules run only after their set matched, to cut the fragment out:
        # a small DFA budget is plenty for them.
        self._regexes = [re2.compile(rule.pattern, _options(1 << 20)) for rule in self.rules]
        # One prefilter set per kind of value (document or not) for all areas: each
        # set's DFA cache grows with traffic up to its budget, so two sets bound a
        # worker's memory where one set per area did not. A match of a rule outside
        # the value's area is dropped by the entry table of that area (None).
        self._sets: dict[tuple[str, bool], tuple[Any, list[Rule | str | None]]] = {}
        for document in (False, True):
            rules = [rule for rule in self.rules if rule.in_documents or not document]
            triggers = [
                name
                for name in TRIGGERS
                if (lib_detection or name not in LIB_TRIGGERS)
                and not (document and name in _NOT_IN_DOCUMENTS)
            ]
            matcher = re2.Set.SearchSet(_options(SET_MEMORY))
            for rule in rules:
                matcher.Add(rule.pattern)
            for name in triggers:
                matcher.Add(TRIGGERS[name])
            matcher.Compile()
            for area in SCANNED_AREAS:
                entries: list[Rule | str | None] = [
                    rule if area in rule.areas else None for rule in rules
                ]
                entries.extend(triggers)
                # the binding's own Set takes bytes and skips the wrapper's checks
                self._sets[area, document] = (matcher._set, entries)
            if not document:
                line_patterns = [rule.pattern for rule in rules]
                line_patterns.extend(TRIGGERS[name] for name in triggers)
        # The single-value set once more, in line mode (`(?m)`: `^` and `$` also match
        # at a line break) and never matching a line break (`never_nl`). On text
        # without line breaks it is the very same set, so single-line values use it
        # (the set above then only sees values with line breaks). On single-line values
        # joined by line breaks it finds exactly the patterns that some value holds
        # alone: no match can take in a line break, so each lies within one value,
        # where `^`, `$` and `\b` see at the value's ends what they see in the value
        # alone (no pattern uses `\A`, `\z`, `\C` or a flag that undoes `(?m)`). One
        # pass over all of a request's values thus proves most of them clean.
        line_matcher = re2.Set.SearchSet(_line_options(SET_MEMORY))
        for pattern in line_patterns:
            line_matcher.Add(_LINE_MODE + pattern)
        line_matcher.Compile()
        self._line_patterns: tuple[str, ...] = tuple(line_patterns)
        self._joinable = all(_JOIN_BREAKERS.search(pattern) is None for pattern in line_patterns)
        self._line_set: Any = line_matcher._set
        self._line_regexes: dict[int, Any] = {}
        self._line_sets: dict[str, tuple[Any, list[Rule | str | None]]] = {
            area: (line_matcher._set, self._sets[area, False][1]) for area in SCANNED_AREAS
        }
        #: per area, the set indices that can give a finding there (rules of the
        #: area, and every trigger)
        self._live: dict[str, frozenset[int]] = {
            area: frozenset(
                index for index, entry in enumerate(self._sets[area, False][1]) if entry is not None
            )
            for area in SCANNED_AREAS
        }
        self._regex_of = {
            rule.id: regex for rule, regex in zip(self.rules, self._regexes, strict=True)
        }

    def scan(
        self, value: str, area: str, *, depth: int = 0, budget: ScanBudget | None = None
    ) -> list[Finding]:
        """Attacks in `value` found in `area`, at most one per attack type.

        With a `budget`, the tokenising detectors run only while it lasts (signatures
        always run): one request cannot buy unbounded tokenizer time with many values.
        """
        document = is_document(value)
        if document:
            matcher, entries = self._sets[area, True]
        elif "\n" in value:
            matcher, entries = self._sets[area, False]
        else:
            matcher, entries = self._line_sets[area]
        indices = matcher.Match(value.encode("utf-8", "surrogatepass"))
        if not indices:
            return []
        findings: list[Finding] = []
        seen: set[str] = set()
        triggers: list[str] = []
        for index in sorted(indices):
            entry = entries[index]
            if entry is None:
                continue
            if isinstance(entry, str):
                triggers.append(entry)
                continue
            if entry.attack_type in seen:
                continue
            seen.add(entry.attack_type)
            match = self._regex_of[entry.id].search(value)
            fragment = match.group(0) if match is not None else value
            findings.append(Finding(entry.attack_type, entry.id, _clip(fragment, value)))
        for name in triggers:
            if name in _REWRITES:
                if depth == 0:
                    rewritten = _rewrite(name, value)
                    if rewritten != value:
                        for extra in self.scan(rewritten, area, depth=1, budget=budget):
                            wanted = _REWRITE_TYPES[name]
                            if extra.attack_type not in seen and (
                                wanted is None or extra.attack_type in wanted
                            ):
                                seen.add(extra.attack_type)
                                findings.append(extra)
                        if (
                            name == "cmdline"
                            and "rce" not in seen
                            and _hidden_command(value, rewritten)
                        ):
                            seen.add("rce")
                            hidden = Finding("rce", RULE_HIDDEN_COMMAND, _clip(value, value))
                            findings.append(hidden)
                continue
            attack_type = _TRIGGER_TYPES[name]
            if attack_type in seen and name != "log4shell":
                continue
            if budget is not None:
                if budget.tokenizer_runs <= 0:
                    continue
                budget.tokenizer_runs -= 1
            found = self._run_trigger(
                name, _first_line(value) if document and name == "sqli" else value
            )
            if found is not None and attack_type not in seen:
                seen.add(attack_type)
                findings.append(Finding(attack_type, _TRIGGER_RULES[name], found))
        return findings

    def suspects(self, values: Sequence[str], areas: Sequence[str]) -> list[int]:
        """Which of `values` (each in its area of `areas`) `scan` may find anything in.

        The values must be single-line and not documents (`is_document`): `scan`
        matches those with the line-mode set, and one pass of it over all of them
        joined by line breaks finds exactly the patterns that some value holds
        alone. Indices not returned are proven clean: `scan` would return nothing
        for them (and spend no budget).

        A pattern that the joined pass found and that counts in some value's area
        is traced to its values with its own line-mode regex: a search from the
        start of a value finds the leftmost match at or after it, which lies within
        one value, so stepping from each match to the next value's start visits
        every value that holds the pattern.
        """
        count = len(values)
        if count == 0:
            return []
        text = "\n".join(values)
        if not self._joinable or text.count("\n") != count - 1:  # pragma: no cover
            return list(range(count))  # a value with a line break: no proof
        data = text.encode("utf-8", "surrogatepass")
        found = self._line_set.Match(data)
        if not found:
            return []
        live = self._live
        in_areas = set(areas)
        traced: list[int] = []
        for index in found:
            for area in in_areas:
                if index in live[area]:
                    traced.append(index)
                    break
        if not traced:
            return []
        end = len(data)
        suspects: set[int] = set()
        # tracing costs regex searches; past one per value, scanning each value alone
        # (what the caller does with every suspect) is as cheap: give up the proof
        searches = count + 2
        for index in traced:
            regex = self._line_regex(index)
            pos = position = 0  # `position` is the value that starts at `pos`
            while True:
                searches -= 1
                if searches < 0:
                    return list(range(count))
                begin = regex.Match(_UNANCHORED, data, pos, end)[0][0]
                if begin < 0:
                    break
                # the value holding the match: one more per line break on the way
                position += data.count(b"\n", pos, begin)
                if index in live[areas[position]]:
                    suspects.add(position)
                pos = data.find(b"\n", begin) + 1
                if pos == 0:
                    break
                position += 1
        return sorted(suspects)

    def _line_regex(self, index: int) -> Any:
        regex = self._line_regexes.get(index)
        if regex is None:
            pattern = _LINE_MODE + self._line_patterns[index]
            regex = re2.compile(pattern, _line_options(1 << 20))._regexp
            self._line_regexes[index] = regex
        return regex

    @staticmethod
    def _run_trigger(name: str, value: str) -> str | None:
        if name == "sqli":
            sqli = detect_sqli(value)
            return None if sqli is None else _clip(value, value)
        if name == "xss":
            xss = detect_xss(value)
            return None if xss is None else _clip(xss.fragment, value)
        log4 = detect_log4shell(value)
        return None if log4 is None else _clip(log4.fragment, value)


def is_document(value: str) -> bool:
    """Long multi-line text (a post, a code snippet) rather than a single value."""
    if "```" in value:
        return True
    if len(value) < DOCUMENT_MIN_LENGTH:
        return False
    if value.lstrip()[:8].lower().startswith(_STATEMENT_HEADS) and _WHOLE_STATEMENT.match(value):
        return True
    lines = value.strip().count("\n")
    return lines >= 2 or (lines == 1 and len(value) >= DOCUMENT_LENGTH)


#: a command line that starts with a command name and an argument
_COMMAND_HEAD: Final = re2.compile(
    r"^\s*(?:/?(?:usr/)?s?bin/)?(?:" + _STRONG_COMMANDS + r")(?:\.exe)?\s+[^\s]", _options()
)
RULE_HIDDEN_COMMAND: Final = "rce-hidden-command"


def _hidden_command(value: str, rewritten: str) -> bool:
    """`""p""y""t""h""o""n"" x`, `c'a't /x`: shell quoting spent inside the command name,
    which then reads as a command with an argument. Quotes elsewhere (`nc isn't up`),
    around the name (`"curl" examples`, reStructuredText's ``pip``) or a single
    apostrophe in it (`I'd like`) are text."""
    first = value.lstrip().partition(" ")[0].strip("'\"`")
    # one apostrophe is English (`I'd like`, `don't`); shell noise takes two or more
    noise = sum(first.count(ch) for ch in "\\'\"^`")
    return noise >= 2 and _COMMAND_HEAD.search(rewritten) is not None


def _first_line(value: str) -> str:
    """The first non-blank line of a document."""
    text = value.lstrip()
    end = text.find("\n")
    return text if end < 0 else text[:end]


def _rewrite(name: str, value: str) -> str:
    if name == "fold":
        # `str.translate` looks every character up in a table (slow on long values):
        # only for values that hold full-width forms; `replace` scans in C
        text = value.translate(_FULLWIDTH) if _HAS_FULLWIDTH(value) else value
        for code, ascii_char in _HIGH_BIT.items():
            text = text.replace(chr(code), ascii_char)
        return text
    if name == "quotes":
        for quote in _TYPOGRAPHIC_QUOTES:
            value = value.replace(quote, "'")
        return value
    # the way a shell reads it: quotes and escapes vanish, $@ and ${x} expand to nothing
    text = value.replace("$@", "").replace("${IFS}", " ").replace("$IFS", " ")
    for noise in ("$()", "<()", ">()", "``", "$!", "$_", "$*", "$-"):
        text = text.replace(noise, "")
    # an unset variable glued to a word expands to nothing: `uname$u -a`
    text = _GLUED_VARIABLE.sub("", text)
    return _strip_empty_expansions(text).translate(_SHELL_NOISE)


def _strip_empty_expansions(text: str) -> str:
    out: list[str] = []
    i = 0
    while True:
        start = text.find("${", i)
        end = text.find("}", start + 2) if start >= 0 else -1
        if start < 0 or end < 0 or end - start > 24:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:start])
        i = end + 1


def _clip(fragment: str, value: str) -> str:
    if not fragment:
        fragment = value
    return fragment if len(fragment) <= MAX_FRAGMENT else fragment[:MAX_FRAGMENT]
