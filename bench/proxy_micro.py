"""Microbenchmark of the proxy's own per-request work, without sockets.

Drives `ClientConnection` and `UpstreamConnection` with in-memory transports, so the
figure is the Python cost of one request through the node (framing, decisions,
detection, record, keep-alive bookkeeping) with no syscalls and no scheduler noise.

    PYTHONPATH=src python bench/proxy_micro.py [--requests 20000] [--mode block] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import time
from typing import Any

from wallarm_sidecar.proxy._server import ClientConnection, UpstreamConnection, Worker
from wallarm_sidecar.proxy._settings import ProxySettings
from wallarm_sidecar.proxy._stats import WorkerStats

SHAPES = {
    "wrk-get": b"GET /api/items?page=2&sort=name HTTP/1.1\r\nHost: localhost:19201\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) wallarm-sidecar-bench/1.0\r\n"
    b"Accept: application/json\r\n\r\n",
    "get": b"GET /api/items?page=2&sort=name HTTP/1.1\r\nHost: localhost\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36\r\n"
    b"Accept: application/json\r\nAccept-Language: en-US,en;q=0.9\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\nCookie: session=3f2a9c1e7b; theme=dark\r\n"
    b"Referer: https://shop.example.com/catalog\r\nConnection: keep-alive\r\n\r\n",
    "post": b"POST /api/orders HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n",
    "attack": b"GET /search?q=1%27%20OR%20%271%27%3D%271 HTTP/1.1\r\nHost: localhost\r\n\r\n",
}
JSON_BODY = (
    b'{"customer":{"id":48213,"name":"Ada Lovelace","email":"ada@example.com",'
    b'"address":{"street":"12 Analytical Row","city":"London","zip":"NW1 6XE"}},'
    b'"items":[{"sku":"BK-1843","title":"Notes on the Analytical Engine","qty":1,'
    b'"price":39.5},{"sku":"PN-0007","title":"Fountain pen, medium nib","qty":2,'
    b'"price":12.25}],"note":"Please gift-wrap the book and leave the parcel with the '
    b'concierge if nobody answers; we will be back after 6 pm.","coupon":"WINTER-10",'
    b'"payment":{"method":"card","last4":"4242","expires":"09/27"},'
    b'"tags":["gift","priority"],"created_at":"2026-11-28T15:04:05Z"}'
)
SHAPES["post"] = SHAPES["post"] % len(JSON_BODY) + JSON_BODY
RESPONSE = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
)


class MemoryTransport:
    """Just enough of asyncio.Transport for the proxy: writes are counted, not sent."""

    def __init__(self, peer: tuple[str, int]) -> None:
        self.peer = peer
        self.written = 0
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.peer if name == "peername" else default

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    abort = close

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def run(shape: str, requests: int, mode: str) -> list[float]:
    settings = ProxySettings.model_validate(
        {"mode": mode, "upstream_port": 8080, "access_log": False, "record_queue_size": 10_000_000}
    )
    worker = Worker(settings, WorkerStats())
    upstream = UpstreamConnection(worker.pool)
    upstream.connection_made(MemoryTransport(("127.0.0.1", 8080)))  # type: ignore[arg-type]
    worker.pool.idle.append(upstream)
    client = ClientConnection(worker)
    client.connection_made(MemoryTransport(("10.0.0.7", 50000)))  # type: ignore[arg-type]
    raw = SHAPES[shape]
    timings = []
    clock = time.perf_counter
    for _ in range(requests):
        started = clock()
        client.data_received(raw)
        if client.upstream is not None:
            client.upstream.data_received(RESPONSE)
        timings.append(clock() - started)
        if len(worker.shipper.queue) > 50_000:
            worker.shipper.queue.clear()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--mode", default="block")
    parser.add_argument("--shapes", default="get,post,attack")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the GET")
    args = parser.parse_args()
    print(f"per-request proxy work in mode {args.mode}, {args.requests} requests, no sockets")
    for shape in args.shapes.split(","):
        timings = asyncio.run(run(shape, args.requests, args.mode))
        median = statistics.median(timings) * 1e6
        p99 = sorted(timings)[int(len(timings) * 0.99)] * 1e6
        print(f"  {shape:<7} median {median:7.1f} µs   p99 {p99:7.1f} µs")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(run(args.shapes.split(",")[0], args.requests, args.mode))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
