"""A Cloud with its Console over a fresh SQLite file per test, through FastAPI's TestClient."""

from __future__ import annotations

import contextlib
import io
import os
import re
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support import free_port
from wallarm_sidecar.cloud import Database, bootstrap_admin, create_app, database_url

ADMIN = "wsk_admin-token-for-the-console-tests"
#: Attacker-chosen text in hits: must come back escaped on every page.
XSS_FRAGMENT = "<script>window.__pwned=1</script>"
XSS_ATTRIBUTE = '"><img src=x onerror="window.__pwned=2">'
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def record(
    request_id: str,
    *,
    attack_type: str = "ptrav",
    fragment: str = "../",
    point: str = "uri",
    blocked: bool = False,
    when: float | None = None,
    application: str = "shop",
    client_ip: str = "198.51.100.9",
    path: str = "/etc/passwd",
    node: str = "pod-1",
) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "time": time.time() if when is None else when,
        "node": node,
        "application": application,
        "client_ip": client_ip,
        "method": "GET",
        "host": "app.example",
        "path": path,
        "status": 403 if blocked else 404,
        "blocked": blocked,
        "mode": "block" if blocked else "monitoring",
        "hits": [
            {
                "attack_type": attack_type,
                "point": point,
                "fragment": fragment,
                "rule_id": "930100",
                "blocked": blocked,
            }
        ],
    }


@dataclass
class Console:
    client: TestClient
    database: Database
    admin: str

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token or self.admin}"}
        return self.client.request(method, "/api/v1" + path, headers=headers, **kwargs)

    def token(self, usage: str, group: str | None = None) -> tuple[int, str]:
        body: dict[str, Any] = {"usage": usage, **({"group": group} if group else {})}
        response = self.api("POST", "/tokens", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"]), str(response.json()["token"])

    def ingest(self, *records: dict[str, Any], token: str | None = None) -> None:
        response = self.api("POST", "/hits", token, json={"records": list(records)})
        assert response.status_code == 200, response.text
        assert response.json()["stored"] == sum(len(r["hits"]) for r in records)

    def login(self, token: str | None = None) -> Any:
        """Log in through the form; the client keeps the session cookie."""
        page = self.client.get("/login")
        assert page.status_code == 200
        return self.client.post(
            "/login",
            data={"token": token or self.admin, "csrf": csrf_of(page.text), "next": "/attacks"},
            follow_redirects=False,
        )

    def page(self, path: str) -> Any:
        return self.client.get(path, follow_redirects=False)

    def submit(self, page_path: str, action: str, data: dict[str, str]) -> Any:
        """POST a form of `page_path` (its CSRF token taken from that page)."""
        page = self.page(page_path)
        assert page.status_code == 200, page.text
        return self.client.post(
            action, data={"csrf": csrf_of(page.text), **data}, follow_redirects=False
        )


def open_console(url: str) -> Iterator[Console]:
    database = Database(url)
    database.migrate()
    bootstrap_admin(database, ADMIN, io.StringIO())
    with TestClient(create_app(database), base_url="http://testserver") as client:
        yield Console(client=client, database=database, admin=ADMIN)
    database.dispose()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """The Console over a SQLite file."""
    yield from open_console(database_url(tmp_path, None))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_console(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Console]:
    """The Console over a SQLite file, and over a new PostgreSQL database."""
    if request.param == "sqlite":
        yield from open_console(database_url(tmp_path, None))
        return
    server = request.getfixturevalue("postgres")
    name = server.create_database()
    try:
        yield from open_console(server.url(name))
    finally:
        server.drop_database(name)


@contextlib.contextmanager
def cloud_process(
    data_dir: Path, admin: str, *args: str, verify: ssl.SSLContext | bool = True
) -> Iterator[str]:
    """A real `wallarm-sidecar cloud` on loopback (HTTPS with --tls-* args); its base URL."""
    port = free_port()
    scheme = "https" if "--tls-cert-file" in args else "http"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wallarm_sidecar",
            "cloud",
            "--listen",
            f"127.0.0.1:{port}",
            "--data-dir",
            str(data_dir),
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "WALLARM_CLOUD_ADMIN_TOKEN": admin},
    )
    base = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/login", timeout=2, verify=verify)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the Cloud did not start"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
