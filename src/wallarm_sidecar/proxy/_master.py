"""The master process: starts the workers, restarts any that die, serves status and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
import types
from collections.abc import Callable, Mapping
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, cast

import uvloop

from wallarm_sidecar._tinyhttp import Routes, TinyHttp
from wallarm_sidecar.proxy._nodeconfig import NodeModeRules
from wallarm_sidecar.proxy._policy import FilteringMode, effective_mode
from wallarm_sidecar.proxy._settings import ProxySettings
from wallarm_sidecar.proxy._stats import StatsTable
from wallarm_sidecar.proxy._status import metrics_text, status_document, status_json
from wallarm_sidecar.proxy._worker import bind_listener, run_worker

log = logging.getLogger("wallarm_sidecar.proxy")
STALL_SECONDS = 5.0
#: What the node's Cloud jobs report (`api_errors`, `state`, ...), for the status page.
CloudStatus = Callable[[], Mapping[str, Any]]


class Master:
    def __init__(
        self,
        settings: ProxySettings,
        *,
        role: str = "proxy",
        cloud_status: CloudStatus | None = None,
    ) -> None:
        self.settings = settings
        self.cloud_status = cloud_status
        # Workers get the validated values as a plain namespace: unpickling the model
        # would load pydantic into every worker (about 12 MiB each) for nothing.
        self.worker_settings = cast(ProxySettings, types.SimpleNamespace(**dict(settings)))
        self.role = role
        self.table = StatsTable(settings.worker_processes)
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[BaseProcess | None] = [None] * settings.worker_processes
        self.spawned_at = [0.0] * settings.worker_processes
        self.started = time.time()
        self.startid = f"{int(self.started)}-{os.getpid()}"
        self.stopping = False

    def preflight(self) -> None:
        """Fail at start-up, in the master, if the proxy port cannot be bound."""
        host, port = self.settings.listen
        sock = bind_listener(host, port, reuse_port=True)
        sock.close()

    def _spawn(self, slot: int) -> None:
        process = self.context.Process(
            target=run_worker,
            args=(self.worker_settings, slot, self.table),
            name=f"wallarm-proxy-worker-{slot}",
            daemon=False,
        )
        self.spawned_at[slot] = time.time()
        process.start()
        self.processes[slot] = process

    def document(self) -> dict[str, object]:
        now = time.time()
        # A worker is live once it has published since it was (re)started.
        stalled = [
            slot
            for slot in range(self.table.workers)
            if self.table.heartbeats[slot] < self.spawned_at[slot]
            or now - self.table.heartbeats[slot] > STALL_SECONDS
        ]
        alive = sum(1 for p in self.processes if p is not None and p.is_alive())
        totals = self.table.totals()
        extra: dict[str, Any] = {
            "mode": str(self._mode()),
            "startid": self.startid,
            "timestamp": round(now, 3),
            "uptime": round(now - self.started, 3),
        }
        cloud = self._cloud()
        if cloud:
            totals["api_errors"] += cloud["api_errors"]
            extra["cloud"] = cloud
        return status_document(totals, workers=alive, stalled=stalled, extra=extra)

    def _mode(self) -> FilteringMode:
        """The mode the workers apply: WALLARM_MODE with the Cloud's rules over it."""
        settings = self.settings
        try:
            rules = NodeModeRules.load(Path(settings.node_dir) / "node-config.json")
        except (OSError, ValueError):
            return settings.mode  # the workers keep theirs and log why
        cloud = rules.mode_for(settings.application)
        return effective_mode(settings.mode, cloud, settings.mode_allow_override)

    def _cloud(self) -> dict[str, Any]:
        """The Cloud jobs' report; a failing reporter must not break the status page."""
        if self.cloud_status is None:
            return {}
        try:
            cloud = dict(self.cloud_status())
            cloud["api_errors"] = int(cloud.get("api_errors") or 0)
            return cloud
        except Exception:
            log.exception("the Cloud jobs' status is unavailable")
            return {}

    def _healthz(self) -> tuple[int, bytes, bytes]:
        document = self.document()
        healthy = document["workers"] == self.table.workers and not document["stalled_workers"]
        if healthy and not self.stopping:
            return 200, b"text/plain", b"ok\n"
        return 503, b"text/plain", b"not ready\n"

    def _status(self) -> tuple[int, bytes, bytes]:
        return 200, b"application/json", status_json(self.document())

    def _metrics(self) -> tuple[int, bytes, bytes]:
        return 200, b"text/plain; version=0.0.4; charset=utf-8", metrics_text(self.document())

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        status_routes: Routes = {
            (b"GET", b"/healthz"): lambda query, body: self._healthz(),
            (b"GET", b"/wallarm-status"): lambda query, body: self._status(),
        }
        metrics_routes: Routes = {
            (b"GET", b"/wallarm-metrics"): lambda query, body: self._metrics(),
        }
        servers = []
        for (host, port), routes in (
            (self.settings.status_listen, status_routes),
            (self.settings.metrics_listen, metrics_routes),
        ):
            sock = bind_listener(host, port, reuse_port=False)
            servers.append(
                await loop.create_server(lambda r=routes: TinyHttp(r), sock=sock)  # type: ignore[misc]
            )
        for slot in range(self.settings.worker_processes):
            self._spawn(slot)
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        log.info(
            "%s listening on %s:%d -> %s:%d, mode %s, %d worker(s)",
            self.role,
            *self.settings.listen,
            self.settings.upstream_host,
            self.settings.upstream_port,
            self.settings.mode,
            self.settings.worker_processes,
        )
        restarts = 0
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)
            if stop.is_set():
                break
            for slot, process in enumerate(self.processes):
                if process is not None and not process.is_alive():
                    restarts += 1
                    log.error("worker %d exited with code %s; restarting", slot, process.exitcode)
                    await asyncio.sleep(min(0.1 * restarts, 2.0))
                    self._spawn(slot)
        self.stopping = True
        log.info(
            "stopping: draining in-flight requests (up to %.0fs)", self.settings.shutdown_timeout
        )
        for process in self.processes:
            if process is not None and process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        deadline = loop.time() + self.settings.shutdown_timeout + 5.0
        while loop.time() < deadline and any(
            p is not None and p.is_alive() for p in self.processes
        ):
            await asyncio.sleep(0.05)
        for process in self.processes:
            if process is not None and process.is_alive():
                process.kill()
        for server in servers:
            server.close()
        return 0


def run_proxy(
    settings: ProxySettings, *, role: str = "proxy", cloud_status: CloudStatus | None = None
) -> int:
    """Run the proxy in the foreground until SIGTERM; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s master %(message)s")
    master = Master(settings, role=role, cloud_status=cloud_status)
    try:
        master.preflight()
    except OSError as error:
        host, port = settings.listen
        log.error("cannot listen on %s:%d: %s", host, port, error)
        return 1
    uvloop.install()
    return asyncio.run(master.run())


__all__ = ["Master", "run_proxy"]
