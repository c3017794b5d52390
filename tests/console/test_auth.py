"""Console login, sessions, CSRF and read-only tokens, over HTTP."""

from __future__ import annotations

import datetime
import os
import ssl
import stat
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.console.conftest import ADMIN, Console, cloud_process, csrf_of, record
from wallarm_sidecar.certgen import generate_bundle
from wallarm_sidecar.cloud import create_app
from wallarm_sidecar.cloud._tokens import hash_secret
from wallarm_sidecar.cloud.console._routes import secret_path
from wallarm_sidecar.cloud.console._session import (
    SECRET_FILE,
    SESSION_COOKIE,
    ConsoleSecret,
    issue_session,
)

PAGES = ["/attacks", "/attacks/1", "/nodes", "/tokens", "/ip-lists", "/settings"]
FORMS = [
    "/logout",
    "/tokens",
    "/tokens/1/revoke",
    "/nodes/1/revoke",
    "/ip-lists",
    "/ip-lists/1/delete",
    "/settings/rules",
    "/settings/rules/delete",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_without_a_session_go_to_the_login_page(console: Console, path: str) -> None:
    response = console.page(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + path.replace("/", "%2F")


@pytest.mark.parametrize("path", FORMS)
def test_forms_without_a_session_go_to_the_login_page(console: Console, path: str) -> None:
    response = console.client.post(path, data={"csrf": "x"}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_login_sets_a_strict_http_only_session_cookie(console: Console) -> None:
    response = console.login()
    assert (response.status_code, response.headers["location"]) == (303, "/attacks")
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert "secure" not in flags  # plain HTTP here; see the HTTPS test
    assert ADMIN not in cookie and hash_secret(ADMIN) not in cookie
    assert console.page("/attacks").status_code == 200
    assert console.page("/login").headers["location"] == "/attacks"


def test_over_https_the_cookie_is_secure(console: Console) -> None:
    app = console.client.app
    with TestClient(app, base_url="https://testserver") as client:  # type: ignore[arg-type]
        page = client.get("/login")
        response = client.post(
            "/login",
            data={"token": ADMIN, "csrf": csrf_of(page.text)},
            follow_redirects=False,
        )
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_a_wrong_token_is_refused_without_a_session(console: Console) -> None:
    response = console.login("wsk_not-a-token-of-this-cloud")
    assert response.status_code == 401
    assert "Unknown or revoked token" in response.text
    assert SESSION_COOKIE + "=" not in response.headers.get("set-cookie", "")
    assert console.page("/attacks").status_code == 303


def test_node_tokens_and_node_credentials_do_not_log_in(console: Console) -> None:
    _, node_token = console.token("node", group="shop")
    assert console.login(node_token).status_code == 403
    registered = console.api("POST", "/nodes/register", json={"name": "pod-1"})
    assert console.login(registered.json()["node_credential"]).status_code == 401
    assert console.page("/attacks").status_code == 303


def test_the_login_form_needs_its_csrf_token(console: Console) -> None:
    console.page("/login")
    response = console.client.post(
        "/login", data={"token": ADMIN, "csrf": "forged"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert SESSION_COOKIE + "=" not in response.headers.get("set-cookie", "")


def test_after_login_only_console_pages_of_this_site(console: Console) -> None:
    for target, expected in [
        ("/tokens", "/tokens"),
        ("/attacks/3?type=xss", "/attacks/3?type=xss"),
        ("//evil.example/attacks", "/attacks"),
        ("https://evil.example/", "/attacks"),
        ("/attacks\r\nSet-Cookie: x=1", "/attacks"),
    ]:
        console.client.cookies.clear()
        page = console.client.get("/login")
        response = console.client.post(
            "/login",
            data={"token": ADMIN, "csrf": csrf_of(page.text), "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == expected


def test_a_revoked_token_ends_its_sessions(console: Console) -> None:
    token_id, token = console.token("read-only")
    assert console.login(token).status_code == 303
    assert console.page("/attacks").status_code == 200
    assert console.api("POST", f"/tokens/{token_id}/revoke").status_code == 200
    response = console.page("/attacks")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert console.login(token).status_code == 401


def test_tampered_and_expired_cookies_are_refused(console: Console) -> None:
    console.login()
    good = console.client.cookies[SESSION_COOKIE]
    version, token_id, expires, nonce, mac = good.split(".")
    key = ConsoleSecret(secret_path(console.database)).key
    expired = issue_session(
        key, token_id=1, token_hash=hash_secret(ADMIN), now=time.time() - 100, lifetime=50
    )
    other_key = issue_session(b"k" * 32, token_id=1, token_hash=hash_secret(ADMIN), now=time.time())
    for forged in [
        f"{version}.{token_id}.{int(expires) + 999}.{nonce}.{mac}",  # longer life
        f"{version}.2.{expires}.{nonce}.{mac}",  # another token
        expired,
        other_key,
        "garbage",
        "v1.1.99999999999.n." + "A" * 400,
    ]:
        console.client.cookies.set(SESSION_COOKIE, forged)
        assert console.page("/attacks").status_code == 303, forged
    console.client.cookies.set(SESSION_COOKIE, good)
    assert console.page("/attacks").status_code == 200


def test_logout_needs_the_csrf_token_and_clears_the_session(console: Console) -> None:
    console.login()
    refused = console.client.post("/logout", data={"csrf": "nope"}, follow_redirects=False)
    assert refused.status_code == 403
    assert console.page("/attacks").status_code == 200
    response = console.submit("/attacks", "/logout", {})
    assert (response.status_code, response.headers["location"]) == (
        303,
        "/login?done=logged-out",
    )
    assert console.page("/attacks").status_code == 303
    assert "You have logged out." in console.page("/login?done=logged-out").text


def test_every_form_refuses_a_missing_or_foreign_csrf_token(console: Console) -> None:
    # Another session's token is no good either.
    console.login()
    foreign = csrf_of(console.page("/ip-lists").text)
    console.client.cookies.clear()
    console.login()
    for csrf in ["", "x" * 32, foreign]:
        for path in FORMS:
            data = {"csrf": csrf, "list": "deny", "ip": "203.0.113.1", "usage": "read-only"}
            response = console.client.post(path, data=data, follow_redirects=False)
            assert response.status_code == 403, (path, response.text)
    assert console.api("GET", "/ip-lists").json()["items"] == []
    assert len(console.api("GET", "/tokens").json()["items"]) == 1


def test_forms_are_url_encoded_and_bounded(console: Console) -> None:
    console.login()
    csrf = csrf_of(console.page("/ip-lists").text)
    as_json = console.client.post("/ip-lists", json={"csrf": csrf}, follow_redirects=False)
    assert as_json.status_code == 415
    big = console.client.post(
        "/ip-lists", data={"csrf": csrf, "comment": "x" * 70_000}, follow_redirects=False
    )
    assert big.status_code == 413
    assert console.page("/attacks").status_code == 200  # the process keeps serving


def test_read_only_sees_everything_and_changes_nothing(console: Console) -> None:
    _, reader = console.token("read-only")
    console.api("PUT", "/settings", json={"rules": [{"mode": "block"}]})
    console.api("POST", "/ip-lists", json={"list": "deny", "ip": "203.0.113.7"})
    console.api("POST", "/nodes/register", json={"name": "pod-1"})
    console.ingest(record("r1"))
    assert console.login(reader).status_code == 303
    for path in ["/attacks", "/attacks/1", "/nodes", "/tokens", "/ip-lists", "/settings"]:
        page = console.page(path)
        assert page.status_code == 200, path
        assert "read-only" in page.text
        # Only the logout form posts.
        assert page.text.count('method="post"') == 1, path
    assert "203.0.113.7/32" in console.page("/ip-lists").text
    assert ">block<" in console.page("/settings").text
    for path in FORMS[1:]:
        data = {"list": "deny", "ip": "203.0.113.9", "usage": "deployment", "mode": "off"}
        response = console.submit("/attacks", path, data)
        assert response.status_code == 403, path
        assert "read-only" in response.text
    assert len(console.api("GET", "/tokens").json()["items"]) == 2
    assert len(console.api("GET", "/ip-lists").json()["items"]) == 1
    assert console.api("GET", "/settings").json()["rules"][0]["mode"] == "block"
    assert console.api("GET", "/nodes").json()["items"][0]["id"] == 1
    assert console.submit("/attacks", "/logout", {}).status_code == 303


def test_the_secret_is_private_and_survives_a_restart(console: Console) -> None:
    console.login()
    path = secret_path(console.database)
    assert path is not None and path.name == SECRET_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    cookie = console.client.cookies[SESSION_COOKIE]
    with TestClient(create_app(console.database)) as restarted:
        restarted.cookies.set(SESSION_COOKIE, cookie)
        assert restarted.get("/attacks", follow_redirects=False).status_code == 200


def test_pages_forbid_scripts_and_framing(console: Console) -> None:
    console.login()
    for path in ["/login", "/attacks", "/settings"]:
        headers = console.page(path).headers
        assert "script-src" not in headers["content-security-policy"]
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"


def test_the_console_stays_out_of_the_openapi_document(console: Console) -> None:
    paths = console.client.get("/openapi.json").json()["paths"]
    assert all(path.startswith("/api/v1/") for path in paths)


def test_a_tls_cloud_sets_a_secure_cookie(tmp_path: Path) -> None:
    bundle = generate_bundle(["127.0.0.1"], now=datetime.datetime.now(datetime.UTC))
    (tmp_path / "tls.crt").write_bytes(bundle.cert)
    (tmp_path / "tls.key").write_bytes(bundle.key)
    trust = ssl.create_default_context(cadata=bundle.ca.decode())
    tls = (
        "--tls-cert-file",
        str(tmp_path / "tls.crt"),
        "--tls-key-file",
        str(tmp_path / "tls.key"),
    )
    with (
        cloud_process(tmp_path / "data", ADMIN, *tls, verify=trust) as base,
        httpx.Client(base_url=base, verify=trust) as client,
    ):
        page = client.get("/login")
        response = client.post("/login", data={"token": ADMIN, "csrf": csrf_of(page.text)})
        assert response.status_code == 303
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")
        )
        assert {"secure", "httponly", "samesite=strict"} <= {
            part.strip().lower() for part in cookie.split(";")
        }
        assert client.get("/attacks").status_code == 200  # the client sends it back over TLS
