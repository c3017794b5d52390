"""`wallarm-sidecar cloud`: the first start's admin token, and `cloud token create`."""

from __future__ import annotations

import datetime
import io
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support import free_port
from wallarm_sidecar.certgen import generate_bundle
from wallarm_sidecar.cli import main
from wallarm_sidecar.cloud import CloudSettings, bootstrap_admin, create_app, open_database

COMMAND = [sys.executable, "-m", "wallarm_sidecar", "cloud"]


def create(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, "token", "create", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_token_create_prints_the_token_last_and_stores_its_hash(tmp_path: Path) -> None:
    result = create(tmp_path, "--usage", "node", "--group", "shop")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("wsk_") and len(token) > 40
    assert token.encode() not in (tmp_path / "cloud.sqlite3").read_bytes()
    assert create(tmp_path, "--usage", "read-only").returncode == 0
    refused = create(tmp_path, "--usage", "node")
    assert refused.returncode == 2 and "--group" in refused.stderr
    assert create(tmp_path, "--usage", "root").returncode == 2


def wait_for(url: str, token: str, verify: ssl.SSLContext | bool = True) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(url, headers={"Authorization": f"Bearer {token}"}, verify=verify)
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the Cloud did not start"
            time.sleep(0.05)


def test_first_start_creates_an_admin_token_printed_once(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "WALLARM_CLOUD_DATA_DIR": str(tmp_path)}
    env.pop("WALLARM_CLOUD_ADMIN_TOKEN", None)

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*COMMAND, "--listen", f"127.0.0.1:{port}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    server = start()
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        while line and not line.startswith("WALLARM_CLOUD_ADMIN_TOKEN="):
            line = server.stdout.readline()
        admin = line.strip().partition("=")[2]
        assert admin.startswith("wsk_"), line
        url = f"http://127.0.0.1:{port}/api/v1/tokens"
        response = wait_for(url, admin)
        assert response.status_code == 200
        assert [t["usage"] for t in response.json()["items"]] == ["deployment"]
        assert httpx.get(url).status_code == 401
    finally:
        server.terminate()
        server.communicate(timeout=10)
    assert admin.encode() not in (tmp_path / "cloud.sqlite3").read_bytes()
    # The second start finds a token and prints none.
    second = start()
    try:
        assert wait_for(url, admin).status_code == 200
    finally:
        second.terminate()
        out, _ = second.communicate(timeout=10)
    assert "WALLARM_CLOUD_ADMIN_TOKEN" not in out


def test_a_given_admin_token_is_stored_once_by_hash_and_printed_never(tmp_path: Path) -> None:
    given = "wsk_given-admin-token-for-automation"
    assert create(tmp_path, "--usage", "read-only").returncode == 0
    database = open_database(CloudSettings(data_dir=tmp_path, admin_token=given))
    try:
        out = io.StringIO()
        bootstrap_admin(database, given, out)
        bootstrap_admin(database, given, out)
        assert out.getvalue() == ""
        with TestClient(create_app(database)) as client:
            listed = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {given}"})
        assert listed.status_code == 200
        assert sorted(t["usage"] for t in listed.json()["items"]) == ["deployment", "read-only"]
    finally:
        database.dispose()


def test_bad_options_exit_2_naming_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cloud", "--data-dir", str(tmp_path), "--tls-cert-file", "x"]) == 2
    assert "--tls-key-file" in capsys.readouterr().err
    assert main(["cloud", "--listen", "127.0.0.1:99999"]) == 2
    assert "--listen" in capsys.readouterr().err
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert main(["cloud", "token", "create", "--data-dir", str(blocked), "--usage", "node",
                 "--group", "g"]) == 2  # fmt: skip
    assert "cannot open the database" in capsys.readouterr().err
    url = "postgresql+nosuchdriver://user:secret@localhost/db"
    assert main(["cloud", "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert "cannot open the database" in err and "secret" not in err


def test_it_serves_https_with_a_certificate_and_key(tmp_path: Path) -> None:
    bundle = generate_bundle(["127.0.0.1"], now=datetime.datetime.now(datetime.UTC))
    (tmp_path / "tls.crt").write_bytes(bundle.cert)
    (tmp_path / "tls.key").write_bytes(bundle.key)
    port = free_port()
    admin = "wsk_admin-token-given-by-the-environment"
    env = {**os.environ, "WALLARM_CLOUD_ADMIN_TOKEN": admin}
    server = subprocess.Popen(
        [
            *COMMAND,
            "--listen",
            f"127.0.0.1:{port}",
            "--data-dir",
            str(tmp_path / "data"),
            "--tls-cert-file",
            str(tmp_path / "tls.crt"),
            "--tls-key-file",
            str(tmp_path / "tls.key"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        trust = ssl.create_default_context(cadata=bundle.ca.decode())
        response = wait_for(f"https://127.0.0.1:{port}/api/v1/attacks", admin, trust)
        assert response.status_code == 200
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    assert admin not in out
