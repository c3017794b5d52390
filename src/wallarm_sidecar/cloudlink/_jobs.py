"""The node's Cloud jobs: register once, then keep the mode rules and IP lists in sync.

A thin loop around `_sync`'s decisions: it calls the Cloud, writes the files the proxy
reads (atomically, only when they change), and sleeps. It runs in a thread (inside the
`node` master, or as the whole `helper` process); `stop()` ends it within a moment.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from pathlib import Path
from typing import Any

from wallarm_sidecar.cloudlink._client import MAX_RESPONSE, CloudClient
from wallarm_sidecar.cloudlink._errors import CloudError, CredentialRejected
from wallarm_sidecar.cloudlink._files import read_bytes, write_atomically
from wallarm_sidecar.cloudlink._registration import (
    NodeRegistration,
    load_registration,
    save_registration,
)
from wallarm_sidecar.cloudlink._settings import NodeSyncSettings
from wallarm_sidecar.cloudlink._sync import (
    IP_LISTS_FILE,
    NODE_CONFIG_FILE,
    SYNC_STATUS_FILE,
    SyncState,
    SyncStatus,
    Waits,
    registration_matches,
    render_files,
)

log = logging.getLogger("wallarm_sidecar.cloudlink")


class NodeJobs:
    """Registration and sync of one node; its `status()` feeds /wallarm-status."""

    def __init__(self, settings: NodeSyncSettings, *, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.node_dir = Path(settings.node_dir)
        self.acl_dir = Path(settings.acl_dir)
        self.rng = rng or random.Random()
        self._status = SyncStatus()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status_unwritable = False

    # -- status -------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        with self._lock:
            return self._status.document()

    @property
    def state(self) -> SyncState:
        with self._lock:
            return self._status.state

    def _update(self, status: SyncStatus) -> None:
        with self._lock:
            self._status = status
        try:
            document = json.dumps({"version": 1, **status.document()}, indent=2).encode() + b"\n"
            write_atomically(self.node_dir / SYNC_STATUS_FILE, document)
        except OSError as error:
            if not self._status_unwritable:  # said once, not at every sync
                log.error("cannot write %s: %s", self.node_dir / SYNC_STATUS_FILE, error)
            self._status_unwritable = True

    def _current(self) -> SyncStatus:
        with self._lock:
            return self._status

    # -- registration ---------------------------------------------------------------------------
    def saved_registration(self) -> NodeRegistration | None:
        saved = load_registration(self.node_dir)
        if saved is None:
            return None
        name, group = self.settings.node_name, self.settings.node_group
        if not registration_matches(saved.name, saved.group, name, group):
            log.info(
                "the saved registration is for %s in %s; registering %s again",
                saved.name,
                saved.group,
                name,
            )
            return None
        return saved

    def register(self, *, deadline: float | None) -> NodeRegistration | None:
        """The saved registration, or a new one; retries until `deadline` (monotonic, None:
        until stopped). None when the credential is refused, missing, or time ran out."""
        saved = self.saved_registration()
        if saved is not None:
            self._update(self._current().registered(saved.node_id, saved.group))
            return saved
        settings = self.settings
        if not settings.credential:
            message = "no WALLARM_API_CREDENTIAL or WALLARM_API_TOKEN, and no saved registration"
            log.error("Cloud jobs off: %s", message)
            self._update(self._current().moved_to(SyncState.NO_CREDENTIAL, message))
            return None
        waits = Waits(settings.sync_interval, self.rng)
        with CloudClient(settings.endpoint, settings.credential, settings.api_timeout) as client:
            while not self._stop.is_set():
                try:
                    registration = client.register(
                        settings.node_name,
                        settings.node_group or None,
                        namespace=settings.namespace,
                        pod=settings.node_name,
                    )
                except CredentialRejected as error:
                    log.error("registration refused by the Cloud, giving up: %s", error)
                    self._update(self._current().rejected(str(error)))
                    return None
                except CloudError as error:
                    self._update(self._current().failed(str(error), registering=True))
                    wait = waits.after_failure()
                    if deadline is not None and time.monotonic() + wait > deadline:
                        log.error("registration failed, giving up for now: %s", error)
                        return None
                    log.warning("registration failed, retrying in %.1fs: %s", wait, error)
                    self._stop.wait(wait)
                    continue
                try:
                    save_registration(self.node_dir, registration)
                except OSError as error:
                    # Still usable in this process; a restart registers again.
                    log.error("cannot save the registration in %s: %s", self.node_dir, error)
                log.info(
                    "registered node %s (id %d) in group %s",
                    registration.name,
                    registration.node_id,
                    registration.group,
                )
                self._update(self._current().registered(registration.node_id, registration.group))
                return registration
        return None

    # -- sync -----------------------------------------------------------------------------------
    def sync_once(self, client: CloudClient) -> bool:
        """Fetch the node's configuration and write what changed; True if anything did."""
        answer = client.node_config()
        try:
            files = render_files(answer)
        except ValueError as error:
            raise CloudError(f"the Cloud's node configuration is unusable: {error}") from None
        changed = False
        for path, data in (
            (self.node_dir / NODE_CONFIG_FILE, files.node_config),
            (self.acl_dir / IP_LISTS_FILE, files.ip_lists),
        ):
            if read_bytes(path, MAX_RESPONSE) != data:
                write_atomically(path, data)
                log.info("updated %s", path)
                changed = True
        return changed

    def sync_forever(self, registration: NodeRegistration) -> None:
        """Sync every interval until stopped or the node credential is refused."""
        settings = self.settings
        waits = Waits(settings.sync_interval, self.rng)
        credential = registration.node_credential
        with CloudClient(settings.endpoint, credential, settings.api_timeout) as client:
            while not self._stop.is_set():
                try:
                    self.sync_once(client)
                except CredentialRejected as error:
                    log.error(
                        "the Cloud refused this node's credential; sync stopped, the node keeps "
                        "its last configuration: %s",
                        error,
                    )
                    self._update(self._current().rejected(str(error)))
                    return
                except (CloudError, OSError) as error:
                    wait = waits.after_failure()
                    log.warning("sync failed, retrying in %.1fs: %s", wait, error)
                    api = isinstance(error, CloudError)
                    self._update(self._current().failed(str(error), registering=False, api=api))
                else:
                    wait = waits.after_success()
                    if self._current().state is not SyncState.SYNCED:
                        log.info("synced with the Cloud")
                    self._update(self._current().synced(time.time()))
                self._stop.wait(wait)

    def run(self, *, registration: NodeRegistration | None = None) -> None:
        """Register (unless given a registration), then sync until stopped."""
        try:
            registration = registration or self.register(deadline=None)
            if registration is not None:
                self.sync_forever(registration)
        except Exception:  # the jobs must never take the node down
            log.exception("Cloud jobs failed")
            self._update(self._current().moved_to(SyncState.STOPPED, "internal error"))

    # -- thread -----------------------------------------------------------------------------
    def start(self, *, registration: NodeRegistration | None = None) -> None:
        self._thread = threading.Thread(
            target=self.run,
            kwargs={"registration": registration},
            name="wallarm-cloud-jobs",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def request_stop(self) -> None:
        """Ask the jobs to end (safe from a signal handler); `stop()` also waits."""
        self._stop.set()

    def wait_for_stop(self) -> None:
        while not self._stop.wait(1.0):
            pass

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()


__all__ = ["NodeJobs"]
