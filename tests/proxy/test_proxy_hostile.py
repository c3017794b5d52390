"""Hostile and malformed input: refused with the right status, never reaching the app."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.proxy.conftest import ProxyFactory
from tests.support import AppServer, connection, read_response

SMUGGLING = [
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
        400,
        id="cl-and-te",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd",
        400,
        id="duplicate-cl",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
        400,
        id="conflicting-cl",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        400,
        id="bad-chunk-size",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
        400,
        id="chunk-size-overflow",
    ),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n", 400, id="obs-fold"),
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        501,
        id="te-other-than-chunked",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
        b"\r\n\r\n0\r\n\r\n",
        400,
        id="te-twice",
    ),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, id="two-hosts"),
    pytest.param(b"GET / HTTP/1.1\r\n\r\n", 400, id="no-host"),
    pytest.param(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, id="http2-line"),
    pytest.param(b"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 405, id="connect"),
    pytest.param(b"GET / HTTP/1.1\nHost: a\n\n", 400, id="bare-lf"),
    pytest.param(b"GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n", 400, id="nul-in-target"),
    pytest.param(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, id="space-before-colon"),
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, id="negative-cl"
    ),
    pytest.param(
        b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 400, id="unknown-expectation"
    ),
]


@pytest.mark.parametrize(("raw", "status"), SMUGGLING)
async def test_smuggling_shaped_requests_are_refused(
    start_proxy: ProxyFactory, app: AppServer, raw: bytes, status: int
) -> None:
    proxy = await start_proxy(mode="off")  # framing is checked before and without detection
    async with connection(proxy.port) as (reader, writer):
        writer.write(raw)
        response = await read_response(reader)
        assert response.status == status
        assert response.headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 5) == b""  # and the connection is closed
    assert app.requests == []
    assert proxy.stats.bad_requests == 1


async def test_oversized_head_gets_431(start_proxy: ProxyFactory, app: AppServer) -> None:
    proxy = await start_proxy(max_header_size=4096)
    async with connection(proxy.port) as (reader, writer):
        writer.write(b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n")
        assert (await read_response(reader)).status == 431
    async with connection(proxy.port) as (reader, writer):
        writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-Many: 1\r\n" * 150 + b"\r\n")
        assert (await read_response(reader)).status == 431
    async with connection(proxy.port) as (reader, writer):
        # A head that never ends is cut off without being buffered forever.
        writer.write(b"GET / HTTP/1.1\r\nHost: a\r\nX-Endless: ")
        for _ in range(40):
            writer.write(b"b" * 4096)
        assert (await read_response(reader)).status == 431
    assert app.requests == []


async def test_oversized_body_gets_413(start_proxy: ProxyFactory, app: AppServer) -> None:
    proxy = await start_proxy(max_body_size=1000)
    async with connection(proxy.port) as (reader, writer):
        writer.write(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n")
        assert (await read_response(reader)).status == 413
    async with connection(proxy.port) as (reader, writer):
        writer.write(
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"200\r\n"
            + b"x" * 512
            + b"\r\n"
            + b"200\r\n"
            + b"x" * 512
            + b"\r\n"
        )
        assert (await read_response(reader)).status == 413
    assert app.requests == []


async def test_slow_clients_get_408(start_proxy: ProxyFactory, app: AppServer) -> None:
    proxy = await start_proxy(client_header_timeout=0.3, client_body_timeout=0.3)
    async with connection(proxy.port) as (reader, writer):
        writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n")  # and then nothing
        assert (await read_response(reader)).status == 408
    async with connection(proxy.port) as (reader, writer):
        # Slowloris: a byte at a time does not extend the header deadline.
        for byte in b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: 1":
            if writer.is_closing() or reader.at_eof() or len(reader._buffer):  # type: ignore[attr-defined]
                break
            writer.write(bytes([byte]))
            await asyncio.sleep(0.02)
        assert (await read_response(reader)).status == 408
    async with connection(proxy.port) as (reader, writer):
        writer.write(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        assert (await read_response(reader)).status == 408
    assert app.requests == []


async def test_idle_keep_alive_connection_is_closed(start_proxy: ProxyFactory) -> None:
    proxy = await start_proxy(keepalive_timeout=0.2)
    async with connection(proxy.port) as (reader, writer):
        writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert (await read_response(reader)).status == 200
        assert await asyncio.wait_for(reader.read(), 5) == b""


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(garbage=st.binary(min_size=1, max_size=600))
async def test_no_input_crashes_the_worker(start_proxy: ProxyFactory, garbage: bytes) -> None:
    proxy = getattr(test_no_input_crashes_the_worker, "_proxy", None)
    if proxy is None or proxy.server.get_loop() is not asyncio.get_running_loop():
        proxy = await start_proxy(client_header_timeout=0.5)
        test_no_input_crashes_the_worker._proxy = proxy  # type: ignore[attr-defined]
    for payload in (
        garbage,
        b"GET /" + garbage + b" HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + garbage,
    ):
        async with connection(proxy.port) as (reader, writer):
            writer.write(payload)
            writer.write_eof()
            await asyncio.wait_for(reader.read(), 5)
    async with connection(proxy.port) as (reader, writer):
        writer.write(b"GET /still-alive HTTP/1.1\r\nHost: a\r\n\r\n")
        assert (await read_response(reader)).status == 200
