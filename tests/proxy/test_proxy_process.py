"""`wallarm-sidecar proxy` as a process: workers, status, metrics, shutdown, bad config."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import AppServer, connection, free_port, read_response


def proxy_env(tmp_path: Path, app_port: int, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "WALLARM_MODE": "monitoring",
            "NGINX_LISTEN_PORT": f"127.0.0.1:{free_port()}",
            "NGINX_PROXY_PASS_PORT": str(app_port),
            "NGINX_STATUS_PORT": f"127.0.0.1:{free_port()}",
            "NGINX_WALLARM_METRICS_PORT": f"127.0.0.1:{free_port()}",
            "NGINX_WORKER_PROCESSES": "2",
            "WALLARM_WSTORE_PORT": str(free_port()),
            "WALLARM_NODE_DIR": str(tmp_path / "node"),
            "WALLARM_ACL_DIR": str(tmp_path / "acl"),
            "WALLARM_ACCESS_LOG": "off",
        }
    )
    env.update(extra)
    return env


def port_of(value: str) -> int:
    return int(value.rpartition(":")[2])


def http_get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_ready(status_port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the proxy exited during start-up"
        try:
            if http_get(status_port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("the proxy did not become ready")


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def start(env: dict[str, str], spawn: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "wallarm_sidecar", "proxy"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    spawn.append(process)
    return process


async def test_status_and_metrics_sum_all_workers(
    app: AppServer, tmp_path: Path, spawn: list[subprocess.Popen[bytes]]
) -> None:
    env = proxy_env(tmp_path, app.port)
    process = start(env, spawn)
    status_port = port_of(env["NGINX_STATUS_PORT"])
    await asyncio.to_thread(wait_ready, status_port, process)
    listen = port_of(env["NGINX_LISTEN_PORT"])
    for index in range(40):  # separate connections: the kernel spreads them over workers
        async with connection(listen) as (reader, writer):
            path = b"/etc/passwd" if index % 4 == 0 else b"/ok"
            writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n")
            assert (await read_response(reader)).status == 200
    await asyncio.sleep(1.0)  # current within a second
    code, body = await asyncio.to_thread(http_get, status_port, "/wallarm-status")
    document = json.loads(body)
    assert code == 200
    assert document["requests"] == 40 and document["attacks"] == 10
    assert document["workers"] == 2 and document["stalled_workers_count"] == 0
    assert document["tnt_errors"] >= 1  # postanalytics is absent in this test
    code, metrics = await asyncio.to_thread(
        http_get, port_of(env["NGINX_WALLARM_METRICS_PORT"]), "/wallarm-metrics"
    )
    assert code == 200
    assert b"wallarm_requests 40.0" in metrics and b"wallarm_attacks 10.0" in metrics
    assert b"wallarm_requests_lost" in metrics and b"wallarm_time_detect" in metrics


async def test_sigterm_drains_in_flight_requests(
    app: AppServer, tmp_path: Path, spawn: list[subprocess.Popen[bytes]]
) -> None:
    env = proxy_env(tmp_path, app.port, NGINX_WORKER_PROCESSES="1")
    process = start(env, spawn)
    await asyncio.to_thread(wait_ready, port_of(env["NGINX_STATUS_PORT"]), process)
    async with connection(port_of(env["NGINX_LISTEN_PORT"])) as (reader, writer):
        writer.write(b"GET /slow?s=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        await asyncio.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        response = await read_response(reader)
    assert response.status == 200 and response.body == b"GET /slow?s=1 0"
    assert await asyncio.to_thread(process.wait, 15) == 0


async def test_a_killed_worker_is_restarted(
    app: AppServer, tmp_path: Path, spawn: list[subprocess.Popen[bytes]]
) -> None:
    env = proxy_env(tmp_path, app.port, NGINX_WORKER_PROCESSES="1")
    process = start(env, spawn)
    status_port = port_of(env["NGINX_STATUS_PORT"])
    await asyncio.to_thread(wait_ready, status_port, process)
    children = subprocess.run(
        ["ps", "-ww", "-o", "pid=,args=", "--ppid", str(process.pid)],
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    workers = [line.split()[0] for line in children if "spawn_main" in line]
    assert len(workers) == 1
    os.kill(int(workers[0]), signal.SIGKILL)
    await asyncio.sleep(1.0)
    await asyncio.to_thread(wait_ready, status_port, process)
    async with connection(port_of(env["NGINX_LISTEN_PORT"])) as (reader, writer):
        writer.write(b"GET /again HTTP/1.1\r\nHost: a\r\n\r\n")
        assert (await read_response(reader)).status == 200


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WALLARM_MODE", "bogus"),
        ("NGINX_LISTEN_PORT", "70000"),
        ("NGINX_WORKER_PROCESSES", "many"),
        ("NGINX_SET_REAL_IP_FROM", "10.0.0.0/33"),
        ("WALLARM_UPSTREAM_RECONNECT_INTERVAL", "soon"),
        ("WALLARM_PARSER_DISABLE", "json;yaml"),
        ("WALLARM_BLOCK_PAGE", "&/nonexistent/page.html"),
    ],
)
def test_invalid_configuration_stops_start_up_with_one_line(
    tmp_path: Path, variable: str, value: str
) -> None:
    env = proxy_env(tmp_path, free_port(), **{variable: value})
    result = subprocess.run(
        [sys.executable, "-m", "wallarm_sidecar", "proxy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert variable in lines[0] and repr(value) in lines[0]
