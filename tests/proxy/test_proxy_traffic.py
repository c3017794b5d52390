"""The proxy end to end on loopback: forwarding, framing, keep-alive, streaming."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.proxy.conftest import ProxyFactory
from tests.support import AppServer, connection, read_response


async def request(
    port: int, raw: bytes, *, head: bool = False
) -> tuple[int, dict[str, str], bytes]:
    async with connection(port) as (reader, writer):
        writer.write(raw)
        response = await read_response(reader, head_request=head)
        return response.status, response.headers, response.body


async def test_get_is_forwarded_with_forwarding_headers(
    start_proxy: ProxyFactory, app: AppServer
) -> None:
    proxy = await start_proxy()
    status, _, body = await request(
        proxy.port,
        b"GET /hello?x=1 HTTP/1.1\r\nHost: shop\r\nX-Forwarded-For: 198.51.100.7\r\n\r\n",
    )
    assert (status, body) == (200, b"GET /hello?x=1 0")
    received = app.requests[0]
    assert received.headers["x-forwarded-for"] == "198.51.100.7, 127.0.0.1"
    assert received.headers["x-real-ip"] == "198.51.100.7"  # 127.0.0.1 is a trusted proxy
    assert received.headers["host"] == "shop"


async def test_keep_alive_on_both_sides(start_proxy: ProxyFactory, app: AppServer) -> None:
    proxy = await start_proxy()
    async with connection(proxy.port) as (reader, writer):
        for index in range(5):
            writer.write(b"GET /n/%d HTTP/1.1\r\nHost: a\r\n\r\n" % index)
            response = await read_response(reader)
            assert response.body == b"GET /n/%d 0" % index
    assert app.connections == 1
    assert len(app.requests) == 5


async def test_pipelined_requests_are_answered_in_order(
    start_proxy: ProxyFactory, app: AppServer
) -> None:
    proxy = await start_proxy()
    async with connection(proxy.port) as (reader, writer):
        writer.write(
            b"GET /slow?s=0.2 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"POST /second HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
            b"GET /third HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        data = b""
        while data.count(b"HTTP/1.1 200") < 3:
            chunk = await asyncio.wait_for(reader.read(65536), 5)
            assert chunk
            data += chunk
    first, second, third = (data.index(m) for m in (b"/slow", b"/second 3", b"/third 0"))
    assert first < second < third


async def test_chunked_request_and_response(start_proxy: ProxyFactory, app: AppServer) -> None:
    proxy = await start_proxy()
    status, _, body = await request(
        proxy.port,
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
    )
    assert (status, body) == (200, b"POST /up 7")
    assert app.requests[0].body == b"abcdefg"
    status, headers, body = await request(proxy.port, b"GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (status, body, headers["transfer-encoding"]) == (200, b"hello world", "chunked")


async def test_large_bodies_stream_both_ways(start_proxy: ProxyFactory, app: AppServer) -> None:
    proxy = await start_proxy(inspect_body_limit=1024)
    payload = bytes(range(256)) * 8192  # 2 MiB, far past the inspected part
    async with connection(proxy.port) as (reader, writer):
        writer.write(b"PUT /blob HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(payload))
        for offset in range(0, len(payload), 65536):
            writer.write(payload[offset : offset + 65536])
            await writer.drain()
        response = await read_response(reader)
    assert response.body == b"PUT /blob %d" % len(payload)
    assert app.requests[0].body == payload
    status, _, body = await request(proxy.port, b"GET /big?n=3000000 HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status == 200 and len(body) == 3_000_000


async def test_expect_100_continue(start_proxy: ProxyFactory, app: AppServer) -> None:
    proxy = await start_proxy()
    async with connection(proxy.port) as (reader, writer):
        writer.write(
            b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        writer.write(b"hello")
        response = await read_response(reader)
    assert response.body == b"POST /form 5"
    assert "expect" not in app.requests[0].headers


async def test_head_and_bodyless_statuses_keep_the_connection_usable(
    start_proxy: ProxyFactory,
) -> None:
    proxy = await start_proxy()
    async with connection(proxy.port) as (reader, writer):
        writer.write(b"HEAD /thing HTTP/1.1\r\nHost: a\r\n\r\n")
        response = await read_response(reader, head_request=True)
        assert response.status == 200 and response.headers["content-length"] == "13"
        for status in (204, 304):
            writer.write(b"GET /status/%d HTTP/1.1\r\nHost: a\r\n\r\n" % status)
            assert (await read_response(reader, head_request=True)).status == status
        writer.write(b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
        assert (await read_response(reader)).body == b"GET /after 0"


async def test_connection_close_and_eof_delimited_responses(start_proxy: ProxyFactory) -> None:
    proxy = await start_proxy()
    status, _, body = await request(proxy.port, b"GET /eof HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (status, body) == (200, b"until-the-end")
    status, headers, body = await request(proxy.port, b"GET /close HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (status, body, headers["connection"]) == (200, b"ok", "close")


async def test_websocket_upgrade_is_tunnelled(start_proxy: ProxyFactory) -> None:
    proxy = await start_proxy()
    async with connection(proxy.port) as (reader, writer):
        writer.write(
            b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101")
        writer.write(b"frame-1")
        assert await asyncio.wait_for(reader.readexactly(12), 5) == b"echo:frame-1"
        writer.write(b"frame-2")
        assert await asyncio.wait_for(reader.readexactly(12), 5) == b"echo:frame-2"


async def test_upstream_down_gives_502_quickly(start_proxy: ProxyFactory) -> None:
    from tests.support import free_port

    proxy = await start_proxy(upstream_port=free_port())
    started = time.monotonic()
    status, headers, _ = await request(proxy.port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status == 502 and headers["x-request-id"]
    assert time.monotonic() - started < 3  # refused, not a timeout
    assert proxy.stats.upstream_errors == 1


async def test_slow_upstream_gives_504(start_proxy: ProxyFactory) -> None:
    proxy = await start_proxy(upstream_read_timeout=0.3)
    status, _, _ = await request(proxy.port, b"GET /slow?s=2 HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status == 504
    assert proxy.stats.upstream_timeouts == 1


async def test_stale_pooled_connection_is_retried_for_idempotent_requests(
    start_proxy: ProxyFactory, app: AppServer
) -> None:
    proxy = await start_proxy()
    status, _, _ = await request(proxy.port, b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status == 200
    # The application drops its side of the idle pooled connection while the proxy is
    # not looking (reading paused), as happens when both race.
    idle = proxy.worker.pool.idle[0]
    idle.transport.pause_reading()
    for writer in app.writers:
        writer.close()
    await asyncio.sleep(0.1)
    status, _, body = await request(proxy.port, b"GET /two HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (status, body) == (200, b"GET /two 0")
    assert app.connections == 2


@pytest.mark.parametrize("workers", [1])
async def test_many_concurrent_clients(
    start_proxy: ProxyFactory, app: AppServer, workers: int
) -> None:
    proxy = await start_proxy()

    async def one(index: int) -> bytes:
        _, _, body = await request(
            proxy.port, b"GET /c/%d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % index
        )
        return body

    bodies = await asyncio.gather(*(one(i) for i in range(200)))
    assert bodies == [b"GET /c/%d 0" % i for i in range(200)]


async def test_http10_clients_get_an_http10_exchange(
    start_proxy: ProxyFactory, app: AppServer
) -> None:
    proxy = await start_proxy()
    async with connection(proxy.port) as (reader, writer):
        writer.write(b"GET /chunked HTTP/1.0\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), 5)  # the proxy closes after it
    assert data.startswith(b"HTTP/1.1 200")
    assert app.requests[0].headers.get("connection") == "close"
