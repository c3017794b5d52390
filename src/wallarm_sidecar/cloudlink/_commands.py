"""`wallarm-sidecar register`, `helper` and `node`: the jobs around the proxy (DESIGN §3)."""

from __future__ import annotations

import logging
import signal
import time
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wallarm_sidecar.cloudlink._files import read_bytes
from wallarm_sidecar.cloudlink._jobs import NodeJobs
from wallarm_sidecar.cloudlink._settings import NodeSyncSettings
from wallarm_sidecar.cloudlink._sync import SYNC_STATUS_FILE, parse_sync_status

if TYPE_CHECKING:
    from wallarm_sidecar.proxy import ProxySettings

log = logging.getLogger("wallarm_sidecar.cloudlink")
_MAX_STATUS_FILE = 64 * 1024


def _log_as(role: str) -> None:
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {role} %(message)s")


def _stop_on_signals(jobs: NodeJobs) -> None:
    def stop(_signum: int, _frame: types.FrameType | None) -> None:
        jobs.request_stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)


def run_register(settings: NodeSyncSettings) -> int:
    """One-shot registration (the `sidecar-init-helper` and postanalytics init containers).

    0 when registered (or already registered). When the Cloud cannot be reached within
    WALLARM_REGISTER_TIMEOUT, or refuses the credential: 0 with WALLARM_FALLBACK=on (the
    pod starts and the helper keeps trying), 1 with it off (the pod does not start).
    """
    _log_as("register")
    jobs = NodeJobs(settings)
    _stop_on_signals(jobs)
    registration = jobs.register(deadline=time.monotonic() + settings.register_timeout)
    if registration is not None:
        return 0
    if settings.fallback and not jobs.stopping:
        log.warning("not registered; WALLARM_FALLBACK=on lets the pod start without it")
        return 0
    return 1


def run_helper(settings: NodeSyncSettings) -> int:
    """The split schema's `sidecar-helper`: the jobs alone, until SIGTERM."""
    _log_as("helper")
    jobs = NodeJobs(settings)
    _stop_on_signals(jobs)
    registration = None
    if not settings.fallback:
        registration = jobs.register(deadline=time.monotonic() + settings.register_timeout)
        if registration is None:
            log.error("not registered and WALLARM_FALLBACK=off: exiting")
            return 1
    log.info("Cloud jobs for %s, syncing every %gs", settings.endpoint.url, settings.sync_interval)
    jobs.run(registration=registration)
    # Refused or without a credential, the helper idles rather than exit: a restarted
    # container would only be refused again, and the proxy keeps serving meanwhile.
    jobs.wait_for_stop()
    return 0


def run_node(proxy: ProxySettings, settings: NodeSyncSettings) -> int:
    """The single schema's `sidecar-proxy`: the proxy, and the jobs in a thread of its
    master process (workers never load them)."""
    from wallarm_sidecar.proxy._master import run_proxy  # noqa: PLC0415

    _log_as("master")
    jobs = NodeJobs(settings)
    registration = None
    if not settings.fallback:
        registration = jobs.register(deadline=time.monotonic() + settings.register_timeout)
        if registration is None:
            log.error("not registered and WALLARM_FALLBACK=off: refusing to start")
            return 1
    jobs.start(registration=registration)
    try:
        return run_proxy(proxy, role="node", cloud_status=jobs.status)
    finally:
        jobs.stop()


def run_proxy_only(proxy: ProxySettings) -> int:
    """`wallarm-sidecar proxy`: traffic only. In the split schema its status page shows
    what the helper reports through the shared `wallarm` volume (nothing standalone)."""
    from wallarm_sidecar.proxy._master import run_proxy  # noqa: PLC0415

    return run_proxy(proxy, role="proxy", cloud_status=sync_status_reader(proxy.node_dir))


def sync_status_reader(node_dir: str) -> Callable[[], Mapping[str, Any]]:
    """For the split schema's proxy: the helper's status from the shared `wallarm` volume."""
    path = Path(node_dir) / SYNC_STATUS_FILE

    def read() -> Mapping[str, Any]:
        return parse_sync_status(read_bytes(path, _MAX_STATUS_FILE))

    return read


__all__ = ["run_helper", "run_node", "run_proxy_only", "run_register", "sync_status_reader"]
