"""The Console's pure parts: filters, windows, chart, sessions and the secret file."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from wallarm_sidecar.cloud.console._chart import render_chart
from wallarm_sidecar.cloud.console._session import (
    ConsoleSecret,
    csrf_ok,
    csrf_token,
    issue_session,
    parse_session,
    verify_session,
)
from wallarm_sidecar.cloud.console._views import (
    MAX_BUCKETS,
    AttackFilter,
    Bucket,
    ago,
    chart_buckets,
    parse_attack_filter,
    parse_datetime,
    safe_next,
    utc,
)

NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC
KEY = b"k" * 32


@pytest.mark.parametrize(
    ("span", "width"),
    [
        (3600, 60),
        (86400, 1800),
        (7 * 86400, 3 * 3600),
        (30 * 86400, 12 * 3600),
        (5 * 365 * 86400, 91 * 86400),
        (30 * 365 * 86400, 365 * 86400),
    ],
    ids=["hour", "day", "week", "month", "years", "decades"],
)
def test_buckets_are_round_aligned_and_cover_the_window(span: int, width: int) -> None:
    since = NOW - span + 7.5
    buckets = chart_buckets(since, NOW)
    assert buckets[0].end - buckets[0].start == width
    assert buckets[0].start <= since < buckets[0].end and buckets[0].start % width == 0
    assert buckets[-1].end >= NOW
    assert len(buckets) <= MAX_BUCKETS + 1
    assert all(a.end == b.start for a, b in itertools.pairwise(buckets))


def test_an_empty_window_still_has_a_bar() -> None:
    assert len(chart_buckets(NOW, NOW)) == 1


def test_the_chart_draws_stacked_bars_and_escapes_its_titles() -> None:
    buckets = [
        Bucket(NOW, NOW + 60, 2, 1),
        Bucket(NOW + 60, NOW + 120),
        Bucket(NOW + 120, NOW + 180, 0, 4),
    ]
    svg = str(render_chart(buckets))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="blocked"') == 1 and svg.count('class="monitored"') == 2
    assert ">4</text>" in svg  # the peak labels the y axis
    assert "2 blocked, 1 monitored" in svg and "<script" not in svg
    assert "<svg" in str(render_chart([]))


@pytest.mark.parametrize(
    ("query", "expected", "problems"),
    [
        ("", AttackFilter(), 0),
        ("type=xss&status=blocked", AttackFilter(type="xss", blocked=True), 0),
        ("status=monitored&period=7d", AttackFilter(blocked=False, period="7d"), 0),
        (
            "node_group=shop&application=blog&offset=50",
            AttackFilter(node_group="shop", application="blog", offset=50),
            0,
        ),
        ("from=2026-01-01T00:00", AttackFilter(period="custom", since=NOW), 0),
        ("until=2026-01-01T00:00:00", AttackFilter(period="custom", until=NOW), 0),
        ("status=all&period=1y&from=yesterday&offset=-1", AttackFilter(), 3),
        ("type=" + "x" * 201, AttackFilter(), 1),
        ("type=a%0Ab", AttackFilter(), 1),
    ],
    ids=[
        "none",
        "type-status",
        "monitored-week",
        "group-app-page",
        "from",
        "until",
        "bad",
        "long",
        "control",
    ],
)
def test_attack_filters_from_query_strings(
    query: str, expected: AttackFilter, problems: int
) -> None:
    found, errors = parse_attack_filter(dict(parse_qsl(query)))
    assert found == expected
    assert len(errors) == problems, errors


def test_a_filter_survives_its_own_links() -> None:
    wanted = AttackFilter(
        type="sqli",
        node_group="shop & co",
        blocked=False,
        period="custom",
        since=NOW,
        until=NOW + 3600,
        offset=100,
    )
    assert parse_attack_filter(dict(parse_qsl(wanted.query())))[0] == wanted
    assert parse_attack_filter(dict(parse_qsl(wanted.query(offset=0))))[0].offset == 0
    assert AttackFilter().query() == ""


def test_windows() -> None:
    assert AttackFilter().window(NOW) == (NOW - 86400, None)
    assert AttackFilter(period="all").window(NOW) == (None, None)
    assert AttackFilter(period="custom", since=5.0).window(NOW) == (5.0, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "/attacks"),
        ("/settings", "/settings"),
        ("/attacks/12?type=xss&status=blocked", "/attacks/12?type=xss&status=blocked"),
        ("//evil.example/", "/attacks"),
        ("/\\evil.example", "/attacks"),
        ("https://evil.example/attacks", "/attacks"),
        ("/attacks?x=\r\nSet-Cookie:a", "/attacks"),
        ("/api/v1/tokens", "/attacks"),
    ],
)
def test_after_login_only_console_pages(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_times() -> None:
    assert utc(NOW) == "2026-01-01 00:00:00 UTC" and utc(None) == ""
    assert utc(1e30) == "1e+30"
    assert ago(NOW - 5, NOW) == "5 s ago" and ago(NOW - 7200, NOW) == "2 h ago"
    assert ago(NOW + 5, NOW) == "in the future"
    assert parse_datetime("2026-01-01T00:00") == NOW
    assert parse_datetime("2026-13-01T00:00") is None and parse_datetime("") is None


def test_sessions_are_bound_to_the_key_the_token_and_the_clock() -> None:
    cookie = issue_session(KEY, token_id=3, token_hash="h" * 64, now=NOW, lifetime=60)
    claims = parse_session(cookie, NOW + 59)
    assert claims is not None and claims.token_id == 3
    assert verify_session(KEY, claims, "h" * 64)
    assert not verify_session(KEY, claims, "g" * 64)  # another token (or a re-made one)
    assert not verify_session(b"j" * 32, claims, "h" * 64)
    assert parse_session(cookie, NOW + 60) is None
    for bad in [
        "",
        "v2" + cookie[2:],
        cookie + ".x",
        "v1.a.1.n.m",
        "v1.1." + "9" * 400,
        "v1.².9999999999.n.m",
    ]:
        assert parse_session(bad, NOW) is None


def test_csrf_tokens_belong_to_one_session() -> None:
    token = csrf_token(KEY, "session-a")
    assert csrf_ok(KEY, "session-a", token)
    assert not csrf_ok(KEY, "session-b", token)
    assert not csrf_ok(KEY, "session-a", "")
    assert not csrf_ok(KEY, None, token)


def test_the_secret_is_made_once_even_by_racing_processes(tmp_path: Path) -> None:
    path = tmp_path / "console-secret"
    keys: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: keys.append(ConsoleSecret(path).key)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["console-secret"]


def test_a_broken_secret_file_falls_back_to_a_process_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "console-secret"
    path.write_text("short\n")
    first, second = ConsoleSecret(path), ConsoleSecret(path)
    assert len(first.key) == 32 and first.key != second.key
    assert "sessions end at restart" in capsys.readouterr().err
    assert ConsoleSecret(None).key != ConsoleSecret(None).key


def test_the_secret_file_sits_beside_a_sqlite_file_only(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from wallarm_sidecar.cloud.console._routes import secret_path

    def at(url: str) -> Path | None:
        return secret_path(SimpleNamespace(url=url, is_sqlite=url.startswith("sqlite")))  # type: ignore[arg-type]

    assert at(f"sqlite:///{tmp_path}/cloud.sqlite3") == tmp_path / "console-secret"
    assert at("sqlite://") is None and at("sqlite:///:memory:") is None
    assert at("postgresql+psycopg://u:p@db/cloud") is None


def test_a_missing_browser_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.console.test_browser import _missing

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        _missing("chromium")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        _missing("chromium")
