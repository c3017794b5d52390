"""The Console's pages over HTTP: attacks with filters and chart, details, nodes, tokens,
IP lists and settings, and escaping of attacker-chosen text everywhere."""

from __future__ import annotations

import html
import json
import re
import time

import pytest

from tests.console.conftest import XSS_ATTRIBUTE, XSS_FRAGMENT, Console, record


@pytest.fixture
def console(any_console: Console) -> Console:
    """Every page test runs on SQLite and on PostgreSQL (the chart's SQL must be portable)."""
    return any_console


def rows(page_html: str, table_id: str) -> list[str]:
    body = page_html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)


def counter(page_html: str, element_id: str) -> int:
    found = re.search(rf'id="{element_id}">(\d+)<', page_html)
    assert found, element_id
    return int(found.group(1))


def seed(console: Console) -> None:
    """Two groups, three types, blocked and monitored hits, one of them a day old."""
    shop = console.api("POST", "/nodes/register", json={"name": "shop-1", "group": "shop"})
    blog = console.api("POST", "/nodes/register", json={"name": "blog-1", "group": "blog"})
    now = time.time()
    console.ingest(
        record("a1", node="shop-1"),
        record("a2", node="shop-1", point="get_file"),
        record(
            "b1",
            attack_type="sqli",
            fragment="' OR 1=1",
            blocked=True,
            client_ip="203.0.113.5",
            path="/login",
        ),
        token=shop.json()["node_credential"],
    )
    console.ingest(
        record(
            "c1",
            attack_type="xss",
            fragment=XSS_FRAGMENT,
            application="blog",
            client_ip="192.0.2.1",
            path="/comment",
        ),
        record(
            "d1",
            attack_type="rce",
            fragment=";id",
            when=now - 2 * 86400,
            application="blog",
            client_ip="192.0.2.2",
        ),
        token=blog.json()["node_credential"],
    )


def test_attacks_list_chart_and_filters(console: Console) -> None:
    seed(console)
    console.login()
    page = console.page("/attacks").text
    listed = rows(page, "attacks")
    assert len(listed) == 3  # the two-day-old rce is outside the default 24 hours
    assert "Path traversal (ptrav)" in listed[-1] and "shop" in listed[-1]
    # DESIGN §1: the type, the request point, the node (pod) and its node group.
    for shown in ("<code>uri</code>", "<code>get_file</code>", "shop-1"):
        assert shown in listed[-1], shown
    assert "<svg" in page and page.count('class="bucket"') > 10
    assert (counter(page, "blocked-hits"), counter(page, "monitored-hits")) == (1, 3)

    by_type = console.page("/attacks?type=sqli").text
    assert len(rows(by_type, "attacks")) == 1 and "203.0.113.5" in by_type
    assert (counter(by_type, "blocked-hits"), counter(by_type, "monitored-hits")) == (1, 0)

    monitored = rows(console.page("/attacks?status=monitored").text, "attacks")
    assert len(monitored) == 2 and all("monitored" in row for row in monitored)
    assert len(rows(console.page("/attacks?status=blocked").text, "attacks")) == 1
    blog = rows(console.page("/attacks?node_group=blog&period=all").text, "attacks")
    assert len(blog) == 2 and "rce" in blog[0] + blog[1]
    assert len(rows(console.page("/attacks?application=blog").text, "attacks")) == 1

    week = console.page("/attacks?period=7d").text
    assert len(rows(week, "attacks")) == 4 and counter(week, "monitored-hits") == 4
    old = time.gmtime(time.time() - 3 * 86400)
    window = (
        f"/attacks?from={time.strftime('%Y-%m-%dT%H:%M', old)}"
        f"&until={time.strftime('%Y-%m-%dT%H:%M', time.gmtime(time.time() - 86400))}"
    )
    custom = console.page(window).text
    assert len(rows(custom, "attacks")) == 1 and "Remote code execution" in custom
    assert counter(custom, "monitored-hits") == 1


def test_bad_filters_are_named_and_ignored(console: Console) -> None:
    seed(console)
    console.login()
    page = console.page("/attacks?status=weird&from=yesterday&period=1y&offset=-4")
    assert page.status_code == 200
    for name in ("status:", "from:", "period:"):
        assert f"Ignored {name}" in page.text
    assert len(rows(page.text, "attacks")) == 3
    assert "No attacks match" in console.page("/attacks?type=nosuch").text


def test_attacks_are_paged(console: Console) -> None:
    console.ingest(*[record(f"r{i}", client_ip=f"10.0.{i // 250}.{i % 250}") for i in range(60)])
    console.login()
    first = console.page("/attacks?type=ptrav").text
    assert len(rows(first, "attacks")) == 50
    older = re.search(r'href="/attacks\?([^"]+)" rel="next"', first)
    assert older and "offset=50" in older.group(1) and "type=ptrav" in older.group(1)
    second = console.page("/attacks?" + html.unescape(older.group(1))).text
    assert len(rows(second, "attacks")) == 10
    assert 'rel="next"' not in second and 'rel="prev"' in second


def test_attack_detail_shows_each_hit(console: Console) -> None:
    seed(console)
    console.login()
    page = console.page("/attacks/1").text
    hits = rows(page, "hits")
    assert len(hits) == 2
    assert {"uri", "get_file"} == {re.search(r"<code>(\w+)</code>", hit).group(1) for hit in hits}  # type: ignore[union-attr]
    for expected in (
        "../",
        "930100",
        "shop-1",
        "shop",
        "198.51.100.9",
        "GET app.example/etc/passwd",
    ):
        assert expected in hits[0]
    assert console.page("/attacks/999").status_code == 404


def test_attacker_text_is_escaped_on_every_page(console: Console) -> None:
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    console.api("POST", "/nodes/register", json={"name": evil, "group": evil})
    console.ingest(
        record(
            "x1",
            attack_type="xss",
            fragment=XSS_FRAGMENT,
            path="/" + evil,
            application=evil,
            node=evil,
        ),
        record("x2", attack_type=evil, fragment=XSS_ATTRIBUTE, point=evil),
    )
    console.api("POST", "/tokens", json={"usage": "read-only", "name": evil})
    console.api(
        "POST",
        "/ip-lists",
        json={"list": "deny", "ip": "192.0.2.3", "comment": evil, "application": evil},
    )
    console.api(
        "PUT",
        "/settings",
        json={"rules": [{"node_group": evil, "application": evil, "mode": "block"}]},
    )
    console.login()
    for path in [
        "/attacks",
        "/attacks/1",
        "/attacks/2",
        "/nodes",
        "/tokens",
        "/ip-lists",
        "/settings",
        f"/attacks?type={evil}",
    ]:
        page = console.page(path)
        assert page.status_code == 200, path
        for raw in (evil, XSS_FRAGMENT, XSS_ATTRIBUTE, "<img", "<script"):
            assert raw not in page.text, (path, raw)
    detail = console.page("/attacks/1").text
    assert html.escape(XSS_FRAGMENT, quote=False) in detail
    assert "&lt;img src=x onerror=" in console.page("/attacks/2").text


def test_nodes_by_group_with_last_seen_and_revoke(console: Console) -> None:
    credential = console.api(
        "POST", "/nodes/register", json={"name": "pod-a", "group": "shop"}
    ).json()["node_credential"]
    console.api(
        "POST", "/nodes/register", json={"name": "pod-b", "group": "blog", "namespace": "blog-ns"}
    )
    console.login()
    page = console.page("/nodes").text
    assert page.index("<h2>blog</h2>") < page.index("<h2>shop</h2>")
    assert "pod-a" in page and "blog-ns" in page and " s ago" in page
    only_shop = console.page("/nodes?group=shop").text
    assert "pod-a" in only_shop and "pod-b" not in only_shop
    response = console.submit("/nodes", "/nodes/1/revoke", {})
    assert (response.status_code, response.headers["location"]) == (303, "/nodes?done=node-revoked")
    after = console.page("/nodes?done=node-revoked").text
    assert "revoked" in after and "its credential is refused" in after
    assert (
        console.api("POST", "/hits", credential, json={"records": [record("n1")]}).status_code
        == 401
    )
    assert console.submit("/nodes", "/nodes/99/revoke", {}).status_code == 404


def test_tokens_create_shows_the_secret_once_and_revoke_refuses_it(console: Console) -> None:
    console.login()
    created = console.submit("/tokens", "/tokens", {"usage": "read-only", "name": "grafana"})
    assert created.status_code == 201
    secret = re.search(r'id="new-token" value="([^"]+)"', created.text)
    assert secret and secret.group(1).startswith("wsk_")
    token = secret.group(1)
    assert console.api("GET", "/attacks", token).status_code == 200
    listing = console.page("/tokens").text
    assert token not in listing and "grafana" in listing
    node = console.submit("/tokens", "/tokens", {"usage": "node", "group": "shop"})
    assert node.status_code == 201 and "New node token" in node.text
    bad = console.submit("/tokens", "/tokens", {"usage": "node"})
    assert bad.status_code == 422 and "node token needs a node group" in bad.text
    assert console.submit("/tokens", "/tokens", {"usage": "root"}).status_code == 422
    revoked = console.submit("/tokens", "/tokens/2/revoke", {})
    assert revoked.headers["location"] == "/tokens?done=token-revoked"
    assert console.api("GET", "/attacks", token).status_code == 401
    assert console.submit("/tokens", "/tokens/99/revoke", {}).status_code == 404


def test_revoking_the_sessions_own_token_logs_it_out(console: Console) -> None:
    _, deployer = console.token("deployment")
    console.login(deployer)
    response = console.submit("/tokens", "/tokens/2/revoke", {})
    assert response.status_code == 303
    assert console.page("/tokens").status_code == 303


def test_ip_lists_add_with_expiry_application_comment_and_delete(console: Console) -> None:
    console.login()
    before = time.time()
    response = console.submit(
        "/ip-lists",
        "/ip-lists",
        {
            "list": "deny",
            "ip": " 203.0.113.0/24 ",
            "expires": "24h",
            "application": "shop",
            "comment": "scanner",
        },
    )
    assert (response.status_code, response.headers["location"]) == (303, "/ip-lists?done=ip-added")
    entry = console.api("GET", "/ip-lists").json()["items"][0]
    assert (entry["list"], entry["ip"], entry["application"], entry["comment"]) == (
        "deny",
        "203.0.113.0/24",
        "shop",
        "scanner",
    )
    assert before + 86400 <= entry["expires_at"] <= time.time() + 86400
    config = console.api("GET", "/nodes/config?group=shop").json()["ip_lists"]
    assert config["entries"][0]["ip"] == "203.0.113.0/24"
    page = console.page("/ip-lists").text
    assert "203.0.113.0/24" in rows(page, "entries")[0] and "scanner" in page
    assert "203.0.113.0/24" not in console.page("/ip-lists?list=allow").text
    bad = console.submit("/ip-lists", "/ip-lists", {"list": "deny", "ip": "not-an-ip"})
    assert (
        bad.status_code == 422
        and "IP address or CIDR" in bad.text
        and 'value="not-an-ip"' in bad.text
    )
    assert (
        console.submit(
            "/ip-lists", "/ip-lists", {"list": "deny", "ip": "192.0.2.1", "expires": "1y"}
        ).status_code
        == 422
    )
    deleted = console.submit("/ip-lists", f"/ip-lists/{entry['id']}/delete", {})
    assert deleted.headers["location"] == "/ip-lists?done=ip-deleted"
    assert console.api("GET", "/ip-lists").json()["items"] == []
    assert console.submit("/ip-lists", f"/ip-lists/{entry['id']}/delete", {}).status_code == 404


def test_expired_entries_show_on_request(console: Console) -> None:
    console.api(
        "POST",
        "/ip-lists",
        json={"list": "gray", "ip": "192.0.2.9", "expires_at": time.time() - 10},
    )
    console.login()
    assert "192.0.2.9" not in console.page("/ip-lists").text
    shown = console.page("/ip-lists?include_expired=1").text
    assert "192.0.2.9/32" in shown and "expired" in shown


def test_deny_the_source_of_an_attack(console: Console) -> None:
    console.ingest(record("s1", client_ip="198.51.100.77"))
    console.login()
    response = console.submit(
        "/attacks/1",
        "/ip-lists",
        {"list": "deny", "ip": "198.51.100.77", "expires": "7d", "comment": "attack #1"},
    )
    assert response.status_code == 303
    entry = console.api("GET", "/ip-lists").json()["items"][0]
    assert (entry["ip"], entry["comment"]) == ("198.51.100.77/32", "attack #1")


def test_settings_add_change_and_delete_rules(console: Console) -> None:
    console.api("POST", "/nodes/register", json={"name": "pod-a", "group": "shop"})
    console.login()
    assert "No rules yet" in console.page("/settings").text
    assert (
        console.submit(
            "/settings",
            "/settings/rules",
            {"node_group": "", "application": "", "mode": "monitoring"},
        ).headers["location"]
        == "/settings?done=rule-saved"
    )
    console.submit(
        "/settings", "/settings/rules", {"node_group": "shop", "application": "", "mode": "block"}
    )
    console.submit(
        "/settings",
        "/settings/rules",
        {"node_group": "shop", "application": "admin", "mode": "off"},
    )
    rules = console.api("GET", "/settings").json()["rules"]
    assert {(r["node_group"], r["application"], r["mode"]) for r in rules} == {
        (None, None, "monitoring"),
        ("shop", None, "block"),
        ("shop", "admin", "off"),
    }
    # Change the mode of an existing rule: the same scope, a new mode.
    console.submit(
        "/settings",
        "/settings/rules",
        {"node_group": "shop", "application": "", "mode": "safe_blocking"},
    )
    config = console.api("GET", "/nodes/config?group=shop").json()["node_config"]
    assert config == {"version": 1, "mode": "safe_blocking", "applications": {"admin": "off"}}
    effective = rows(console.page("/settings").text, "effective")
    assert "safe_blocking" in effective[0] and "admin" in effective[0]
    deleted = console.submit(
        "/settings", "/settings/rules/delete", {"node_group": "shop", "application": "admin"}
    )
    assert deleted.headers["location"] == "/settings?done=rule-deleted"
    assert len(console.api("GET", "/settings").json()["rules"]) == 2
    bad = console.submit("/settings", "/settings/rules", {"node_group": "shop", "mode": "paranoid"})
    assert bad.status_code == 422 and "mode" in bad.text
    assert len(console.api("GET", "/settings").json()["rules"]) == 2


def test_root_and_stylesheet(console: Console) -> None:
    assert console.page("/").headers["location"] == "/attacks"
    css = console.page("/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "svg.chart" in css.text


def test_hostile_hit_times_do_not_break_the_pages(console: Console) -> None:
    console.ingest(record("t0", when=0), record("t1", when=1e12, client_ip="192.0.2.44"))
    # The API takes Infinity too (JSON's extension that Python parses).
    infinite = json.dumps({"records": [record("t2", when=float("inf"), client_ip="192.0.2.45")]})
    headers = {"Authorization": f"Bearer {console.admin}", "Content-Type": "application/json"}
    paths = ["/attacks", "/attacks?period=all", "/attacks/1", "/attacks/2"]
    if console.client.post("/api/v1/hits", content=infinite, headers=headers).status_code == 200:
        paths.append("/attacks/3")
    console.login()
    for path in paths:
        assert console.page(path).status_code == 200, path
    assert len(rows(console.page("/attacks?period=all").text, "attacks")) >= 2


def test_ids_that_are_not_rows_are_404_pages(console: Console) -> None:
    console.login()
    for path in ["/attacks/99999999999999999999", "/attacks/abc", "/attacks/-1", "/attacks/²"]:
        page = console.page(path)
        assert page.status_code == 404 and "no such attack" in page.text, path
    for action in [
        "/tokens/99999999999999999999/revoke",
        "/nodes/x/revoke",
        "/ip-lists/1e3/delete",
    ]:
        assert console.submit("/tokens", action, {}).status_code == 404, action
    for path in ["/attacks?offset=²", "/nodes?offset=٣", "/tokens?offset=²", "/ip-lists?offset=²"]:
        assert console.page(path).status_code == 200, path


def test_ip_list_pages_keep_their_filter(console: Console) -> None:
    for i in range(205):
        console.api("POST", "/ip-lists", json={"list": "deny", "ip": f"10.1.{i // 250}.{i % 250}"})
    console.api("POST", "/ip-lists", json={"list": "allow", "ip": "192.0.2.1"})
    console.login()
    first = console.page("/ip-lists?list=deny").text
    assert len(rows(first, "entries")) == 200 and "192.0.2.1/32" not in first
    found = re.search(r'href="(/ip-lists\?offset=200[^"]*)">Next', first)
    assert found, "no next page"
    second = console.page(html.unescape(found.group(1))).text
    assert len(rows(second, "entries")) == 5 and "192.0.2.1/32" not in second
