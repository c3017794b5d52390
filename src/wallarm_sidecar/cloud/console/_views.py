"""What the Console's pages show, without I/O: filters from query strings, time windows,
chart buckets, labels and formats. The routes feed these with rows from the store."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final
from urllib.parse import urlencode

#: Wallarm's attack type codes and the names the Console shows beside them.
ATTACK_TYPE_NAMES: Final = {
    "sqli": "SQL injection",
    "nosqli": "NoSQL injection",
    "xss": "Cross-site scripting",
    "ptrav": "Path traversal",
    "lfi": "Local file inclusion",
    "rfi": "Remote file inclusion",
    "rce": "Remote code execution",
    "ssti": "Server-side template injection",
    "ldapi": "LDAP injection",
    "xxe": "XML external entity",
    "ssrf": "Server-side request forgery",
    "crlf": "CRLF injection",
    "redir": "Open redirect",
    "mail_injection": "Mail injection",
    "scanner": "Scanner",
}

#: Preset time ranges of the Attacks page, in seconds (None: everything stored).
PERIODS: Final[dict[str, int | None]] = {
    "1h": 3600,
    "24h": 86400,
    "7d": 7 * 86400,
    "30d": 30 * 86400,
    "all": None,
}
DEFAULT_PERIOD = "24h"
PERIOD_NAMES: Final = {
    "1h": "last hour",
    "24h": "last 24 hours",
    "7d": "last 7 days",
    "30d": "last 30 days",
    "all": "all time",
    "custom": "from / until",
}
#: Bucket widths the chart may use, smallest first; a chart has at most MAX_BUCKETS bars.
BUCKET_WIDTHS: Final = (
    60, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400,
    7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 365 * 86400,
)  # fmt: skip
MAX_BUCKETS = 60
#: IP list expiry presets of the add form, in seconds (None: never expires).
EXPIRIES: Final[dict[str, int | None]] = {
    "never": None,
    "1h": 3600,
    "24h": 86400,
    "7d": 7 * 86400,
    "30d": 30 * 86400,
    "90d": 90 * 86400,
}
MODES: Final = ("off", "monitoring", "safe_blocking", "block")
_MAX_FIELD = 200
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
#: Pages a login may go back to (never another site: no open redirect).
_NEXT = re.compile(r"^/(attacks|nodes|tokens|ip-lists|settings)(/\d{1,18})?(\?[\x21-\x7e]*)?$")


def attack_type_label(code: str) -> str:
    name = ATTACK_TYPE_NAMES.get(code)
    return f"{name} ({code})" if name else code


def utc(moment: float | None) -> str:
    if moment is None:
        return ""
    try:
        when = datetime.datetime.fromtimestamp(moment, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return str(moment)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(moment: float, now: float) -> str:
    """How long since `moment`, coarsely ("3 min ago")."""
    try:
        seconds = int(now - moment)
    except (OverflowError, ValueError):  # a hostile time such as inf
        return ""
    if seconds < 0:
        return "in the future"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def parse_datetime(text: str) -> float | None:
    """An HTML datetime-local value, read as UTC; None if blank or malformed."""
    text = text.strip()
    if not _DATETIME.match(text):
        return None
    try:
        when = datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)
    except ValueError:
        return None
    return when.timestamp()


def datetime_value(moment: float | None) -> str:
    """The datetime-local form value of a moment (UTC, to the minute)."""
    if moment is None:
        return ""
    try:
        return datetime.datetime.fromtimestamp(moment, datetime.UTC).strftime("%Y-%m-%dT%H:%M")
    except (OverflowError, OSError, ValueError):
        return ""


def parse_offset(text: str | None) -> int:
    """A page offset from a query string: ASCII digits, else 0."""
    if text and text.isascii() and text.isdigit() and len(text) < 9:
        return int(text)
    return 0


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a Console page of this site, else the attacks."""
    return value if value and _NEXT.match(value) else "/attacks"


@dataclass(frozen=True, slots=True)
class AttackFilter:
    """The Attacks page's filters, as read from its query string."""

    type: str | None = None
    node_group: str | None = None
    application: str | None = None
    blocked: bool | None = None
    period: str = DEFAULT_PERIOD
    #: Set with period "custom" (from the form's from / until fields).
    since: float | None = None
    until: float | None = None
    offset: int = 0

    def window(self, now: float) -> tuple[float | None, float | None]:
        """The (since, until) the store is asked for; None: unbounded."""
        if self.period == "custom":
            return self.since, self.until
        seconds = PERIODS.get(self.period)
        return (now - seconds if seconds is not None else None), None

    def query(self, **changes: object) -> str:
        """This filter's query string, with some fields changed (for links and pages)."""
        state = replace(self, **changes)  # type: ignore[arg-type]
        fields: dict[str, str] = {}
        for name in ("type", "node_group", "application"):
            value = getattr(state, name)
            if value:
                fields[name] = value
        if state.blocked is not None:
            fields["status"] = "blocked" if state.blocked else "monitored"
        if state.period == "custom":
            fields["from"] = datetime_value(state.since)
            fields["until"] = datetime_value(state.until)
        elif state.period != DEFAULT_PERIOD:
            fields["period"] = state.period
        if state.offset:
            fields["offset"] = str(state.offset)
        return urlencode({k: v for k, v in fields.items() if v})


def parse_attack_filter(params: Mapping[str, str]) -> tuple[AttackFilter, list[str]]:
    """The filters of a query string, and what was wrong in it (those fields are ignored)."""
    problems: list[str] = []

    def text(name: str) -> str | None:
        value = params.get(name, "").strip()
        if len(value) > _MAX_FIELD or any(ord(c) < 0x20 for c in value):
            problems.append(f"{name}: too long or not printable")
            return None
        return value or None

    status = params.get("status", "")
    blocked = {"blocked": True, "monitored": False}.get(status)
    if status not in ("", "any", "blocked", "monitored"):
        problems.append("status: blocked, monitored or any")
    period = params.get("period", "") or DEFAULT_PERIOD
    if period not in PERIODS and period != "custom":
        problems.append("period: not one of " + ", ".join(PERIODS))
        period = DEFAULT_PERIOD
    since = until = None
    raw_from, raw_until = params.get("from", ""), params.get("until", "")
    if raw_from.strip() or raw_until.strip():
        since, until = parse_datetime(raw_from), parse_datetime(raw_until)
        if raw_from.strip() and since is None:
            problems.append("from: a date and time like 2026-01-31T13:45")
        if raw_until.strip() and until is None:
            problems.append("until: a date and time like 2026-01-31T13:45")
        if since is not None or until is not None:
            period = "custom"
    offset = parse_offset(params.get("offset"))
    return (
        AttackFilter(
            type=text("type"),
            node_group=text("node_group"),
            application=text("application"),
            blocked=blocked,
            period=period,
            since=since,
            until=until,
            offset=offset,
        ),
        problems,
    )


@dataclass(frozen=True, slots=True)
class Bucket:
    start: float
    end: float
    blocked: int = 0
    monitored: int = 0

    @property
    def total(self) -> int:
        return self.blocked + self.monitored


def chart_buckets(since: float, until: float) -> list[Bucket]:
    """At most MAX_BUCKETS bars of a round width, aligned to it, covering since..until."""
    until = max(until, since + 1)
    width = next(
        (w for w in BUCKET_WIDTHS if (until - since) / w <= MAX_BUCKETS), BUCKET_WIDTHS[-1]
    )
    start = since - since % width
    buckets: list[Bucket] = []
    while start < until and len(buckets) < MAX_BUCKETS + 1:
        buckets.append(Bucket(start, start + width))
        start += width
    return buckets
