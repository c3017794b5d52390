"""The CRS corpus reader of bench/: go-ftw request building, classification, framing."""

from __future__ import annotations

import base64
import importlib
import os
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # after the installed packages: bench modules shadow nothing
crs = importlib.import_module("_crs_corpus")


def head_and_body(raw: bytes) -> tuple[list[str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.decode("utf-8").split("\r\n"), body


# --- build_request ---------------------------------------------------------------------


def test_defaults_without_headers_key() -> None:
    assert crs.build_request({}) == (
        b"GET / HTTP/1.1\r\nConnection: close\r\nHost: localhost\r\n\r\n"
    )


def test_given_headers_are_sent_as_written_and_sorted() -> None:
    raw = crs.build_request({"headers": {"User-Agent": "x", "Accept": "*/*"}, "uri": "/a?b=1"})
    lines, body = head_and_body(raw)
    assert lines == ["GET /a?b=1 HTTP/1.1", "Accept: */*", "Connection: close", "User-Agent: x"]
    assert body == b""


@pytest.mark.parametrize(
    ("data", "sent"),
    [
        pytest.param("var=1234 OR 1=1", b"var=1234+OR+1%3D1", id="pairs-encoded"),
        pytest.param("var=-1839' or '1'='1", b"var=-1839%27+or+%271%27%3D%271", id="quotes"),
        pytest.param("a=1&b", b"a=1&b", id="token-without-equals"),
        pytest.param("a=1&", b"a=1", id="trailing-amp-dropped"),
        pytest.param("a=%27x", b"a=%27x", id="already-encoded"),
        pytest.param("a=b+c", b"a=b+c", id="plus-means-encoded"),
        pytest.param("a=%zz x", b"a=%zz x", id="bad-escape-left-alone"),
        pytest.param("q=ü", b"q=%C3%BC", id="utf8"),
    ],
)
def test_form_bodies_follow_go_ftw(data: str, sent: bytes) -> None:
    raw = crs.build_request({"method": "POST", "headers": {"Host": "localhost"}, "data": data})
    lines, body = head_and_body(raw)
    assert body == sent
    assert f"Content-Length: {len(sent)}" in lines
    assert "Content-Type: application/x-www-form-urlencoded" in lines


def test_explicit_content_type_keeps_body() -> None:
    data = '{"a": "b c"}'
    raw = crs.build_request(
        {"method": "POST", "headers": {"Content-Type": "application/json"}, "data": data}
    )
    assert head_and_body(raw)[1] == data.encode()


def test_lower_case_content_type_is_a_different_header_for_go_ftw() -> None:
    raw = crs.build_request(
        {"method": "POST", "headers": {"content-type": "text/plain"}, "data": "a b"}
    )
    lines, body = head_and_body(raw)
    assert "content-type: text/plain" in lines
    assert "Content-Type: application/x-www-form-urlencoded" in lines
    assert body == b"a+b"


def test_multipart_lf_becomes_crlf() -> None:
    data = '--b\nContent-Disposition: form-data; name="f"\n\nv\n--b--\n'
    raw = crs.build_request(
        {
            "method": "POST",
            "headers": {"Content-Type": "multipart/form-data; boundary=b"},
            "data": data,
        }
    )
    assert head_and_body(raw)[1] == data.replace("\n", "\r\n").encode()


def test_post_without_data_gets_zero_length() -> None:
    lines, _ = head_and_body(crs.build_request({"method": "POST", "headers": {"Host": "h"}}))
    assert "Content-Length: 0" in lines


def test_go_ftw_method_regex_quirk() -> None:
    # ^POST|PUT|PATCH|DELETE$ matches PUT anywhere, so OUTPUT gets a Content-Length too.
    lines, _ = head_and_body(crs.build_request({"method": "OUTPUT", "headers": {"Host": "h"}}))
    assert "Content-Length: 0" in lines


def test_autocomplete_off_adds_nothing() -> None:
    raw = crs.build_request(
        {"method": "POST", "headers": {"Host": "h"}, "data": "a b", "autocomplete_headers": "false"}
    )
    assert raw == b"POST / HTTP/1.1\r\nHost: h\r\n\r\na b"


def test_existing_connection_and_length_are_kept() -> None:
    raw = crs.build_request(
        {
            "method": "POST",
            "headers": {"Connection": "keep-alive", "Content-Length": "99"},
            "data": "x",
        }
    )
    lines, _ = head_and_body(raw)
    assert "Connection: keep-alive" in lines and "Content-Length: 99" in lines


def test_encoded_request_is_sent_raw() -> None:
    raw = b"GET /x HTTP/1.0\r\n\r\n\x00\xff"
    assert crs.build_request({"encoded_request": base64.b64encode(raw).decode()}) == raw


def test_data_list_and_repeat_template() -> None:
    assert crs.render_data(["a", "b"]) == "a\r\nb"
    assert crs.render_data('x{{ "1" | repeat 3 }}y') == "x111y"
    assert crs.render_data("{{constructor}}") == "{{constructor}}"


@given(
    st.lists(
        st.tuples(
            st.text(
                alphabet=st.characters(blacklist_characters="&=%+", blacklist_categories=["Cs"]),
                min_size=1,
            ),
            st.text(
                alphabet=st.characters(blacklist_characters="&=%+", blacklist_categories=["Cs"])
            ),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_form_encoding_round_trips(pairs: list[tuple[str, str]]) -> None:
    data = "&".join(f"{k}={v}" for k, v in pairs)
    raw = crs.build_request({"method": "POST", "headers": {"Host": "h"}, "data": data})
    framing = crs.frame(raw)
    assert framing.outcome == crs.FRAMED
    assert parse_qsl(framing.requests[0].body.decode("ascii"), keep_blank_values=True) == pairs


# --- classification and files ----------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        pytest.param(
            {"log": {"expect_ids": ["942100"]}}, ("attack", (942100,), None), id="expect_ids"
        ),
        pytest.param(
            {"log_contains": 'id "941100"'}, ("attack", (941100,), None), id="log_contains"
        ),
        pytest.param({"log": {"match_regex": "x"}}, ("attack", (), None), id="match_regex"),
        pytest.param({"status": 400}, ("attack", (), 400), id="refused"),
        pytest.param(
            {"status": "400", "log": {"no_expect_ids": [921140]}},
            ("attack", (), 400),
            id="refused-wins",
        ),
        pytest.param(
            {"log": {"no_expect_ids": [942100]}}, ("legitimate", (), None), id="no_expect_ids"
        ),
        pytest.param(
            {"no_log_contains": 'id "942100"'}, ("legitimate", (), None), id="no_log_contains"
        ),
        pytest.param(
            {"log": {"no_match_regex": "x"}}, ("legitimate", (), None), id="no_match_regex"
        ),
        pytest.param({"status": 200}, ("legitimate", (), 200), id="status-200"),
        pytest.param({}, None, id="nothing-expected"),
    ],
)
def test_classify(output: dict, expected: tuple | None) -> None:
    assert crs.classify(output) == expected


DOC = """
---
meta:
  author: someone
rule_id: 942100
tests:
  - test_id: 1
    desc: attack
    stages:
      - input:
          headers:
            Host: localhost
            Content-Length: 0
            X-Flag: yes
          uri: /get?a=1
        output:
          log:
            expect_ids: [942100]
  - test_id: 2
    stages:
      - stage:
          input:
            method: POST
            data: "a=b"
          output:
            no_log_contains: 'id "942100"'
  - test_id: 3
    stages:
      - input: {}
        output: {}
"""


def test_parse_test_file() -> None:
    cases = crs.parse_test_file(DOC, family="942", source="x.yaml", rule_id=942101)
    assert [(c.title, c.kind) for c in cases] == [
        ("942101-1", "attack"),
        ("942101-2", "legitimate"),
    ]
    lines, _ = head_and_body(cases[0].raw)
    assert "Content-Length: 0" in lines and "X-Flag: yes" in lines  # scalars stay text
    assert cases[0].attack_class == "sqli" and cases[0].group == crs.GROUP_ATTACK


def test_empty_and_broken_files() -> None:
    assert crs.parse_test_file("", family="920") == []
    with pytest.raises(crs.CorpusError):
        crs.parse_test_file("- just\n- a list\n", family="920")


def test_family_of() -> None:
    assert crs.family_of(Path("c/REQUEST-942-APPLICATION-ATTACK-SQLI/942100.yaml")) == "942"
    assert crs.family_of(Path("c/RESPONSE-951-DATA-LEAKAGES-SQL/951110.yaml")) == "951"
    assert crs.family_of(Path("c/misc/930100.yaml")) == "930"


def test_load_corpus_reads_a_tree(tmp_path: Path) -> None:
    folder = tmp_path / "REQUEST-942-APPLICATION-ATTACK-SQLI"
    folder.mkdir()
    (folder / "942100.yaml").write_text(DOC, encoding="utf-8")
    cases = crs.load_corpus(tmp_path)
    assert [c.title for c in cases] == ["942100-1", "942100-2"]
    assert cases[0].source == "REQUEST-942-APPLICATION-ATTACK-SQLI/942100.yaml"
    with pytest.raises(FileNotFoundError):
        crs.load_corpus(tmp_path / "absent")


def stage(family: str, kind: str, test_id: str, raw: bytes, rule_id: int = 0) -> object:
    return crs.CrsCase(
        family=family, rule_id=rule_id or int(family) * 1000, test_id=test_id, stage=0,
        kind=kind, desc="", raw=raw,
    )  # fmt: skip


def test_mark_disputed_and_headline_sets() -> None:
    sqli = crs.build_request({"uri": "/?q=1' or '1'='1"})
    prose = crs.build_request({"uri": "/?q=Go to store.%0AAt the store"})
    cases = [
        stage("942", "attack", "1", sqli),  # undisputed attack
        stage("932", "attack", "2", prose),  # the corpus also calls it legitimate: attack wins
        stage("932", "legitimate", "3", prose),
        stage("920", "legitimate", "4", crs.build_request({})),  # undisputed legitimate
        stage("951", "attack", "5", sqli),  # response family: never headline
    ]
    marked = crs.mark_disputed(cases)
    assert [c.disputed for c in marked] == ["", "", "same request as attack test 932000-2", "", ""]
    assert [crs.is_headline_attack(c) for c in marked] == [True, True, False, False, False]
    assert [crs.is_headline_legitimate(c) for c in marked] == [False, False, False, True, False]


def test_review_tables_name_the_right_kind() -> None:
    assert not set(crs.ATTACKS_IN_SUBSTANCE) & set(crs.KNOWN_FALSE_POSITIVES)
    fp = stage("932", "attack", "6", crs.build_request({"uri": "/?n=O%27keefe%27s"}), 932290)
    twin = stage("932", "legitimate", "7", fp.raw)
    marked, legitimate = crs.mark_disputed([fp, twin])
    assert marked.title == "932290-6" and "known false positive" in marked.disputed
    assert not legitimate.disputed  # a known false positive does not dispute its twin


# --- framing ---------------------------------------------------------------------------


def test_frame_simple_and_lower_cases_names() -> None:
    framing = crs.frame(
        b"POST /p?x=1 HTTP/1.1\r\nHost: a\r\nX-Y: Z\r\nContent-Length: 3\r\n\r\nabc"
    )
    assert framing.outcome == crs.FRAMED
    (request,) = framing.requests
    assert (request.method, request.target, request.body) == ("POST", "/p?x=1", b"abc")
    assert ("x-y", "Z") in request.headers


def test_frame_chunked_is_decoded() -> None:
    raw = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    assert crs.frame(raw).requests[0].body == b"abc"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", id="cl-te"
        ),
        pytest.param(b"GET / JUNK/1.0\r\n\r\n", id="bad-version"),
        pytest.param(b"\tGET / HTTP/1.1\r\n\r\n", id="leading-tab"),
        pytest.param(b"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", id="bad-length"),
    ],
)
def test_frame_rejects_broken_framing(raw: bytes) -> None:
    assert crs.frame(raw).outcome == crs.REJECTED


def test_frame_incomplete_and_trailing_garbage() -> None:
    assert crs.frame(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc").outcome == crs.INCOMPLETE
    framing = crs.frame(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n\x00garbage")
    assert framing.outcome == crs.FRAMED and [r.target for r in framing.requests] == ["/a"]


def test_frame_pipelined_and_upgrade() -> None:
    framing = crs.frame(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
    assert [r.target for r in framing.requests] == ["/1", "/2"]
    upgrade = (
        b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05"
    )
    assert [r.target for r in crs.frame(upgrade).requests] == ["/ws"]


# --- the real corpus, when it is there -------------------------------------------------

REAL_CORPUS = crs.default_corpus_dir()


@pytest.mark.skipif(
    not REAL_CORPUS.is_dir() and not os.environ.get("CI"),  # CI has it: never skip there
    reason=f"no CRS corpus at {REAL_CORPUS}",
)
def test_real_corpus_loads_and_the_review_table_is_current() -> None:
    cases = crs.mark_disputed(crs.load_corpus(REAL_CORPUS))
    by_title = {case.title: case for case in cases}
    assert len(cases) > 5000
    assert sum(map(crs.is_headline_attack, cases)) > 3000
    assert sum(map(crs.is_headline_legitimate, cases)) > 800
    # Every hand-reviewed entry still names a stage of the right kind in the corpus.
    for title in crs.ATTACKS_IN_SUBSTANCE:
        assert by_title[title].kind == crs.LEGITIMATE and by_title[title].disputed, title
    for title in crs.KNOWN_FALSE_POSITIVES:
        assert by_title[title].kind == crs.ATTACK and by_title[title].disputed, title
    assert by_title["942100-1"].raw == (
        b"POST /post HTTP/1.1\r\n"
        b"Accept: text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,"
        b"text/plain;q=0.8,image/png,*/*;q=0.5\r\n"
        b"Connection: close\r\nContent-Length: 17\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Host: localhost\r\nUser-Agent: OWASP CRS test agent\r\n\r\n"
        b"var=1234+OR+1%3D1"
    )
