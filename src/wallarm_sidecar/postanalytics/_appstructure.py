"""`postanalytics appstructure`: API discovery from wstore's records, reported to the Cloud.

It reads wstore's export interface with its own read position, kept in memory
(`GET /export?cursor=N`), and never commits: the export cursor belongs to jobs. It
starts at the oldest record wstore holds, follows new ones, and starts over from the
oldest when wstore restarted (a new instance id). Records evicted before it read them
are counted in `missed`. Every `--report-interval` it posts what it saw since the last
report to `POST /api/v1/api-inventory`; a report the Cloud did not take is merged back
and sent with the next one.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from wallarm_sidecar.cloudlink import CloudEndpoint, CloudError, CredentialRejected, backoff_delays
from wallarm_sidecar.postanalytics._convert import decode_record
from wallarm_sidecar.postanalytics._discovery import MAX_ENDPOINTS_PER_POST, Discovery
from wallarm_sidecar.postanalytics._jobs_settings import AppstructureSettings
from wallarm_sidecar.postanalytics._runtime import HealthServer, NodeIdentity, bootstrap_credential
from wallarm_sidecar.postanalytics._wstore_client import WstoreClient, WstoreUnavailable

log = logging.getLogger("wallarm_sidecar.postanalytics.appstructure")


class ReadPosition:
    """appstructure's own cursor over wstore (pure): where to read next."""

    def __init__(self) -> None:
        self.cursor: int | None = None
        self.instance = ""
        self.missed = 0
        self.restarts = 0

    def start(self, first_seq: int, instance: str) -> None:
        self.cursor = max(0, first_seq - 1)
        self.instance = instance

    def advance(self, cursor: int, missed: int, instance: str) -> bool:
        """Take a page's cursor; False (and start over) if it came from a new wstore."""
        if self.instance and instance and instance != self.instance:
            self.restarts += 1
            self.cursor = None
            self.instance = ""
            return False
        self.cursor = cursor
        self.missed += missed
        return True


class Appstructure:
    def __init__(
        self,
        settings: AppstructureSettings,
        env: Mapping[str, str],
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.rng = rng or random.Random()
        self.identity = NodeIdentity(
            endpoint=CloudEndpoint.from_env(env),
            node_dir=Path(settings.node_dir),
            name=settings.node_name,
            group=settings.node_group,
            namespace=settings.namespace,
            bootstrap=bootstrap_credential(env),
            may_register=False,
            timeout=settings.cloud_timeout,
        )
        self.wstore = WstoreClient(*settings.wstore_export, timeout=settings.cloud_timeout)
        self.discovery = Discovery(max_endpoints=settings.max_endpoints)
        self.position = ReadPosition()
        self.reports = 0
        self.endpoints_reported = 0
        self.malformed = 0
        self.last_error = ""
        self.stop = threading.Event()
        self._next_report = time.monotonic() + settings.report_interval
        self._backoff: Iterator[float] | None = None
        self._read_backoff: Iterator[float] | None = None

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "registered": self.identity.registration is not None,
            "cursor": self.position.cursor,
            "records": self.discovery.records,
            "missed": self.position.missed,
            "endpoints_pending": len(self.discovery.endpoints),
            "overflow": self.discovery.overflow,
            "reports": self.reports,
            "endpoints_reported": self.endpoints_reported,
            "last_error": self.last_error,
        }

    def run(self) -> None:
        while not self.stop.is_set():
            pause = self._read()
            if time.monotonic() >= self._next_report:
                self._report()
            wait = min(pause, max(0.0, self._next_report - time.monotonic()))
            if wait > 0:
                self.stop.wait(wait)
        self.identity.close()

    def _read(self) -> float:
        """Read one page; the pause before the next read."""
        position = self.position
        try:
            if position.cursor is None:
                info = self.wstore.cursor()
                position.start(int(info.get("first_seq", 1)), str(info.get("instance", "")))
            page = self.wstore.read(self.settings.page_size, cursor=position.cursor)
        except (WstoreUnavailable, ValueError, TypeError) as error:
            self._error(f"wstore: {error}")
            if self._read_backoff is None:
                self._read_backoff = self._delays()
            return next(self._read_backoff)
        self._read_backoff = None
        if not position.advance(page.cursor, page.missed, page.instance):
            log.info("wstore restarted; reading from its oldest record")
            return 0.0
        for raw in page.records:
            try:
                self.discovery.feed(decode_record(raw))
            except ValueError:
                self.malformed += 1
        full = len(page.records) >= self.settings.page_size
        return 0.0 if full else self.settings.read_interval

    def _report(self) -> None:
        report = self.discovery.take()
        sent = 0
        try:
            if report:
                client = self.identity.client()
                for start in range(0, len(report), MAX_ENDPOINTS_PER_POST):
                    chunk = report[start : start + MAX_ENDPOINTS_PER_POST]
                    client.request_json("POST", "/api-inventory", {"endpoints": chunk})
                    sent += len(chunk)
        except CloudError as error:
            if isinstance(error, CredentialRejected):
                self.identity.refused()
            # What the Cloud has not taken goes back, merged with what comes next.
            self.discovery.restore(report[sent:])
            self._error(f"API inventory report: {error}")
            if self._backoff is None:
                self._backoff = self._delays()
            self._next_report = time.monotonic() + next(self._backoff)
            self.endpoints_reported += sent
            return
        self._backoff = None
        self.last_error = ""
        if report:
            self.reports += 1
            self.endpoints_reported += sent
            log.info("reported %d endpoint(s) to the Cloud", sent)
        self._next_report = time.monotonic() + self.settings.report_interval

    def _delays(self) -> Iterator[float]:
        return backoff_delays(self.settings.retry_base, self.settings.retry_max, self.rng)

    def _error(self, error: str) -> None:
        if error != self.last_error:
            log.warning("%s (retrying)", error)
        self.last_error = error


def run_appstructure(settings: AppstructureSettings, env: Mapping[str, str] | None = None) -> int:
    """Run appstructure in the foreground until SIGTERM; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s appstructure %(message)s")
    app = Appstructure(settings, os.environ if env is None else env)
    try:
        health = HealthServer(*settings.health_listen, app.health)
    except OSError as error:
        log.error("cannot listen on %s:%d: %s", *settings.health_listen, error)
        return 1
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: app.stop.set())
    health.start()
    log.info(
        "appstructure reading wstore %s:%d, reporting to %s every %gs (health %s:%d)",
        *settings.wstore_export,
        app.identity.endpoint.url,
        settings.report_interval,
        *health.address,
    )
    try:
        app.run()
        # A last report on the way out, so a rolling update loses little.
        app._report()
    finally:
        health.stop()
    return 0


__all__ = ["Appstructure", "ReadPosition", "run_appstructure"]
