#!/usr/bin/env python3
"""Proxy throughput benchmark (DESIGN.md §11, "Throughput" and "Memory").

On loopback, interleaved in one run (round after round of every target, so that machine
noise hits all of them equally), wrk measures requests/s and p50/p99 latency of:

  app      the app direct: nginx answering ``return 200`` with a small JSON body
  nginx    plain nginx as a reverse proxy to the app
  modsec   nginx + ModSecurity v3 + OWASP CRS (paranoia level 1, blocking) in front of it
  ours     ``wallarm-sidecar proxy`` in ``block`` mode with full detection in front of it

for three request shapes (a small GET, a 1 KB JSON POST, a GET carrying an SQL injection),
then a light-load pass (paced connections offering about half of each proxy's own max rps;
the app direct measured right after at the same load) for the added p99 latency, and the
peak RSS of our proxy's workers.  It prints a table and the quality bars as ratios with PASS/FAIL.

    PYTHONPATH=src python bench/proxy.py --duration 10 --rounds 3 --json results.json
    python bench/proxy.py --duration 3 --rounds 1 --shapes get --targets nginx,modsec

Durations are whole seconds (wrk's -d); run it on an otherwise idle machine: with 2 cores,
wrk, the app and the proxy already share them (a warning is printed when the CPUs were busy
before the start).

Needs ``wrk`` and ``nginx`` (plus, for ``modsec``, Debian's libnginx-mod-http-modsecurity and
modsecurity-crs).  A target whose software is missing or that does not start is reported as
"not available (reason)"; the others still run.  Everything started is stopped at the end,
also on Ctrl-C or error, and the temp dir is removed (unless ``--keep-tmp``).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TEMPLATES = HERE / "nginx"

PORT_RANGE = range(19200, 19300)
LOOPBACK = "127.0.0.1"
# CRS scores a numeric Host header (920350), so every request names the host "localhost".
URL_HOST = "localhost"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) wallarm-sidecar-bench/1.0"

APP_BODY = '{"status":"ok","items":[{"id":1,"name":"alpha"},{"id":2,"name":"beta"}]}'

# Debian's layout of ModSecurity v3 and the OWASP CRS.
MODSEC_MODULE = Path("/usr/lib/nginx/modules/ngx_http_modsecurity_module.so")
MODSEC_BASE_CONF = Path("/etc/nginx/modsecurity.conf")
CRS_LOADER = Path("/usr/share/modsecurity-crs/owasp-crs.load")
CRS_SETUP = Path("/etc/modsecurity/crs/crs-setup.conf")
CRS_RULES = Path("/usr/share/modsecurity-crs/rules")

TARGETS: tuple[str, ...] = ("app", "nginx", "modsec", "ours")
TARGET_LABELS: dict[str, str] = {
    "app": "app direct",
    "nginx": "plain nginx",
    "modsec": "nginx+ModSec+CRS",
    "ours": "ours (block)",
}

# The bars of DESIGN.md §11.
BAR_VS_MODSEC = 5.0
BAR_VS_NGINX = 0.30
BAR_ADDED_P99_MS = 2.0
BAR_RSS_MIB = 64.0


# --------------------------------------------------------------------------- request shapes


def _order_json(size: int = 1024) -> str:
    """A realistic JSON order document, padded to exactly ``size`` bytes."""
    doc: dict[str, Any] = {
        "order_id": "ord-20240517-004211",
        "customer": {
            "id": 48213,
            "name": "Maria Jensen",
            "email": "maria.jensen@example.com",
            "phone": "+45 31 22 84 19",
            "address": {
                "street": "Vesterbrogade 41",
                "city": "Copenhagen",
                "postal_code": "1620",
                "country": "DK",
            },
        },
        "items": [
            {"sku": "TSH-BLK-M", "title": "Cotton t-shirt, black", "qty": 2, "price": 19.9},
            {"sku": "MUG-WHT-03", "title": "Ceramic mug", "qty": 1, "price": 8.5},
            {"sku": "BAG-CNV-01", "title": "Canvas tote bag", "qty": 1, "price": 12.0},
        ],
        "currency": "EUR",
        "shipping": {"method": "standard", "price": 4.95, "insured": False},
        "coupon": None,
        "gift": True,
        "tags": ["web", "returning-customer", "newsletter"],
        "note": "",
    }
    base = len(json.dumps(doc, separators=(",", ":")).encode())
    if base > size:
        raise ValueError(f"order document is {base} bytes, more than {size}")
    filler = "Please leave the parcel with the neighbour at number 43 if nobody is at home. "
    doc["note"] = (filler * (size // len(filler) + 1))[: size - base]
    text = json.dumps(doc, separators=(",", ":"))
    assert len(text.encode()) == size
    return text


@dataclass(frozen=True)
class Shape:
    """One request shape: what wrk sends, and whether a blocking WAF must refuse it."""

    name: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    attack: bool = False
    description: str = ""


SHAPES: dict[str, Shape] = {
    s.name: s
    for s in (
        Shape(
            "get",
            "GET",
            "/api/items?page=2&sort=name",
            (("Accept", "application/json"),),
            description="small GET",
        ),
        Shape(
            "post",
            "POST",
            "/api/orders",
            (("Accept", "application/json"), ("Content-Type", "application/json")),
            body=_order_json(),
            description="1 KB JSON POST",
        ),
        Shape(
            "attack",
            "GET",
            "/search?q=1%27%20OR%20%271%27%3D%271",
            (("Accept", "text/html"),),
            attack=True,
            description="GET with SQL injection",
        ),
    )
}


def lua_quote(text: str) -> str:
    """``text`` as a Lua double-quoted string literal (bytes escaped as ``\\ddd``)."""
    out = ['"']
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    out.append('"')
    return "".join(out)


def wrk_script(shape: Shape, think_ms: int = 0) -> str:
    """The wrk Lua script sending ``shape`` on every request.

    With ``think_ms``, each connection waits a random 0..2*think_ms ms (mean think_ms)
    before each request (wrk's ``delay`` hook; wrk starts the latency clock when the request
    is written, after the wait).
    """
    lines = [
        f"-- wrk script for shape {shape.name!r}: {shape.description}",
        f"wrk.method = {lua_quote(shape.method)}",
        f"wrk.path = {lua_quote(shape.path)}",
        f'wrk.headers["User-Agent"] = {lua_quote(USER_AGENT)}',
    ]
    lines += [f"wrk.headers[{lua_quote(k)}] = {lua_quote(v)}" for k, v in shape.headers]
    if shape.body:
        lines.append(f"wrk.body = {lua_quote(shape.body)}")
    if think_ms > 0:
        # Uniformly random waits (mean think_ms) keep the connections out of phase: equal
        # waits would make them fire in bursts on the same millisecond tick.
        lines += ["function delay()", f"    return math.random(0, {2 * int(think_ms)})", "end"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- templates

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def render_template(text: str, values: Mapping[str, object]) -> str:
    """Replace every ``{{ name }}`` by ``values[name]``; unknown or unused names are errors."""
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(values))
    if missing:
        raise KeyError(f"template values missing: {', '.join(missing)}")
    unused = sorted(set(values) - {m.group(1) for m in _PLACEHOLDER.finditer(text)})
    if unused:
        raise KeyError(f"template values not used: {', '.join(unused)}")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)


def nginx_single_quoted(text: str) -> str:
    """Escape ``text`` for use inside an nginx single-quoted string."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


def render_app_conf(template: str, *, tmp: Path, port: int, workers: int, body: str) -> str:
    return render_template(
        template,
        {"tmp": tmp, "listen_port": port, "workers": workers, "body": nginx_single_quoted(body)},
    )


def render_proxy_conf(
    template: str,
    *,
    name: str,
    tmp: Path,
    port: int,
    app_port: int,
    workers: int,
    modsecurity_rules: Path | None = None,
    modsecurity_module: Path = MODSEC_MODULE,
) -> str:
    """nginx as a reverse proxy to the app; with ModSecurity when ``modsecurity_rules`` is set."""
    if modsecurity_rules is None:
        load_modules, modsec, level = "", "", "warn"
    else:
        load_modules = f"load_module {modsecurity_module};"
        modsec = f"        modsecurity on;\n        modsecurity_rules_file {modsecurity_rules};\n"
        # ModSecurity writes every rule match of every blocked request to the error log
        # (about 1 KB each): that is disk I/O, not inspection, so it is kept out like the
        # audit log. Startup errors are `emerg` and still reach the log.
        level = "crit"
    return render_template(
        template,
        {
            "load_modules": load_modules,
            "name": name,
            "tmp": tmp,
            "workers": workers,
            "listen_port": port,
            "app_port": app_port,
            "error_log_level": level,
            "modsecurity": modsec,
        },
    )


def paranoia_action(crs_setup_text: str, level: int) -> str:
    """The CRS rule 900000 setting the paranoia level, unless crs-setup.conf already has one."""
    if re.search(r"^[^#\n]*id:\s*'?900000\b", crs_setup_text, re.MULTILINE):
        return f"# crs-setup.conf sets the paranoia level itself (rule 900000); wanted {level}."
    return f'SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level={level}"'


def crs_includes(loader_text: str, exists: Callable[[str], bool]) -> str:
    """Debian's CRS loader (written for Apache) as directives libmodsecurity v3 accepts.

    libmodsecurity v3 has no ``IncludeOptional``: such a line becomes ``Include`` when
    ``exists(pattern)`` says the file (or glob) is there, and is dropped otherwise.
    """
    out = []
    for line in loader_text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        directive, _, arg = stripped.partition(" ")
        arg = arg.strip()
        if directive.lower() == "includeoptional":
            if exists(arg):
                out.append(f"Include {arg}")
            else:
                out.append(f"# absent: {arg}")
        else:
            out.append(stripped)
    return "\n".join(out)


def _glob_exists(pattern: str) -> bool:
    return bool(glob.glob(pattern))


def render_modsecurity_conf(
    template: str,
    *,
    tmp: Path,
    paranoia_level: int = 1,
    base_conf: Path = MODSEC_BASE_CONF,
    crs_loader_text: str,
    crs_setup_text: str = "",
    exists: Callable[[str], bool] = _glob_exists,
) -> str:
    return render_template(
        template,
        {
            "tmp": tmp,
            "paranoia_level": paranoia_level,
            "paranoia_action": paranoia_action(crs_setup_text, paranoia_level),
            "base_conf": base_conf,
            "crs_includes": crs_includes(crs_loader_text, exists),
        },
    )


# --------------------------------------------------------------------------- wrk output


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    duration_s: float
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values())


_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def time_to_ms(text: str) -> float:
    """wrk's time notation (``812.00us``, ``1.23ms``, ``2.00s``, ``1.00m``) in milliseconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(us|ms|s|m|h)\s*", text)
    if not m:
        raise ValueError(f"not a wrk time: {text!r}")
    return float(m.group(1)) * _TIME_UNITS_MS[m.group(2)]


_DURATION_UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_wrk_output(text: str) -> WrkResult:
    """Parse the text report of ``wrk --latency``."""
    m = re.search(r"^\s*Requests/sec:\s*([0-9.]+)", text, re.MULTILINE)
    if not m:
        raise ValueError("wrk output has no 'Requests/sec' line")
    rps = float(m.group(1))
    _, found, after = text.partition("Latency Distribution")
    if not found:
        raise ValueError("wrk output has no latency distribution (run wrk with --latency)")
    percentiles: dict[str, float] = {}
    for line in after.splitlines()[1:]:
        pm = re.fullmatch(r"\s*([0-9.]+)%\s+(\S+)\s*", line)
        if not pm:
            break
        percentiles[pm.group(1).removesuffix(".000")] = time_to_ms(pm.group(2))
    if "50" not in percentiles or "99" not in percentiles:
        raise ValueError("wrk latency distribution lacks the 50% or 99% line")
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h)", text, re.MULTILINE)
    if not m:
        raise ValueError("wrk output has no 'N requests in T' line")
    requests = int(m.group(1))
    duration = float(m.group(2)) * _DURATION_UNITS_S[m.group(3)]
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    non_2xx = int(m.group(1)) if m else 0
    socket_errors: dict[str, int] = {}
    m = re.search(r"Socket errors:\s*(.+)", text)
    if m:
        for em in re.finditer(r"(\w+)\s+(\d+)", m.group(1)):
            socket_errors[em.group(1)] = int(em.group(2))
    return WrkResult(
        rps, percentiles["50"], percentiles["99"], requests, duration, non_2xx, socket_errors
    )


# --------------------------------------------------------------------------- aggregation


@dataclass
class Summary:
    """Median over the rounds of one target and shape (each column its own median)."""

    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    requests: int
    errors: int
    rounds: int

    @property
    def non_2xx_share(self) -> float:
        return self.non_2xx / self.requests if self.requests else 0.0


def summarize(results: Sequence[WrkResult]) -> Summary:
    if not results:
        raise ValueError("no results to summarize")
    return Summary(
        rps=statistics.median(r.rps for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        non_2xx=sum(r.non_2xx for r in results),
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
        rounds=len(results),
    )


@dataclass
class Bar:
    name: str
    value: float | None
    limit: float
    op: str  # ">=" or "<"
    unit: str = ""
    detail: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "n/a"
        ok = self.value >= self.limit if self.op == ">=" else self.value < self.limit
        return "PASS" if ok else "FAIL"


@dataclass(frozen=True)
class LoadPoint:
    """A wrk load: ``connections`` closed loops, each waiting ``think_ms`` before a request."""

    connections: int
    think_ms: int = 0

    def describe(self) -> str:
        think = f" +{self.think_ms}ms think" if self.think_ms else ""
        return f"-c{self.connections}{think}"


def paced_connections(max_rps: float, share: float, think_ms: int, limit: int = 1000) -> int:
    """Connections that, each waiting ``think_ms`` per request, offer about ``share`` of
    ``max_rps`` (a little less, since the response time adds to each cycle)."""
    return max(1, min(limit, round(share * max_rps * think_ms / 1000)))


def light_plan(
    full: Mapping[str, Mapping[str, Summary]],
    proxies: Sequence[str],
    shapes: Sequence[str],
    *,
    share: float,
    think_ms: int,
    fixed_connections: int | None,
) -> dict[str, dict[str, LoadPoint]]:
    """The light load of each proxy and shape: a fixed closed loop of ``fixed_connections``,
    or else paced connections aiming at ``share`` of that proxy's own max-load rps."""
    plan: dict[str, dict[str, LoadPoint]] = {}
    for target in proxies:
        for shape in shapes:
            summary = full.get(target, {}).get(shape)
            if summary is None:
                continue
            if fixed_connections is not None:
                point = LoadPoint(fixed_connections)
            else:
                point = LoadPoint(paced_connections(summary.rps, share, think_ms), think_ms)
            plan.setdefault(target, {})[shape] = point
    return plan


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


def added_p99(
    light: Mapping[str, Mapping[str, Summary]],
    light_app: Mapping[str, Mapping[str, Summary]],
    target: str,
    shape: str,
) -> float | None:
    proxy, app = light.get(target, {}).get(shape), light_app.get(target, {}).get(shape)
    return proxy.p99_ms - app.p99_ms if proxy and app else None


def evaluate_bars(
    full: Mapping[str, Mapping[str, Summary]],
    light: Mapping[str, Mapping[str, Summary]],
    light_app: Mapping[str, Mapping[str, Summary]],
    ours_rss_mib: Mapping[int, float],
    shapes: Sequence[str],
) -> list[Bar]:
    """The §11 bars from the medians; a missing target makes its bars ``n/a``.

    ``light[t][s]`` is proxy ``t`` at light load, ``light_app[t][s]`` the app direct at the
    very same load; their p99 difference is the added p99."""

    def rps(target: str, shape: str) -> float | None:
        s = full.get(target, {}).get(shape)
        return s.rps if s else None

    bars: list[Bar] = []
    for shape in shapes:
        bars.append(
            Bar(
                f"rps ours/modsec [{shape}]",
                ratio(rps("ours", shape), rps("modsec", shape)),
                BAR_VS_MODSEC,
                ">=",
                "x",
            )
        )
    for shape in shapes:
        bars.append(
            Bar(
                f"rps ours/nginx [{shape}]",
                ratio(rps("ours", shape), rps("nginx", shape)),
                BAR_VS_NGINX,
                ">=",
                "x",
            )
        )
    for shape in shapes:
        added = added_p99(light, light_app, "ours", shape)
        bars.append(Bar(f"added p99 ours [{shape}]", added, BAR_ADDED_P99_MS, "<", " ms"))
    peak = max(ours_rss_mib.values()) if ours_rss_mib else None
    bars.append(
        Bar(
            "peak RSS per ours worker",
            peak,
            BAR_RSS_MIB,
            "<",
            " MiB",
            f"{len(ours_rss_mib)} process(es) measured" if ours_rss_mib else "",
        )
    )
    return bars


# --------------------------------------------------------------------------- formatting


def fmt_ms(value: float) -> str:
    return f"{value * 1000:.0f}us" if value < 1 else f"{value:.2f}ms"


def fmt_num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.2f}{unit}"


def format_table(
    full: Mapping[str, Mapping[str, Summary]], targets: Sequence[str], shapes: Sequence[str]
) -> str:
    header = (
        f"{'target':<18} {'shape':<7} {'rps':>10} {'p50':>9} {'p99':>9} "
        f"{'non-2xx':>9} {'errors':>7}"
    )
    lines = [header, "-" * len(header)]
    for shape in shapes:
        for target in targets:
            s = full.get(target, {}).get(shape)
            if s is None:
                continue
            non2xx = f"{100 * s.non_2xx_share:.0f}%" if s.non_2xx else "0"
            lines.append(
                f"{TARGET_LABELS[target]:<18} {shape:<7} {s.rps:>10,.0f} {fmt_ms(s.p50_ms):>9} "
                f"{fmt_ms(s.p99_ms):>9} {non2xx:>9} {s.errors:>7}"
            )
    return "\n".join(lines)


def format_light_table(
    light: Mapping[str, Mapping[str, Summary]],
    light_app: Mapping[str, Mapping[str, Summary]],
    *,
    plan: Mapping[str, Mapping[str, LoadPoint]],
    full: Mapping[str, Mapping[str, Summary]],
    targets: Sequence[str],
    shapes: Sequence[str],
) -> str:
    header = (
        f"{'target':<18} {'shape':<7} {'load':<18} {'rps':>8} {'of max':>7} {'p50':>8} "
        f"{'p99':>8} {'app p99':>8} {'added p99':>10}"
    )
    lines = [header, "-" * len(header)]
    for shape in shapes:
        for target in targets:
            s = light.get(target, {}).get(shape)
            point = plan.get(target, {}).get(shape)
            if s is None or point is None:
                continue
            peak = full.get(target, {}).get(shape)
            share = f"{100 * s.rps / peak.rps:.0f}%" if peak and peak.rps else "n/a"
            app = light_app.get(target, {}).get(shape)
            added = added_p99(light, light_app, target, shape)
            lines.append(
                f"{TARGET_LABELS[target]:<18} {shape:<7} {point.describe():<18} {s.rps:>8,.0f} "
                f"{share:>7} {fmt_ms(s.p50_ms):>8} {fmt_ms(s.p99_ms):>8} "
                f"{fmt_ms(app.p99_ms) if app else 'n/a':>8} "
                f"{'n/a' if added is None else f'{added:+.3f}ms':>10}"
            )
    return "\n".join(lines)


def format_bars(bars: Sequence[Bar], ours_reason: str | None) -> str:
    lines = []
    for bar in bars:
        limit = f"{bar.op} {fmt_num(bar.limit, bar.unit)}"
        verdict = bar.verdict
        if verdict == "n/a" and ours_reason:
            verdict = "n/a (ours not available)"
        detail = f"  ({bar.detail})" if bar.detail else ""
        lines.append(
            f"{bar.name:<30} {fmt_num(bar.value, bar.unit):>10}  bar {limit:<10} {verdict}{detail}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- processes


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def allocate_ports(count: int, port_range: range = PORT_RANGE) -> list[int]:
    ports = [p for p in port_range if port_is_free(p)][:count]
    if len(ports) < count:
        raise RuntimeError(
            f"fewer than {count} free ports in {port_range.start}-"
            f"{port_range.stop - 1} on {LOOPBACK}"
        )
    return ports


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc (no psutil needed)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            children.append(int(entry.name))
    return sorted(children)


# Children that are not workers: multiprocessing's resource tracker and fork server.
_HELPER_MARKERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def is_helper_process(cmdline: str) -> bool:
    return any(marker in cmdline for marker in _HELPER_MARKERS)


def cmdline_of(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def descendants_of(pid: int) -> list[int]:
    """All descendants of ``pid`` (children, their children...)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children_of(todo.pop()):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def vm_hwm_mib(pid: int) -> float | None:
    """Peak resident set size (VmHWM) of ``pid`` in MiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+)\s+kB", status, re.MULTILINE)
    return int(m.group(1)) / 1024 if m else None


class Unavailable(Exception):
    """A target cannot be benchmarked; the message says why."""


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return " | ".join(text.splitlines()[-lines:])[-400:]


@dataclass
class Service:
    """A server process started in its own process group (so the whole group can be killed)."""

    name: str
    argv: list[str]
    workdir: Path
    env: dict[str, str] | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.out"

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.workdir,
                start_new_session=True,
            )

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def workers(self) -> list[int]:
        """Worker processes: the children that are not helpers, else the process itself."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        children = [c for c in children_of(self.proc.pid) if not is_helper_process(cmdline_of(c))]
        return children or [self.proc.pid]

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        # Noted first: a descendant that left the process group is still found and killed.
        strays = descendants_of(proc.pid)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=timeout)
                break
            except subprocess.TimeoutExpired:
                continue
        # The group may outlive its leader (workers that ignore SIGTERM): kill what is left.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in strays:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def http_get(port: int, path: str, timeout: float = 1.0) -> int:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": URL_HOST, "User-Agent": USER_AGENT})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def send_shape(port: int, shape: Shape, timeout: float = 5.0) -> int:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        headers = {"Host": f"{URL_HOST}:{port}", "User-Agent": USER_AGENT, **dict(shape.headers)}
        body = shape.body.encode() if shape.body else None
        conn.request(shape.method, shape.path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def wait_ready(service: Service, port: int, path: str, timeout: float, want: int | None) -> None:
    """Wait until ``GET path`` on ``port`` answers (``want`` status, or any when None)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        code = service.exited()
        if code is not None:
            raise Unavailable(f"exited with code {code}: {_tail(service.log, 1) or 'no output'}")
        try:
            status = http_get(port, path)
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if want is None or status == want:
                return
            last = f"GET {path} answered {status}"
        time.sleep(0.1)
    raise Unavailable(f"not ready after {timeout:.0f}s ({last}); log: {_tail(service.log)}")


# --------------------------------------------------------------------------- the run


@dataclass
class Target:
    name: str
    port: int
    service: Service
    rss_mib: dict[int, float] = field(default_factory=dict)

    def sample_rss(self) -> None:
        for pid in self.service.workers():
            hwm = vm_hwm_mib(pid)
            if hwm is not None:
                self.rss_mib[pid] = max(hwm, self.rss_mib.get(pid, 0.0))


@dataclass
class Options:
    duration: float
    rounds: int
    connections: int
    threads: int
    workers: int
    app_workers: int
    shapes: list[str]
    targets: list[str]
    light_duration: float
    light_share: float
    light_think_ms: int
    light_connections: int | None
    warmup: float
    paranoia_level: int
    ours_cmd: list[str]
    ours_start_timeout: float
    json_path: Path | None
    keep_tmp: bool
    check: bool


def run_wrk(
    port: int, script: Path, *, duration: float, connections: int, threads: int
) -> WrkResult:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        f"http://{URL_HOST}:{port}/",
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return parse_wrk_output(proc.stdout)


def tool_version(argv: Sequence[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "not installed"
    text = (proc.stdout + proc.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def crs_version() -> str:
    try:
        text = (CRS_RULES / "REQUEST-901-INITIALIZATION.conf").read_text()
    except OSError:
        return "not installed"
    m = re.search(r"ver:'(OWASP_CRS/[^']+)'", text)
    return m.group(1) if m else "unknown"


def cpu_times(stat_text: str) -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from the ``cpu`` line of /proc/stat."""
    for line in stat_text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            values = [int(v) for v in fields[1:]]
            # user nice system idle iowait irq softirq steal [guest guest_nice: in user]
            total = sum(values[:8])
            idle = values[3] + (values[4] if len(values) > 4 else 0)
            return total - idle, total
    raise ValueError("no cpu line in /proc/stat")


def busy_cpus(before: tuple[int, int], after: tuple[int, int], cpus: int) -> float:
    """CPUs kept busy between two ``cpu_times`` samples (0 .. cpus)."""
    total = after[1] - before[1]
    return cpus * (after[0] - before[0]) / total if total > 0 else 0.0


def background_load(seconds: float = 1.0) -> float | None:
    """CPUs busy with other work right now (sampled before anything is started)."""
    try:
        before = cpu_times(Path("/proc/stat").read_text())
        time.sleep(seconds)
        after = cpu_times(Path("/proc/stat").read_text())
    except (OSError, ValueError):
        return None
    return busy_cpus(before, after, os.cpu_count() or 1)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, opts: Options, tmp: Path) -> None:
        self.opts = opts
        self.tmp = tmp
        self.targets: dict[str, Target] = {}
        self.unavailable: dict[str, str] = {}
        self.services: list[Service] = []
        self.sanity: dict[str, dict[str, int | str]] = {}

    # -- starting --------------------------------------------------------------------

    def _nginx(self, name: str, conf_text: str) -> Service:
        workdir = self.tmp / name
        workdir.mkdir(parents=True, exist_ok=True)
        conf = workdir / "nginx.conf"
        conf.write_text(conf_text)
        argv = [
            "nginx",
            "-p",
            str(workdir),
            "-c",
            str(conf),
            "-e",
            str(workdir / "startup.log"),
            "-g",
            "daemon off;",
        ]
        test = subprocess.run([*argv[:-2], "-t", "-q"], capture_output=True, text=True, check=False)
        if test.returncode != 0:
            raise Unavailable(f"nginx -t failed: {test.stderr.strip()[-400:]}")
        service = Service(name, argv, workdir)
        self.services.append(service)
        service.start()
        return service

    def start_app(self, port: int) -> None:
        template = (TEMPLATES / "app.conf.tmpl").read_text()
        text = render_app_conf(
            template, tmp=self.tmp, port=port, workers=self.opts.app_workers, body=APP_BODY
        )
        service = self._nginx("app", text)
        wait_ready(service, port, "/", 10, 200)
        self.targets["app"] = Target("app", port, service)

    def start_nginx(self, name: str, port: int, app_port: int) -> None:
        template = (TEMPLATES / "proxy.conf.tmpl").read_text()
        rules: Path | None = None
        if name == "modsec":
            for path in (MODSEC_MODULE, MODSEC_BASE_CONF, CRS_LOADER, CRS_SETUP):
                if not path.exists():
                    raise Unavailable(
                        f"{path} missing (libnginx-mod-http-modsecurity, modsecurity-crs)"
                    )
            (self.tmp / "modsecurity" / "tmp").mkdir(parents=True, exist_ok=True)
            (self.tmp / "modsecurity" / "data").mkdir(parents=True, exist_ok=True)
            rules = self.tmp / "modsecurity" / "modsecurity.conf"
            rules.write_text(
                render_modsecurity_conf(
                    (TEMPLATES / "modsecurity.conf.tmpl").read_text(),
                    tmp=self.tmp,
                    paranoia_level=self.opts.paranoia_level,
                    crs_loader_text=CRS_LOADER.read_text(),
                    crs_setup_text=CRS_SETUP.read_text(),
                )
            )
        text = render_proxy_conf(
            template,
            name=name,
            tmp=self.tmp,
            port=port,
            app_port=app_port,
            workers=self.opts.workers,
            modsecurity_rules=rules,
        )
        service = self._nginx(name, text)
        wait_ready(service, port, "/", 30, 200)
        self.targets[name] = Target(name, port, service)

    def ours_env(self, ports: Mapping[str, int], app_port: int) -> dict[str, str]:
        env = dict(os.environ)
        src = str(REPO / "src")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
        env.update(
            WALLARM_MODE="block",
            NGINX_LISTEN_PORT=str(ports["listen"]),
            NGINX_PROXY_PASS_PORT=str(app_port),
            NGINX_STATUS_PORT=str(ports["status"]),
            NGINX_WALLARM_METRICS_PORT=str(ports["metrics"]),
            NGINX_WORKER_PROCESSES=str(self.opts.workers),
            WALLARM_ACCESS_LOG="off",
            WALLARM_WSTORE_HOST=LOOPBACK,
            WALLARM_WSTORE_PORT=str(ports["wstore"]),
            WALLARM_NODE_DIR=str(self.tmp / "ours" / "node"),
            WALLARM_ACL_DIR=str(self.tmp / "ours" / "acl"),
        )
        return env

    def start_ours(self, ports: Mapping[str, int], app_port: int) -> None:
        workdir = self.tmp / "ours"
        for sub in ("node", "acl"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        service = Service(
            "ours", list(self.opts.ours_cmd), workdir, env=self.ours_env(ports, app_port)
        )
        self.services.append(service)
        try:
            service.start()
        except OSError as exc:
            raise Unavailable(f"cannot start {shlex.join(self.opts.ours_cmd)}: {exc}") from exc
        wait_ready(service, ports["status"], "/healthz", self.opts.ours_start_timeout, 200)
        # Ready on /healthz is not enough: it must also proxy to the app.
        deadline = time.monotonic() + 10
        while True:
            try:
                status = http_get(ports["listen"], "/")
            except OSError as exc:
                status, why = 0, f"{type(exc).__name__}: {exc}"
            else:
                why = f"answered {status}"
            if status == 200:
                break
            if time.monotonic() > deadline:
                raise Unavailable(f"healthy, but GET / through it {why}")
            time.sleep(0.2)
        self.targets["ours"] = Target("ours", ports["listen"], service)

    def start_all(self) -> None:
        names = [
            "app",
            "nginx",
            "modsec",
            "ours-listen",
            "ours-status",
            "ours-metrics",
            "ours-wstore",
        ]
        ports = dict(zip(names, allocate_ports(len(names)), strict=True))
        if shutil.which("wrk") is None:
            raise SystemExit("wrk is not installed (apt-get install wrk)")
        if shutil.which("nginx") is None:
            raise SystemExit("nginx is not installed: the app itself needs it")
        self.start_app(ports["app"])
        for name in ("nginx", "modsec"):
            if name not in self.opts.targets:
                continue
            try:
                self.start_nginx(name, ports[name], ports["app"])
            except Unavailable as exc:
                self.unavailable[name] = str(exc)
        if "ours" in self.opts.targets:
            ours_ports = {k: ports[f"ours-{k}"] for k in ("listen", "status", "metrics", "wstore")}
            try:
                self.start_ours(ours_ports, ports["app"])
            except Unavailable as exc:
                self.unavailable["ours"] = str(exc)
                for service in self.services:
                    if service.name == "ours":
                        service.stop()
        for name, reason in self.unavailable.items():
            log(f"{name}: not available ({reason})")

    def stop_all(self) -> None:
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception as exc:  # keep stopping the others
                log(f"stopping {service.name}: {exc}")

    # -- measuring -------------------------------------------------------------------

    def active(self) -> list[Target]:
        """Started targets still in the race (the app first), in the fixed order."""
        return [self.targets[n] for n in TARGETS if n in self.targets and n not in self.unavailable]

    def script(self, shape: str, think_ms: int = 0) -> Path:
        path = self.tmp / "wrk" / f"{shape}-think{think_ms}.lua"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(wrk_script(SHAPES[shape], think_ms))
        return path

    def check_sanity(self) -> list[str]:
        """Send each shape once to each target; return warnings for unexpected answers."""
        warnings = []
        for target in self.active():
            row: dict[str, int | str] = {}
            for name in self.opts.shapes:
                shape = SHAPES[name]
                try:
                    status: int | str = send_shape(target.port, shape)
                except OSError as exc:
                    status = f"{type(exc).__name__}"
                row[name] = status
                want = 403 if shape.attack and target.name in ("modsec", "ours") else 200
                if status != want:
                    warnings.append(
                        f"{TARGET_LABELS[target.name]}: {shape.description} "
                        f"answered {status}, expected {want}"
                    )
            self.sanity[target.name] = row
        return warnings

    def wrk(
        self, target: Target, shape: str, point: LoadPoint, duration: float, threads: int
    ) -> WrkResult | None:
        """One wrk measurement; a proxy that fails is dropped from the run (None)."""
        try:
            res = run_wrk(
                target.port,
                self.script(shape, point.think_ms),
                duration=duration,
                connections=point.connections,
                threads=min(threads, point.connections),
            )
            code = target.service.exited()
            if code is not None:
                raise RuntimeError(f"exited with code {code}: {_tail(target.service.log, 1)}")
            if res.requests == 0:
                raise RuntimeError("no request completed")
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
            if target.name == "app":
                raise RuntimeError(f"the app failed during the run: {exc}") from exc
            self.unavailable[target.name] = f"failed during the run ({shape}): {exc}"
            log(f"{target.name}: dropped: {self.unavailable[target.name]}")
            target.service.stop()
            return None
        target.sample_rss()
        return res

    def measure_full(self) -> dict[str, dict[str, list[WrkResult]]]:
        """Max load: round after round, every shape, every target in turn."""
        o = self.opts
        results: dict[str, dict[str, list[WrkResult]]] = {}
        point = LoadPoint(o.connections)
        for rnd in range(1, o.rounds + 1):
            for shape in o.shapes:
                for target in self.active():
                    res = self.wrk(target, shape, point, o.duration, o.threads)
                    if res is None:
                        results.pop(target.name, None)
                        continue
                    results.setdefault(target.name, {}).setdefault(shape, []).append(res)
                    log(
                        f"[max load, round {rnd}/{o.rounds}] {shape:<6} "
                        f"{TARGET_LABELS[target.name]:<18} {res.rps:>9,.0f} rps  "
                        f"p50 {fmt_ms(res.p50_ms):>8}  p99 {fmt_ms(res.p99_ms):>8}  "
                        f"non-2xx {res.non_2xx}"
                    )
        return results

    def measure_light(
        self, plan: Mapping[str, Mapping[str, LoadPoint]]
    ) -> tuple[dict[str, dict[str, list[WrkResult]]], dict[str, dict[str, list[WrkResult]]]]:
        """Light load: each proxy at its planned load, right followed by the app direct at
        the same load (connections and think time), round after round."""
        o = self.opts
        proxied: dict[str, dict[str, list[WrkResult]]] = {}
        direct: dict[str, dict[str, list[WrkResult]]] = {}
        app = self.targets["app"]
        for rnd in range(1, o.rounds + 1):
            for shape in o.shapes:
                for target in self.active():
                    point = plan.get(target.name, {}).get(shape)
                    if point is None:
                        continue
                    res = self.wrk(target, shape, point, o.light_duration, 1)
                    if res is None:
                        proxied.pop(target.name, None)
                        direct.pop(target.name, None)
                        continue
                    ref = self.wrk(app, shape, point, o.light_duration, 1)
                    assert ref is not None  # the app failing raises
                    proxied.setdefault(target.name, {}).setdefault(shape, []).append(res)
                    direct.setdefault(target.name, {}).setdefault(shape, []).append(ref)
                    log(
                        f"[light load, round {rnd}/{o.rounds}] {shape:<6} "
                        f"{TARGET_LABELS[target.name]:<18} {point.describe():<18} "
                        f"{res.rps:>8,.0f} rps  p99 {fmt_ms(res.p99_ms):>8}  "
                        f"app p99 {fmt_ms(ref.p99_ms):>8}"
                    )
        return proxied, direct

    def warm_up(self) -> None:
        if self.opts.warmup <= 0:
            return
        for shape in self.opts.shapes:
            for target in self.active():
                self.wrk(
                    target,
                    shape,
                    LoadPoint(self.opts.connections),
                    self.opts.warmup,
                    self.opts.threads,
                )


def medians(
    raw: Mapping[str, Mapping[str, Sequence[WrkResult]]],
) -> dict[str, dict[str, Summary]]:
    return {t: {s: summarize(rs) for s, rs in shapes.items()} for t, shapes in raw.items()}


@dataclass
class Outcome:
    """Everything a run measured, for the report and the JSON file."""

    raw_full: dict[str, dict[str, list[WrkResult]]]
    raw_light: dict[str, dict[str, list[WrkResult]]]
    raw_light_app: dict[str, dict[str, list[WrkResult]]]
    plan: dict[str, dict[str, LoadPoint]]
    warnings: list[str]
    elapsed: float
    full: dict[str, dict[str, Summary]] = field(init=False)
    light: dict[str, dict[str, Summary]] = field(init=False)
    light_app: dict[str, dict[str, Summary]] = field(init=False)

    def __post_init__(self) -> None:
        self.full = medians(self.raw_full)
        self.light = medians(self.raw_light)
        self.light_app = medians(self.raw_light_app)


def run(opts: Options) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="wallarm-bench-proxy-"))
    # nginx workers run as "nobody" when started by root: let them traverse the temp dir.
    tmp.chmod(0o755)
    bench = Bench(opts, tmp)
    try:
        started = time.time()
        background = background_load()
        bench.start_all()
        warnings = bench.check_sanity()
        if background is not None and background > 0.1:
            warnings.append(
                f"the machine was not idle before the run ({background:.2f} CPU(s) busy with "
                "other work): they compete with the benchmark, expect noisy numbers"
            )
        for warning in warnings:
            log(f"WARNING: {warning}")
        log(
            f"targets: {', '.join(t.name for t in bench.active())}; shapes: "
            f"{', '.join(opts.shapes)}; {opts.rounds} round(s) of {opts.duration:g}s"
        )
        bench.warm_up()
        raw_full = bench.measure_full()
        proxies = [t.name for t in bench.active() if t.name != "app"]
        plan = light_plan(
            medians(raw_full),
            proxies,
            opts.shapes,
            share=opts.light_share,
            think_ms=opts.light_think_ms,
            fixed_connections=opts.light_connections,
        )
        raw_light, raw_light_app = bench.measure_light(plan)
        outcome = Outcome(raw_full, raw_light, raw_light_app, plan, warnings, time.time() - started)
        ours = bench.targets.get("ours")
        ours_rss = ours.rss_mib if ours and "ours" not in bench.unavailable else {}
        bars = evaluate_bars(outcome.full, outcome.light, outcome.light_app, ours_rss, opts.shapes)
        print(render_report(opts, bench, outcome, bars), flush=True)
        if opts.json_path:
            opts.json_path.write_text(
                json.dumps(json_results(opts, bench, outcome, bars), indent=2) + "\n"
            )
            log(f"results written to {opts.json_path}")
        if opts.check and any(b.verdict != "PASS" for b in bars):
            return 1
        return 0
    finally:
        bench.stop_all()
        if opts.keep_tmp:
            log(f"temp dir kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def render_report(opts: Options, bench: Bench, outcome: Outcome, bars: Sequence[Bar]) -> str:
    targets = [t for t in TARGETS if t in outcome.full]
    shapes = opts.shapes
    out = [
        "== wallarm-sidecar proxy benchmark (loopback) ==",
        f"machine: {os.cpu_count()} CPU(s), {platform.platform()}; "
        f"python {platform.python_version()}",
        f"tools: {tool_version(['nginx', '-v'])}; {tool_version(['wrk', '-v'])}; {crs_version()}",
        f"app: nginx `return 200` with a {len(APP_BODY)}-byte JSON body, "
        f"{opts.app_workers} worker(s) of its own (not counted in --workers)",
        f"proxies: {opts.workers} worker(s) each. nginx and nginx+ModSecurity: proxy_pass with "
        "upstream keepalive, HTTP/1.1, access_log off. ModSecurity: SecRuleEngine On, "
        "SecRequestBodyAccess On, SecAuditEngine Off, error_log crit (rule-match messages "
        f"not written), CRS paranoia level {opts.paranoia_level}, anomaly blocking",
        f"ours: {shlex.join(opts.ours_cmd)} with WALLARM_MODE=block, "
        f"NGINX_WORKER_PROCESSES={opts.workers}, WALLARM_ACCESS_LOG=off, postanalytics absent",
        f"max load: wrk -t{opts.threads} -c{opts.connections} --latency, {opts.duration:g}s per "
        f"measurement, {opts.rounds} interleaved round(s); each column is the median over the "
        "rounds (non-2xx and errors: totals)",
        "shapes: "
        + "; ".join(
            f"{n} = {SHAPES[n].description} ({SHAPES[n].method} {SHAPES[n].path}"
            + (f", {len(SHAPES[n].body.encode())} B body" if SHAPES[n].body else "")
            + ")"
            for n in shapes
        ),
        f"elapsed: {outcome.elapsed:.0f}s",
        "",
    ]
    for name in TARGETS[1:]:
        if name in bench.unavailable:
            out.append(f"{name}: not available ({bench.unavailable[name]})")
        elif name not in opts.targets:
            out.append(f"{name}: not selected")
    out.append(
        "sanity (one request per shape, HTTP status): "
        + "; ".join(
            f"{TARGET_LABELS[t]} " + ",".join(f"{s}={c}" for s, c in row.items())
            for t, row in bench.sanity.items()
        )
    )
    out += [f"WARNING: {w}" for w in outcome.warnings]
    out += [
        "",
        f"-- max load (wrk -t{opts.threads} -c{opts.connections}) --",
        format_table(outcome.full, targets, shapes),
    ]
    if opts.light_connections is None:
        how = [
            "wrk cannot hold a fixed rate (no wrk2 here), so each connection waits a random "
            f"0-{2 * opts.light_think_ms} ms (mean {opts.light_think_ms} ms)",
            "before each request (wrk's delay hook), with the connection count chosen to offer "
            f"~{opts.light_share:.0%} of that proxy's own max-load rps;",
        ]
    else:
        how = [
            "wrk cannot hold a fixed rate (no wrk2 here): light load is a closed loop of "
            f"{opts.light_connections} connection(s), no think time;",
        ]
    out += [
        "",
        f"-- light load (wrk -t1, {opts.light_duration:g}s) --",
        *how,
        "'of max' = achieved rps / max-load rps; right after each proxy run the app direct runs "
        "at the same load:",
        "added p99 = p99 through the proxy - p99 of the app direct (medians over the rounds).",
        format_light_table(
            outcome.light,
            outcome.light_app,
            plan=outcome.plan,
            full=outcome.full,
            targets=targets,
            shapes=shapes,
        ),
    ]
    out += ["", "-- peak RSS (VmHWM) per worker process over the whole run, MiB --"]
    for t in bench.active():
        if t.rss_mib:
            values = ", ".join(f"{v:.1f}" for _, v in sorted(t.rss_mib.items()))
            out.append(f"{TARGET_LABELS[t.name]:<18} {values}")
    ratios = []
    for shape in shapes:
        modsec, nginx = (
            outcome.full.get("modsec", {}).get(shape),
            outcome.full.get("nginx", {}).get(shape),
        )
        r = ratio(modsec.rps if modsec else None, nginx.rps if nginx else None)
        if r is not None:
            ratios.append(f"{shape} {r:.3f}x")
    if ratios:
        out += ["", "reference: rps modsec/nginx " + ", ".join(ratios)]
    out += [
        "",
        "-- quality bars (DESIGN.md §11) --",
        format_bars(bars, bench.unavailable.get("ours")),
    ]
    return "\n".join(out)


def json_results(
    opts: Options,
    bench: Bench,
    outcome: Outcome,
    bars: Sequence[Bar],
) -> dict[str, Any]:
    def conv(d: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        return {
            t: {
                s: ([asdict(x) for x in v] if isinstance(v, list) else asdict(v))
                for s, v in shapes.items()
            }
            for t, shapes in d.items()
        }

    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "elapsed_s": round(outcome.elapsed, 1),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "tools": {
            "nginx": tool_version(["nginx", "-v"]),
            "wrk": tool_version(["wrk", "-v"]),
            "crs": crs_version(),
        },
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()},
        "unavailable": bench.unavailable,
        "sanity": bench.sanity,
        "warnings": outcome.warnings,
        "max_load": {"median": conv(outcome.full), "rounds": conv(outcome.raw_full)},
        "light_load": {
            "plan": conv(outcome.plan),
            "median": conv(outcome.light),
            "app_same_load_median": conv(outcome.light_app),
            "rounds": conv(outcome.raw_light),
            "app_same_load_rounds": conv(outcome.raw_light_app),
        },
        "rss_mib": {t.name: {str(p): v for p, v in t.rss_mib.items()} for t in bench.active()},
        "bars": [
            {
                "name": b.name,
                "value": b.value,
                "op": b.op,
                "limit": b.limit,
                "unit": b.unit.strip(),
                "verdict": b.verdict,
            }
            for b in bars
        ],
    }


# --------------------------------------------------------------------------- CLI


def parse_list(text: str, allowed: Sequence[str], what: str) -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in items if x not in allowed]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"unknown {what}: {', '.join(bad) or '(none)'}; choose from {', '.join(allowed)}"
        )
    return [x for x in allowed if x in items]


def parse_args(argv: Sequence[str] | None = None) -> Options:
    p = argparse.ArgumentParser(
        description="Loopback throughput benchmark: app direct, plain nginx, nginx+ModSecurity+"
        "CRS and wallarm-sidecar proxy (block mode), interleaved.",
    )
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (10)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; median reported (3)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections at max load (64)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads at max load (1)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes of nginx, nginx+ModSecurity and ours (1)",
    )
    p.add_argument("--app-workers", type=int, default=1, help="worker processes of the app (1)")
    p.add_argument(
        "--shapes",
        default=",".join(SHAPES),
        type=lambda s: parse_list(s, list(SHAPES), "shape"),
        help=f"comma list of {', '.join(SHAPES)} (all)",
    )
    p.add_argument(
        "--targets",
        default=",".join(TARGETS[1:]),
        type=lambda s: parse_list(s, list(TARGETS), "target"),
        help="comma list of nginx, modsec, ours (all; the app is always measured)",
    )
    p.add_argument(
        "--light-duration",
        type=float,
        default=None,
        help="seconds per light-load measurement (--duration)",
    )
    p.add_argument(
        "--light-share",
        type=float,
        default=0.5,
        help="light load offered, as a share of each proxy's max rps (0.5)",
    )
    p.add_argument(
        "--light-think-ms",
        type=int,
        default=2,
        help="mean per-connection wait before each light-load request, ms (2)",
    )
    p.add_argument(
        "--light-connections",
        type=int,
        default=None,
        help="instead of pacing: a closed loop of N connections, no think time",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        help="seconds of warm-up per target and shape before round 1 (1; 0 = none)",
    )
    p.add_argument(
        "--paranoia-level", type=int, default=1, choices=(1, 2, 3, 4), help="CRS paranoia level (1)"
    )
    p.add_argument(
        "--ours-cmd",
        default=f"{shlex.quote(sys.executable)} -m wallarm_sidecar proxy",
        help="command starting our proxy (python -m wallarm_sidecar proxy); src/ is "
        "put on PYTHONPATH",
    )
    p.add_argument(
        "--ours-start-timeout",
        type=float,
        default=30.0,
        help="seconds to wait for our /healthz (30)",
    )
    p.add_argument(
        "--json",
        dest="json_path",
        type=Path,
        default=None,
        help="write all results (every round) to this JSON file",
    )
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (configs, logs)")
    p.add_argument("--check", action="store_true", help="exit 1 unless every quality bar passes")
    a = p.parse_args(argv)
    for name in (
        "duration",
        "rounds",
        "connections",
        "threads",
        "workers",
        "app_workers",
        "light_share",
        "light_think_ms",
    ):
        if getattr(a, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if a.light_connections is not None and a.light_connections <= 0:
        p.error("--light-connections must be positive")
    return Options(
        duration=a.duration,
        rounds=a.rounds,
        connections=a.connections,
        threads=a.threads,
        workers=a.workers,
        app_workers=a.app_workers,
        shapes=a.shapes,
        targets=a.targets,
        light_duration=a.light_duration if a.light_duration is not None else a.duration,
        light_share=a.light_share,
        light_think_ms=a.light_think_ms,
        light_connections=a.light_connections,
        warmup=a.warmup,
        paranoia_level=a.paranoia_level,
        ours_cmd=shlex.split(a.ours_cmd),
        ours_start_timeout=a.ours_start_timeout,
        json_path=a.json_path,
        keep_tmp=a.keep_tmp,
        check=a.check,
    )


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    # SIGTERM and SIGHUP unwind like Ctrl-C, so that the finally blocks stop everything.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupt)
    try:
        return run(opts)
    except KeyboardInterrupt:
        log("interrupted: everything started was stopped")
        return 130
    except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as exc:
        log(f"error: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
