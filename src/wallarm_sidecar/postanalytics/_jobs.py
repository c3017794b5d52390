"""`postanalytics jobs`: the I/O shell around `ExportMachine` (docs/postanalytics.md).

One thread runs the machine: it reads pages from wstore's export interface, posts hits
(and behavioural detections) to the Cloud with the node credential, and commits the
cursor in wstore only after the Cloud acknowledged every batch of the page. Calls block;
waits are on an Event, so SIGTERM ends the process within one call's timeout.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from wallarm_sidecar.cloudlink import (
    CloudClient,
    CloudEndpoint,
    CloudError,
    CredentialRejected,
    backoff_delays,
)
from wallarm_sidecar.postanalytics._behaviour import AutoLister, BehaviourEngine, Detection
from wallarm_sidecar.postanalytics._convert import hit_count
from wallarm_sidecar.postanalytics._export import (
    CommitCursor,
    ExportMachine,
    PostHits,
    ReadPage,
    Wait,
)
from wallarm_sidecar.postanalytics._jobs_settings import JobsSettings
from wallarm_sidecar.postanalytics._runtime import HealthServer, NodeIdentity, bootstrap_credential
from wallarm_sidecar.postanalytics._wstore_client import (
    WstoreClient,
    WstoreRestarted,
    WstoreUnavailable,
)

log = logging.getLogger("wallarm_sidecar.postanalytics.jobs")

#: Answers that mean "this batch is invalid", not "try again later".
INVALID = frozenset({400, 413, 422})


class Jobs:
    """The export loop, its identity and its optional IP-list writer."""

    def __init__(
        self, settings: JobsSettings, env: Mapping[str, str], *, rng: random.Random | None = None
    ) -> None:
        self.settings = settings
        self.rng = rng or random.Random()
        endpoint = CloudEndpoint.from_env(env)
        bootstrap = bootstrap_credential(env)
        self.identity = NodeIdentity(
            endpoint=endpoint,
            node_dir=Path(settings.node_dir),
            name=settings.node_name,
            group=settings.node_group,
            namespace=settings.namespace,
            bootstrap=bootstrap,
            may_register=True,
            timeout=settings.cloud_timeout,
        )
        self.wstore = WstoreClient(*settings.wstore_export, timeout=settings.cloud_timeout)
        self.machine = ExportMachine(
            delays=self._delays,
            behaviour=BehaviourEngine(settings.behaviour()),
            page_limit=settings.page_size,
            idle_interval=settings.export_interval,
        )
        self.lister = AutoLister(list_kind=settings.auto_list, ttl=settings.auto_list_ttl)
        # IP lists are written with the API token (a deployment token): a node
        # credential may not change them.
        token = env.get("WALLARM_API_TOKEN", "").strip()
        self.list_client: CloudClient | None = None
        if settings.auto_list != "off":
            if token:
                self.list_client = CloudClient(endpoint, token, settings.cloud_timeout)
            else:
                log.warning("--auto-list needs WALLARM_API_TOKEN (a deployment token); off")
        self.listed = 0
        self.list_failures = 0
        self.stop = threading.Event()

    def _delays(self) -> Iterator[float]:
        return backoff_delays(self.settings.retry_base, self.settings.retry_max, self.rng)

    def health(self) -> dict[str, Any]:
        registration = self.identity.registration
        return {
            "status": "ok",
            "registered": registration is not None,
            "node": registration.name if registration else self.settings.node_name,
            "group": registration.group if registration else self.settings.node_group,
            "export": asdict(self.machine.counters),
            "detections": dict(self.machine.behaviour.detections) if self.machine.behaviour else {},
            "ip_lists_added": self.listed,
            "last_error": self.machine.last_error,
        }

    def run(self) -> None:
        """Until `stop` is set."""
        machine = self.machine
        while not self.stop.is_set():
            now = time.monotonic()
            action = machine.next_action(now)
            if isinstance(action, Wait):
                self.stop.wait(max(0.0, action.until - now))
            elif isinstance(action, ReadPage):
                self._read(action)
            elif isinstance(action, PostHits):
                self._post(action)
            elif isinstance(action, CommitCursor):
                self._commit(action)
        self.identity.close()
        if self.list_client is not None:
            self.list_client.close()

    def _read(self, action: ReadPage) -> None:
        try:
            page = self.wstore.read(action.limit)
        except WstoreUnavailable as error:
            self._failed("read", str(error))
            self.machine.read_failed(time.monotonic(), str(error))
            return
        detections = self.machine.page_read(page, time.monotonic())
        if page.missed:
            log.warning("%d records were evicted from wstore before export", page.missed)
        for detection in detections:
            log.info(
                "%s from %s on %s%s: %s",
                detection.attack_type,
                detection.client_ip,
                detection.host,
                detection.path,
                detection.description,
            )
        if detections and self.list_client is not None:
            self._list(detections)

    def _post(self, action: PostHits) -> None:
        now = time.monotonic
        try:
            client = self.identity.client()
            try:
                stored, duplicates = client.post_hits(action.records)
            finally:
                # A fresh connection for every batch: an answer left over on a kept-alive
                # connection (a proxy that answered twice) can never be taken for the
                # acknowledgement of the next batch. One connect per batch costs little
                # next to the Cloud's work for up to 500 records.
                client.close()
            expected = hit_count(action.records)
            if stored + duplicates != expected:
                raise CloudError(
                    f"the Cloud's answer ({stored} stored, {duplicates} duplicates) does not "
                    f"account for the {expected} hits sent"
                )
        except CredentialRejected as error:
            self.identity.refused()
            self._failed("post", f"the Cloud refused the node credential: {error}")
            self.machine.post_failed(now(), retryable=True, error=str(error))
            return
        except CloudError as error:
            self._failed("post", str(error))
            # Only the Cloud's "invalid" answers split a batch (to drop the one bad
            # record); anything else (no registration yet, an unknown route) is waited out.
            retryable = error.retryable or error.status not in INVALID
            self.machine.post_failed(now(), retryable=retryable, error=str(error))
            return
        self.machine.posted(stored, duplicates, now())

    def _commit(self, action: CommitCursor) -> None:
        try:
            self.wstore.commit(action.cursor, action.instance)
        except WstoreRestarted as error:
            log.warning("wstore restarted; reading again from its cursor")
            self.machine.commit_failed(time.monotonic(), conflict=True, error=str(error))
            return
        except WstoreUnavailable as error:
            self._failed("commit", str(error))
            self.machine.commit_failed(time.monotonic(), conflict=False, error=str(error))
            return
        self.machine.committed(time.monotonic())

    def _list(self, detections: list[Detection]) -> None:
        assert self.list_client is not None
        for body in self.lister.entries(detections, time.time()):
            try:
                self.list_client.request_json("POST", "/ip-lists", body)
                self.listed += 1
                log.info("%s-listed %s until %.0f", body["list"], body["ip"], body["expires_at"])
            except CredentialRejected as error:
                log.error("the Cloud refused to change IP lists (%s); auto-listing off", error)
                self.list_client.close()
                self.list_client = None
                return
            except CloudError as error:
                self.list_failures += 1
                self.lister.forget(body["ip"])
                log.warning("cannot list %s: %s", body["ip"], error)

    def _failed(self, what: str, error: str) -> None:
        if error != self.machine.last_error:
            log.warning("%s failed: %s (retrying with backoff)", what, error)


def run_jobs(settings: JobsSettings, env: Mapping[str, str] | None = None) -> int:
    """Run jobs in the foreground until SIGTERM; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s jobs %(message)s")
    jobs = Jobs(settings, os.environ if env is None else env)
    try:
        health = HealthServer(*settings.health_listen, jobs.health)
    except OSError as error:
        log.error("cannot listen on %s:%d: %s", *settings.health_listen, error)
        return 1
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: jobs.stop.set())
    health.start()
    log.info(
        "jobs exporting from wstore %s:%d to %s (health %s:%d)",
        *settings.wstore_export,
        jobs.identity.endpoint.url,
        *health.address,
    )
    try:
        jobs.run()
    finally:
        health.stop()
    counters = jobs.machine.counters
    log.info(
        "stopped: %d hits stored, %d duplicates, cursor %d",
        counters.hits_stored,
        counters.hits_duplicate,
        counters.last_cursor,
    )
    return 0


__all__ = ["Jobs", "run_jobs"]
