"""Entry point of one worker process: a listening socket (SO_REUSEPORT) and its loop."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import logging
import os
import signal
import socket
import time
from typing import TYPE_CHECKING

import uvloop

from wallarm_sidecar.proxy._server import ClientConnection, Worker
from wallarm_sidecar.proxy._stats import StatsTable, WorkerStats

if TYPE_CHECKING:
    from wallarm_sidecar.proxy._settings import ProxySettings

log = logging.getLogger("wallarm_sidecar.proxy")

_PR_SET_PDEATHSIG = 1
STATS_INTERVAL = 0.25
RELOAD_INTERVAL = 1.0


def bind_listener(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind((host, port))
    sock.listen(4096)
    sock.setblocking(False)
    return sock


def _exit_with_parent() -> None:
    """Ask Linux to send SIGTERM when the master dies, so that no worker is orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def run_worker(settings: ProxySettings, slot: int, table: StatsTable) -> None:
    """Process entry: runs until SIGTERM/SIGINT (or the master's death), drains, exits."""
    _exit_with_parent()
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s worker[{slot}] %(message)s")
    uvloop.install()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(settings, slot, table))


async def _serve(settings: ProxySettings, slot: int, table: StatsTable) -> None:
    loop = asyncio.get_running_loop()
    stats = WorkerStats()
    stats.load(table.read(slot))
    stats.connections = 0
    stats.records_queued = 0
    worker = Worker(settings, stats)
    worker.reload_files()
    sock = bind_listener(*settings.listen, reuse_port=True)
    server = await loop.create_server(lambda: ClientConnection(worker), sock=sock, backlog=4096)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    master = os.getppid()
    # What exists now (modules, rules, settings) lives as long as the worker: keep it
    # out of the collector's way so that collections stay short on the request path.
    gc.collect()
    gc.freeze()
    shipper_task = loop.create_task(worker.shipper.run())

    def publish() -> None:
        stats.records_queued = worker.shipper.backlog
        table.write(slot, stats.snapshot(), time.time())

    async def housekeeping() -> None:
        last_reload = 0.0
        while True:
            await asyncio.sleep(STATS_INTERVAL)
            publish()
            worker.access_log.flush()
            now = loop.time()
            if now - last_reload >= RELOAD_INTERVAL:
                last_reload = now
                worker.reload_files()
                if os.getppid() != master:  # the master is gone (where prctl is absent)
                    stop.set()

    housekeeping_task = loop.create_task(housekeeping())
    publish()
    await stop.wait()
    # Graceful shutdown: stop accepting, let in-flight requests finish, then go.
    worker.draining = True
    server.close()
    for connection in list(worker.connections):
        connection.close_when_idle()
    deadline = loop.time() + settings.shutdown_timeout
    while worker.connections and loop.time() < deadline:
        await asyncio.sleep(0.05)
    for connection in list(worker.connections):
        connection.transport.abort()
    await worker.shipper.flush(timeout=1.0)
    worker.shipper.close()
    housekeeping_task.cancel()
    shipper_task.cancel()
    worker.pool.close()
    worker.access_log.flush()
    publish()
