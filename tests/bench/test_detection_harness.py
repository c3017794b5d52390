"""The rest of the detection harness: ModSecurity plumbing, figures, the benign corpus files."""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # after the installed packages: bench modules shadow nothing
crs = importlib.import_module("_crs_corpus")
modsec = importlib.import_module("_modsec")
benign_corpus = importlib.import_module("_benign_corpus")
detection = importlib.import_module("detection")
gen_benign = importlib.import_module("gen_benign")


# --- ModSecurity plumbing --------------------------------------------------------------


def test_parse_response_head() -> None:
    passed = modsec.parse_response_head(
        b"HTTP/1.1 200 OK\r\nX-Bench-Backend: reached\r\nX-Bench-Request-Id: ab12\r\n\r\nok\n"
    )
    assert passed == modsec.ReplayResult(status=200, reached_backend=True, request_id="ab12")
    assert not passed.blocked
    blocked = modsec.parse_response_head(
        b"HTTP/1.1 403 Forbidden\r\nX-Bench-Request-Id: cd\r\n\r\n"
    )
    assert blocked.blocked and blocked.status == 403
    assert modsec.parse_response_head(b"").blocked


def test_render_refuses_unfilled_placeholders() -> None:
    assert modsec.render("listen @PORT@;", {"PORT": "19100"}) == "listen 19100;"
    with pytest.raises(ValueError, match="@PREFIX@"):
        modsec.render("pid @PREFIX@/nginx.pid;", {})


def test_templates_render_with_every_placeholder() -> None:
    names = "PREFIX PORT BACKEND_PORT WORKERS MODULE_DIR CRS_INCLUDES UNICODE_MAPPING PARANOIA"
    values = dict.fromkeys(names.split(), "x")
    for name in ("nginx.conf.template", "modsecurity.conf.template"):
        text = (modsec.TEMPLATES / name).read_text(encoding="utf-8")
        modsec.render(text, values)


def test_crs_includes_turns_optional_includes_into_includes(tmp_path: Path) -> None:
    present = tmp_path / "setup.conf"
    present.write_text("", encoding="utf-8")
    load = tmp_path / "crs.load"
    load.write_text(
        f"# comment\nInclude {present}\nIncludeOptional {tmp_path}/absent.conf\n"
        f"IncludeOptional {present}\nInclude /rules/*.conf\n",
        encoding="utf-8",
    )
    assert modsec.crs_includes(str(load)).splitlines() == [
        f"Include {present}",
        f"Include {present}",
        "Include /rules/*.conf",
    ]


# --- figures ---------------------------------------------------------------------------


def case(family: str, kind: str, n: int) -> object:
    return crs.CrsCase(
        family=family,
        rule_id=int(family) * 1000,
        test_id=str(n),
        stage=0,
        kind=kind,
        desc="",
        raw=b"",
    )


@dataclass
class Replay:
    blocked: bool


def test_summarize_and_bars() -> None:
    cases = [case("942", "attack", i) for i in range(10)] + [
        case("941", "legitimate", i) for i in range(4)
    ]
    ours = [detection.EngineOutcome(i < 9, "detected" if i < 9 else "", (), 5.0) for i in range(10)]
    ours += [detection.EngineOutcome(False, "", (), 3.0) for _ in range(4)]
    theirs = [Replay(i < 5) for i in range(10)] + [Replay(i == 0) for i in range(4)]
    summary = detection.summarize(cases, ours, theirs)
    assert summary["attack"] == {"tests": 10, "ours_detected": 0.9, "modsec_detected": 0.5}
    assert summary["legitimate"] == {"tests": 4, "ours_passed": 1.0, "modsec_passed": 0.75}
    assert summary["per_class"]["sqli"]["attack"]["tests"] == 10
    assert all(summary["bars"].values())
    assert summary["engine_us_median"] == 5.0


def test_inspect_raw_counts_framing_rejections_as_blocked() -> None:
    class Engine:
        def inspect(self, request: object) -> object:
            raise AssertionError("must not be called")

    outcome = detection.inspect_raw(Engine(), b"GET / JUNK/1.0\r\n\r\n")
    assert (outcome.blocked, outcome.why, outcome.micros) == (True, "framing", None)


def test_inspect_raw_reports_engine_crashes() -> None:
    class Engine:
        def inspect(self, request: object) -> object:
            raise RuntimeError("boom")

    outcome = detection.inspect_raw(Engine(), b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert not outcome.blocked and outcome.why == "error: RuntimeError: boom"


# --- the benign corpus files -----------------------------------------------------------


def test_benign_files_are_what_the_generator_writes() -> None:
    files = gen_benign.render()
    for name, text in files.items():
        path = benign_corpus.DEFAULT_DIR / name
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run bench/gen_benign.py"
    on_disk = {p.name for p in benign_corpus.DEFAULT_DIR.glob("*.jsonl")}
    assert on_disk == set(files), "a corpus file the generator does not write"


def test_benign_records_are_valid_and_varied() -> None:
    requests = benign_corpus.load_benign()
    assert len(requests) >= 1500
    methods = {r.method for r in requests}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= methods
    types = {(r.content_type or "").split(";")[0] for r in requests}
    assert {"application/json", "application/x-www-form-urlencoded", "multipart/form-data"} <= types
    for request in requests:
        assert ".." + "/" not in request.target, request.source
        if request.content_type == "application/json":
            json.loads(request.body)


def test_benign_record_validation() -> None:
    good = {
        "method": "GET",
        "target": "/",
        "headers": [["Accept", "*/*"]],
        "body": "",
        "content_type": None,
        "note": "n",
    }
    assert benign_corpus.parse_record(good, source="s").raw.startswith(
        b"GET / HTTP/1.1\r\nHost: localhost"
    )
    with pytest.raises(ValueError, match="come from the record"):
        benign_corpus.parse_record({**good, "headers": [["Host", "x"]]}, source="s")
    with pytest.raises(ValueError, match="missing"):
        benign_corpus.parse_record({"method": "GET"}, source="s")
    posted = benign_corpus.parse_record(
        {**good, "method": "POST", "body": "é", "content_type": "text/plain"}, source="s"
    )
    assert posted.raw.endswith(b"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n\xc3\xa9")


# --- the real peer (needs Debian's nginx, libnginx-mod-http-modsecurity, modsecurity-crs) --


@pytest.mark.skipif(bool(modsec.missing_parts()), reason="nginx + ModSecurity + CRS not installed")
def test_modsecurity_server_blocks_and_passes() -> None:
    with modsec.ModSecurityServer() as server:
        assert modsec.PORT_RANGE.start <= server.port < modsec.PORT_RANGE.stop
        attack = server.replay(
            b"GET /?id=1%27%20or%20%271%27=%271 HTTP/1.1\r\nHost: localhost\r\n"
            b"User-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n"
        )
        clean = server.replay(
            b"GET /hello?q=world HTTP/1.1\r\nHost: localhost\r\n"
            b"User-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n"
        )
        assert (attack.status, attack.blocked) == (403, True)
        assert (clean.status, clean.blocked) == (200, False)
        assert 942100 in server.matched_rules()[attack.request_id]
        prefix = server.prefix
    assert prefix is not None and not prefix.exists()
