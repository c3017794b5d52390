"""Unit tests of the pure parts of bench/proxy.py (no server, no wrk is started)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_proxy", BENCH / "proxy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_proxy"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bp = _load()

WRK_MS = """\
Running 10s test @ http://localhost:19201/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  312.45us   9.87ms   80.12%
    Req/Sec    62.81k     3.02k   68.11k    71.00%
  Latency Distribution
     50%  987.00us
     75%    1.15ms
     90%    1.36ms
     99%    2.41ms
  625123 requests in 10.00s, 120.43MB read
Requests/sec:  62507.88
Transfer/sec:     12.04MB
"""

WRK_BLOCKED = """\
Running 2s test @ http://localhost:19203/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    54.77ms   90.10ms    1.99s    97.00%
    Req/Sec     1.15k   120.00      1.30k    80.00%
  Latency Distribution
     50%   52.14ms
     75%   55.00ms
     90%   60.00ms
     99%    1.62s
  2093 requests in 2.01s, 1.10MB read
  Socket errors: connect 0, read 3, write 0, timeout 12
  Non-2xx or 3xx responses: 2093
Requests/sec:   1041.29
Transfer/sec:    560.00KB
"""


# --------------------------------------------------------------------------- wrk output


def test_parse_wrk_output_plain() -> None:
    r = bp.parse_wrk_output(WRK_MS)
    assert r.rps == pytest.approx(62507.88)
    assert r.p50_ms == pytest.approx(0.987)
    assert r.p99_ms == pytest.approx(2.41)
    assert r.requests == 625123
    assert r.duration_s == pytest.approx(10.0)
    assert r.non_2xx == 0
    assert r.errors == 0


def test_parse_wrk_output_non_2xx_and_socket_errors() -> None:
    r = bp.parse_wrk_output(WRK_BLOCKED)
    assert r.non_2xx == 2093
    assert r.socket_errors == {"connect": 0, "read": 3, "write": 0, "timeout": 12}
    assert r.errors == 15
    assert r.p99_ms == pytest.approx(1620.0)
    assert r.duration_s == pytest.approx(2.01)


def test_parse_wrk_output_needs_latency_distribution() -> None:
    text = re.sub(r"  Latency Distribution\n(.*%.*\n)+", "", WRK_MS)
    with pytest.raises(ValueError, match="--latency"):
        bp.parse_wrk_output(text)


def test_parse_wrk_output_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="Requests/sec"):
        bp.parse_wrk_output("unable to connect to localhost:19200 Connection refused\n")


@pytest.mark.parametrize(
    ("text", "ms"),
    [("812.00us", 0.812), ("1.23ms", 1.23), ("2.00s", 2000.0), ("1.50m", 90_000.0), ("5us", 0.005)],
)
def test_time_to_ms(text: str, ms: float) -> None:
    assert bp.time_to_ms(text) == pytest.approx(ms)


def test_time_to_ms_rejects_unknown_unit() -> None:
    with pytest.raises(ValueError):
        bp.time_to_ms("3.00xs")


# --------------------------------------------------------------------------- shapes and Lua


def test_post_body_is_1k_of_json() -> None:
    body = bp.SHAPES["post"].body
    assert len(body.encode()) == 1024
    doc = json.loads(body)
    assert doc["items"] and doc["customer"]["email"]
    assert ("Content-Type", "application/json") in bp.SHAPES["post"].headers


def test_shapes_match_the_brief() -> None:
    assert bp.SHAPES["get"].path == "/api/items?page=2&sort=name"
    assert bp.SHAPES["attack"].path == "/search?q=1%27%20OR%20%271%27%3D%271"
    assert bp.SHAPES["attack"].attack and not bp.SHAPES["get"].attack


def test_lua_quote_escapes() -> None:
    assert bp.lua_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert bp.lua_quote("x\ny") == '"x\\010y"'
    assert bp.lua_quote("é") == '"\\195\\169"'


def _lua_unquote(literal: str) -> str:
    """Reverse of lua_quote, enough for the test."""
    assert literal.startswith('"') and literal.endswith('"')
    raw = re.sub(
        r"\\(\d{3}|.)",
        lambda m: chr(int(m.group(1))) if m.group(1).isdigit() else m.group(1),
        literal[1:-1],
    )
    return raw.encode("latin-1").decode()


def test_wrk_script_carries_method_path_headers_body() -> None:
    script = bp.wrk_script(bp.SHAPES["post"])
    assert 'wrk.method = "POST"' in script
    assert 'wrk.path = "/api/orders"' in script
    assert 'wrk.headers["Content-Type"] = "application/json"' in script
    assert 'wrk.headers["User-Agent"]' in script
    body = re.search(r"^wrk\.body = (.*)$", script, re.MULTILINE)
    assert body is not None
    assert _lua_unquote(body.group(1)) == bp.SHAPES["post"].body
    assert "function delay" not in script


def test_wrk_script_think_time() -> None:
    script = bp.wrk_script(bp.SHAPES["get"], think_ms=3)
    assert "function delay()" in script
    assert "math.random(0, 6)" in script  # uniform, mean 3 ms


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed")
def test_wrk_accepts_the_scripts(tmp_path: Path) -> None:
    """wrk loads the script before connecting: a Lua error names the file."""
    bad = tmp_path / "bad.lua"
    bad.write_text('wrk.method = = "GET"\n')
    for shape in [*bp.SHAPES.values(), None]:
        if shape is None:
            path = bad
        else:
            path = tmp_path / f"{shape.name}.lua"
            path.write_text(bp.wrk_script(shape, think_ms=2))
        proc = subprocess.run(
            ["wrk", "-t1", "-c1", "-d1s", "-s", str(path), "http://127.0.0.1:1/"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        script_error = f"{path.name}:" in proc.stdout + proc.stderr
        assert script_error == (path == bad), proc.stdout + proc.stderr


# --------------------------------------------------------------------------- templates


def test_render_template_replaces_and_checks() -> None:
    assert bp.render_template("a {{ x }} b {{y}}", {"x": 1, "y": "z"}) == "a 1 b z"
    with pytest.raises(KeyError, match="missing: y"):
        bp.render_template("{{ x }} {{ y }}", {"x": 1})
    with pytest.raises(KeyError, match="not used: z"):
        bp.render_template("{{ x }}", {"x": 1, "z": 2})


def _template(name: str) -> str:
    return (BENCH / "nginx" / name).read_text()


def test_app_conf(tmp_path: Path) -> None:
    text = bp.render_app_conf(
        _template("app.conf.tmpl"), tmp=tmp_path, port=19200, workers=2, body=bp.APP_BODY
    )
    assert "{{" not in text
    assert "listen 127.0.0.1:19200" in text
    assert "worker_processes 2;" in text
    assert f"return 200 '{bp.APP_BODY}';" in text
    assert f"pid {tmp_path}/app/nginx.pid;" in text
    assert "/var/lib/nginx" not in text


def test_nginx_single_quoted() -> None:
    assert bp.nginx_single_quoted("it's \\ ok") == "it\\'s \\\\ ok"


def test_plain_proxy_conf(tmp_path: Path) -> None:
    text = bp.render_proxy_conf(
        _template("proxy.conf.tmpl"),
        name="nginx",
        tmp=tmp_path,
        port=19201,
        app_port=19200,
        workers=1,
    )
    assert "{{" not in text
    assert "modsecurity" not in text.replace("ModSecurity", "")
    assert "load_module" not in text
    for needle in (
        "server 127.0.0.1:19200;",
        "keepalive 256;",
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        "access_log off;",
        "listen 127.0.0.1:19201",
        f"client_body_temp_path {tmp_path}/nginx/client_body;",
        f"error_log {tmp_path}/nginx/error.log warn;",
    ):
        assert needle in text


def test_modsecurity_proxy_conf(tmp_path: Path) -> None:
    rules = tmp_path / "modsecurity" / "modsecurity.conf"
    text = bp.render_proxy_conf(
        _template("proxy.conf.tmpl"),
        name="modsec",
        tmp=tmp_path,
        port=19202,
        app_port=19200,
        workers=1,
        modsecurity_rules=rules,
    )
    first = next(line for line in text.splitlines() if line and not line.startswith("#"))
    assert first.startswith("load_module ") and first.endswith("ngx_http_modsecurity_module.so;")
    assert "modsecurity on;" in text
    assert f"modsecurity_rules_file {rules};" in text


CRS_LOAD = """\
##
## This file loads OWASP CRS's rules when the package is installed
##
Include /etc/modsecurity/crs/crs-setup.conf
IncludeOptional /etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf
Include /usr/share/modsecurity-crs/rules/*.conf
IncludeOptional /etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf
"""


def test_crs_includes_resolves_include_optional() -> None:
    text = bp.crs_includes(CRS_LOAD, lambda p: "REQUEST-900" in p)
    assert text.splitlines() == [
        "Include /etc/modsecurity/crs/crs-setup.conf",
        "Include /etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf",
        "Include /usr/share/modsecurity-crs/rules/*.conf",
        "# absent: /etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf",
    ]


def test_modsecurity_conf(tmp_path: Path) -> None:
    text = bp.render_modsecurity_conf(
        _template("modsecurity.conf.tmpl"),
        tmp=tmp_path,
        paranoia_level=1,
        crs_loader_text=CRS_LOAD,
        crs_setup_text='# SecAction \\\n#  "id:900000,\\\n',
        exists=lambda p: True,
    )
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    # Debian's base config first, then the overrides, so the overrides win.
    assert lines[0] == "Include /etc/nginx/modsecurity.conf"
    for directive in ("SecRuleEngine On", "SecRequestBodyAccess On", "SecAuditEngine Off"):
        assert lines.index(directive) > 0
    assert "setvar:tx.paranoia_level=1" in text
    # the paranoia level is set before crs-setup.conf is read
    assert text.index("tx.paranoia_level") < text.index("crs-setup.conf\n")
    assert "IncludeOptional" not in "\n".join(lines)
    assert f"SecTmpDir {tmp_path}/modsecurity/tmp" in lines


def test_paranoia_action_not_duplicated() -> None:
    assert bp.paranoia_action('#  "id:900000,\\\n', 2).startswith('SecAction "id:900000')
    active = 'SecAction \\\n  "id:900000,\\\n  phase:1,\\\n'
    assert bp.paranoia_action(active, 1).startswith("#")


# --------------------------------------------------------------------------- aggregation


def _res(rps: float, p50: float, p99: float, non_2xx: int = 0) -> object:
    return bp.WrkResult(
        rps=rps, p50_ms=p50, p99_ms=p99, requests=1000, duration_s=1.0, non_2xx=non_2xx
    )


def test_summarize_takes_medians_and_totals() -> None:
    s = bp.summarize([_res(100, 1, 9), _res(300, 3, 1, 5), _res(200, 2, 5)])
    assert (s.rps, s.p50_ms, s.p99_ms) == (200, 2, 5)
    assert s.non_2xx == 5 and s.requests == 3000 and s.rounds == 3
    assert s.non_2xx_share == pytest.approx(5 / 3000)


def _summary(rps: float, p99: float = 1.0) -> object:
    return bp.summarize([_res(rps, p99 / 2, p99)])


def test_evaluate_bars_pass_fail_and_na() -> None:
    full = {
        "nginx": {"get": _summary(50_000)},
        "modsec": {"get": _summary(1_000)},
        "ours": {"get": _summary(10_000)},
    }
    light = {"ours": {"get": _summary(5_000, p99=2.5)}}
    light_app = {"ours": {"get": _summary(5_000, p99=1.0)}}
    bars = {
        b.name: b for b in bp.evaluate_bars(full, light, light_app, {1: 40.0, 2: 70.0}, ["get"])
    }
    assert bars["rps ours/modsec [get]"].value == pytest.approx(10.0)
    assert bars["rps ours/modsec [get]"].verdict == "PASS"
    assert bars["rps ours/nginx [get]"].value == pytest.approx(0.2)
    assert bars["rps ours/nginx [get]"].verdict == "FAIL"
    assert bars["added p99 ours [get]"].value == pytest.approx(1.5)
    assert bars["added p99 ours [get]"].verdict == "PASS"
    assert bars["peak RSS per ours worker"].value == 70.0
    assert bars["peak RSS per ours worker"].verdict == "FAIL"

    without_ours = {k: v for k, v in full.items() if k != "ours"}
    verdicts = {b.verdict for b in bp.evaluate_bars(without_ours, {}, {}, {}, ["get"])}
    assert verdicts == {"n/a"}


def test_bar_limits_are_exclusive_where_the_design_says_under() -> None:
    assert bp.Bar("x", 2.0, 2.0, "<").verdict == "FAIL"
    assert bp.Bar("x", 5.0, 5.0, ">=").verdict == "PASS"


def test_paced_connections() -> None:
    assert bp.paced_connections(20_000, 0.5, 2) == 20
    assert bp.paced_connections(100, 0.5, 2) == 1
    assert bp.paced_connections(10_000_000, 0.5, 10) == 1000


def test_light_plan() -> None:
    full = {"nginx": {"get": _summary(50_000)}, "ours": {"get": _summary(10_000)}}
    plan = bp.light_plan(
        full,
        ["nginx", "ours", "modsec"],
        ["get", "post"],
        share=0.5,
        think_ms=2,
        fixed_connections=None,
    )
    assert plan == {"nginx": {"get": bp.LoadPoint(50, 2)}, "ours": {"get": bp.LoadPoint(10, 2)}}
    fixed = bp.light_plan(full, ["ours"], ["get"], share=0.5, think_ms=2, fixed_connections=2)
    assert fixed == {"ours": {"get": bp.LoadPoint(2, 0)}}


def test_format_table_and_bars() -> None:
    full = {"app": {"get": _summary(100_000, 0.8)}, "ours": {"get": _summary(10_000, 3.0)}}
    table = bp.format_table(full, ["app", "ours"], ["get"])
    assert "app direct" in table and "100,000" in table and "3.00ms" in table
    bars = bp.evaluate_bars(full, {}, {}, {}, ["get"])
    text = bp.format_bars(bars, "exited with code 1")
    assert "n/a (ours not available)" in text


# --------------------------------------------------------------------------- processes, CLI


def test_helper_processes_are_not_workers() -> None:
    assert bp.is_helper_process(
        "python -B -c from multiprocessing.resource_tracker import main;main(18)"
    )
    assert not bp.is_helper_process(
        "python -B -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=19)"
    )


def test_children_and_vm_hwm_of_this_process() -> None:
    with subprocess.Popen(["sleep", "5"]) as child:
        try:
            assert child.pid in bp.children_of(os.getpid())
            assert child.pid in bp.descendants_of(os.getpid())
        finally:
            child.kill()
    hwm = bp.vm_hwm_mib(os.getpid())
    assert hwm is not None and hwm > 1


def test_cpu_times_and_busy_cpus() -> None:
    before = bp.cpu_times("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n")
    assert before == (150, 1000)
    after = bp.cpu_times("cpu  200 0 100 1600 100 0 0 0 0 0\n")
    assert bp.busy_cpus(before, after, 2) == pytest.approx(2 * 150 / 1000)
    assert bp.busy_cpus(before, before, 2) == 0.0
    with pytest.raises(ValueError):
        bp.cpu_times("intr 1 2 3\n")


def test_allocate_ports_in_range() -> None:
    ports = bp.allocate_ports(3)
    assert len(set(ports)) == 3
    assert all(19200 <= p <= 19299 for p in ports)


def test_parse_args_defaults_and_lists() -> None:
    o = bp.parse_args([])
    assert (o.duration, o.rounds, o.workers, o.connections) == (10.0, 3, 1, 64)
    assert o.shapes == ["get", "post", "attack"]
    assert o.targets == ["nginx", "modsec", "ours"]
    assert o.light_duration == 10.0 and o.light_connections is None
    o = bp.parse_args(["--shapes", "attack,get", "--targets", "ours", "--duration", "3"])
    assert o.shapes == ["get", "attack"] and o.targets == ["ours"]
    assert o.light_duration == 3.0
    with pytest.raises(SystemExit):
        bp.parse_args(["--shapes", "put"])
    with pytest.raises(SystemExit):
        bp.parse_args(["--duration", "0"])
