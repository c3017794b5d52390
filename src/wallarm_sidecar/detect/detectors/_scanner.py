"""`ValueScanner`: one RE2 set pass per value, then the detectors it calls for.

For each request area we compile one RE2 set holding that area's rules plus a
few cheap triggers for the tokenising detectors. A clean value costs one set
match (and most values are short and clean); a value that matches a rule gets
its fragment from that rule's own RE2 regex; a value that pulls a trigger is
handed to the SQL, HTML/JS or Log4Shell detector.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, NamedTuple

import re2

from wallarm_sidecar.detect._points import AREAS
from wallarm_sidecar.detect.detectors._exploits import detect_log4shell
from wallarm_sidecar.detect.detectors._rules import AREA_USER_AGENT, RULES, Rule
from wallarm_sidecar.detect.detectors._sqli import detect_sqli
from wallarm_sidecar.detect.detectors._xss import detect_xss

MAX_FRAGMENT: Final = 200

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
        r"like|rlike|regexp|div|mod|is|in|between|select|exec|waitfor|sounds|collate|where)\b|"
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
        r"[a-z][\\'\"^`]+[a-z]|\$@|\$\{?ifs|\$\{\w*\}[a-z]|[a-z]\$[?$*@!_][a-z]|"
        r"[a-z](?:\$\(\)|[<>]\(\)|``)(?:[a-z]|\s)|(?:^|\s)['\"][a-z]{1,3}['\"][a-z]"
    ),
    # look-alike characters that some servers fold to ASCII: ＜script＞, ¼script¾
    "fold": r"[\x{ff01}-\x{ff5e}]|\x{bc}[a-z/][^\x{be}]{0,64}\x{be}",
}
_TRIGGER_TYPES: Final = {"sqli": "sqli", "xss": "xss", "log4shell": "rce"}
_TRIGGER_RULES: Final = {
    "sqli": "sqli-tokens",
    "xss": "xss-tokens",
    "log4shell": "rce-log4shell-lookup",
}
#: triggers that rewrite the value and scan it again
#: in documents SQL is content: only the HTML tokenizer still reads them
_NOT_IN_DOCUMENTS: Final = frozenset({"sqli", "cmdline"})
_REWRITES: Final = frozenset({"cmdline", "fold"})
_FULLWIDTH: Final = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_HIGH_BIT: Final = {0xBC: "<", 0xBE: ">", 0xA2: '"', 0xA7: "'", 0xA8: "(", 0xA9: ")"}
_SHELL_NOISE: Final = str.maketrans("", "", "\\'\"^`")
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
    """Finds attacks in single values; compiled once, then shared (it holds no state)."""

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
        matcher, entries = self._sets[area, is_document(value)]
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
                            if extra.attack_type not in seen and (
                                name == "fold" or extra.attack_type == "rce"
                            ):
                                seen.add(extra.attack_type)
                                findings.append(extra)
                continue
            attack_type = _TRIGGER_TYPES[name]
            if attack_type in seen and name != "log4shell":
                continue
            if budget is not None:
                if budget.tokenizer_runs <= 0:
                    continue
                budget.tokenizer_runs -= 1
            found = self._run_trigger(name, value)
            if found is not None and attack_type not in seen:
                seen.add(attack_type)
                findings.append(Finding(attack_type, _TRIGGER_RULES[name], found))
        return findings

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


def _rewrite(name: str, value: str) -> str:
    if name == "fold":
        return value.translate(_FULLWIDTH).translate(_HIGH_BIT)
    # the way a shell reads it: quotes and escapes vanish, $@ and ${x} expand to nothing
    text = value.replace("$@", "").replace("${IFS}", " ").replace("$IFS", " ")
    for noise in ("$()", "<()", ">()", "``", "$!", "$_", "$*"):
        text = text.replace(noise, "")
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
