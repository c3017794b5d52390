from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import AppServer, WstoreStandIn, free_port
from wallarm_sidecar.proxy import ProxySettings
from wallarm_sidecar.proxy._server import ClientConnection, Worker
from wallarm_sidecar.proxy._stats import WorkerStats


class RunningProxy:
    """A proxy worker served on the test's own event loop (no subprocess)."""

    def __init__(self, worker: Worker, server: asyncio.AbstractServer, port: int) -> None:
        self.worker = worker
        self.server = server
        self.port = port

    @property
    def stats(self) -> WorkerStats:
        return self.worker.stats


@pytest.fixture
async def app() -> AsyncIterator[AppServer]:
    server = await AppServer().start()
    yield server
    await server.stop()


@pytest.fixture
async def wstore() -> AsyncIterator[WstoreStandIn]:
    server = await WstoreStandIn().start()
    yield server
    await server.stop()


ProxyFactory = Callable[..., Awaitable[RunningProxy]]


@pytest.fixture
async def start_proxy(
    app: AppServer, wstore: WstoreStandIn, tmp_path: Path
) -> AsyncIterator[ProxyFactory]:
    running: list[tuple[RunningProxy, asyncio.Task[None]]] = []

    async def start(**overrides: Any) -> RunningProxy:
        values: dict[str, Any] = {
            "listen": ("127.0.0.1", free_port()),
            "upstream_port": app.port,
            "status_listen": ("127.0.0.1", free_port()),
            "metrics_listen": ("127.0.0.1", free_port()),
            "wstore_port": wstore.port,
            "node_dir": str(tmp_path / "node"),
            "acl_dir": str(tmp_path / "acl"),
            "access_log": False,
            "node_name": "test-node",
            "node_group": "test-group",
        }
        values.update(overrides)
        settings = ProxySettings.model_validate(values)
        worker = Worker(settings, WorkerStats())
        worker.reload_files()
        loop = asyncio.get_running_loop()
        host, port = settings.listen
        server = await loop.create_server(lambda: ClientConnection(worker), host, port)
        shipper = loop.create_task(worker.shipper.run())
        proxy = RunningProxy(worker, server, port)
        running.append((proxy, shipper))
        return proxy

    yield start
    for proxy, shipper in running:
        proxy.worker.shipper.close()
        shipper.cancel()
        proxy.server.close()
        for connection in list(proxy.worker.connections):
            connection.transport.abort()
        proxy.worker.pool.close()
