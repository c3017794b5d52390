"""What the jobs and appstructure shells share: the node's Cloud identity and /health.

The node identity is the registration file in `--node-dir` (`node-registration.json`,
written by the `register` init container or by jobs). jobs registers itself when the
file is missing, with `WALLARM_API_CREDENTIAL` (a scoped `wsc1.` credential) or
`WALLARM_API_TOKEN` (a node token, or an API token with `WALLARM_LABELS=group=...`).
When the Cloud refuses the node credential (revoked, or a new Cloud), the file is read
again first: if another container registered meanwhile, its credential is used;
only if the file still holds the refused one does jobs register again. appstructure
never registers: it waits for the file, so the two containers cannot take turns
replacing each other's credential.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from wallarm_sidecar.cloudlink import (
    CloudClient,
    CloudEndpoint,
    CloudError,
    NodeRegistration,
    load_registration,
    save_registration,
)

log = logging.getLogger("wallarm_sidecar.postanalytics")

CREDENTIAL_ENVS = ("WALLARM_API_CREDENTIAL", "WALLARM_API_TOKEN")


def bootstrap_credential(env: Mapping[str, str]) -> str | None:
    """The credential that may register this node: the scoped one first, then the token."""
    for name in CREDENTIAL_ENVS:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


class NodeIdentity:
    """The Cloud client with this node's credential, registering when needed."""

    def __init__(
        self,
        *,
        endpoint: CloudEndpoint,
        node_dir: Path,
        name: str,
        group: str,
        namespace: str,
        bootstrap: str | None,
        may_register: bool,
        timeout: float,
    ) -> None:
        self.endpoint = endpoint
        self.node_dir = node_dir
        self.name = name
        self.group = group
        self.namespace = namespace
        self.bootstrap = bootstrap
        self.may_register = may_register
        self.timeout = timeout
        self.registration: NodeRegistration | None = None
        self.registrations = 0
        self._client: CloudClient | None = None
        self._refused: str | None = None

    def client(self) -> CloudClient:
        """A client with a usable node credential; CloudError when there is none yet."""
        if self._client is not None:
            return self._client
        registration = load_registration(self.node_dir)
        if registration is not None and registration.node_credential != self._refused:
            return self._use(registration)
        if not self.may_register:
            raise CloudError(f"waiting for the node registration in {self.node_dir}")
        if self.bootstrap is None:
            raise CloudError(
                "no node registration and no WALLARM_API_TOKEN or WALLARM_API_CREDENTIAL "
                "to register with",
                retryable=False,
            )
        with CloudClient(self.endpoint, self.bootstrap, self.timeout) as registrar:
            registration = registrar.register(
                self.name, self.group or None, namespace=self.namespace, pod=self.name
            )
        self.registrations += 1
        log.info("registered as %r in group %r", registration.name, registration.group)
        try:
            save_registration(self.node_dir, registration)
        except OSError as error:
            log.warning("cannot save the registration in %s: %s", self.node_dir, error)
        return self._use(registration)

    def refused(self) -> None:
        """The Cloud refused the node credential: look again before the next call."""
        if self.registration is not None:
            self._refused = self.registration.node_credential
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _use(self, registration: NodeRegistration) -> CloudClient:
        self.registration = registration
        self._client = CloudClient(self.endpoint, registration.node_credential, self.timeout)
        return self._client


class HealthServer:
    """`GET /health` with a JSON document, served from a thread (the shells block)."""

    def __init__(self, host: str, port: int, document: Callable[[], dict[str, Any]]) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != "/health":
                    self._send(404, b'{"error": "not found"}\n')
                    return
                body = json.dumps(outer.document(), sort_keys=True).encode() + b"\n"
                self._send(200, body)

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.document = document
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.address = (str(self.server.server_address[0]), int(self.server.server_address[1]))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


__all__ = ["CREDENTIAL_ENVS", "HealthServer", "NodeIdentity", "bootstrap_credential"]
