"""A small synchronous client of the Cloud API (docs/cloud.md), on the standard library.

One keep-alive connection, reopened when the Cloud closed it; a lock makes one client
safe to share between threads (calls are serialised). Whatever the Cloud answers is
hostile input: bodies are read up to a bound, JSON is checked for the expected shape,
and every failure is a `CloudError`, never another exception.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

from wallarm_sidecar import __version__
from wallarm_sidecar.cloudlink._endpoint import CloudEndpoint
from wallarm_sidecar.cloudlink._errors import CloudError, CredentialRejected
from wallarm_sidecar.cloudlink._registration import NodeRegistration

API_PREFIX = "/api/v1"
#: Largest answer read: an IP list of a million entries is about 80 MB of JSON.
MAX_RESPONSE = 128 * 1024 * 1024
_MAX_MESSAGE = 300

#: Failures of a reused keep-alive connection that the Cloud closed while it was idle.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _tls_context(endpoint: CloudEndpoint) -> ssl.SSLContext:
    if isinstance(endpoint.ca_verify, str):
        context = ssl.create_default_context(cafile=endpoint.ca_verify)
    else:
        context = ssl.create_default_context()
        if not endpoint.ca_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _printable(text: str) -> str:
    cleaned = "".join(c if c.isprintable() else " " for c in text).strip()
    return cleaned[:_MAX_MESSAGE]


def _message_of(status: int, reason: str, body: bytes) -> str:
    """The Cloud's own explanation (`message` or `detail`), shortened and made printable."""
    detail = ""
    try:
        document = json.loads(body)
        if isinstance(document, dict):
            found = document.get("message") or document.get("detail")
            if isinstance(found, str):
                detail = found
    except ValueError:
        pass
    suffix = f": {_printable(detail)}" if detail else ""
    return f"HTTP {status} {_printable(reason)}{suffix}"


class CloudClient:
    """Calls the Cloud with one credential (an API token, a scoped or a node credential)."""

    def __init__(
        self,
        endpoint: CloudEndpoint,
        credential: str,
        timeout: float = 10.0,
        *,
        max_response: int = MAX_RESPONSE,
    ) -> None:
        if not credential or any(c.isspace() or not c.isprintable() for c in credential):
            raise ValueError("the credential must be a non-empty printable string")
        self.endpoint = endpoint
        self.timeout = timeout
        self.max_response = max_response
        self._credential = credential
        self._context = _tls_context(endpoint) if endpoint.use_ssl else None
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CloudClient({self.endpoint.url})"

    # -- the endpoints the node and postanalytics use ------------------------------------
    def register(
        self, name: str, group: str | None = None, namespace: str = "", pod: str = ""
    ) -> NodeRegistration:
        """POST /nodes/register: this credential's node `name` (in `group` when given)."""
        body: dict[str, Any] = {"name": name, "namespace": namespace, "pod": pod}
        if group:
            body["group"] = group
        answer = self.request_json("POST", "/nodes/register", body)
        try:
            return NodeRegistration.from_document(answer)
        except ValueError as error:
            raise CloudError(f"unexpected registration answer: {error}") from None

    def node_config(self, group: str | None = None) -> dict[str, Any]:
        """GET /nodes/config: `{"node_config": ..., "ip_lists": ...}` (a node gets its own)."""
        query = {"group": group} if group else None
        answer = self.request_json("GET", "/nodes/config", query=query)
        if not isinstance(answer, dict) or not all(
            isinstance(answer.get(key), dict) for key in ("node_config", "ip_lists")
        ):
            raise CloudError("unexpected node config answer: node_config or ip_lists missing")
        return answer

    def post_hits(self, records: list[dict[str, Any]]) -> tuple[int, int]:
        """POST /hits; returns (stored, duplicates). Sending a batch again stores nothing new."""
        answer = self.request_json("POST", "/hits", {"records": records})
        if isinstance(answer, dict):
            stored, duplicates = answer.get("stored"), answer.get("duplicates")
            if all(isinstance(n, int) and not isinstance(n, bool) for n in (stored, duplicates)):
                return int(stored), int(duplicates)  # type: ignore[arg-type]
        raise CloudError("unexpected hits answer: stored or duplicates missing")

    # -- the generic call -------------------------------------------------------------------
    def request_json(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str] | None = None,
    ) -> Any:
        """Call `path` (under /api/v1 unless it starts with /api/) and decode the answer.

        2xx: the JSON answer (None when empty); 401/403: `CredentialRejected`; 429, 5xx
        and network failures: a retryable `CloudError`; other statuses: not retryable.
        """
        target = path if path.startswith("/api/") else API_PREFIX + "/" + path.lstrip("/")
        if query:
            target += "?" + urllib.parse.urlencode(dict(query))
        headers = {
            "Authorization": f"Bearer {self._credential}",
            "Accept": "application/json",
            "User-Agent": f"wallarm-sidecar/{__version__}",
        }
        payload: bytes | None = None
        if body is not None:
            try:
                payload = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
            except (TypeError, ValueError) as error:
                raise CloudError(f"cannot encode the request: {error}", retryable=False) from None
            headers["Content-Type"] = "application/json"
        with self._lock:
            status, reason, data = self._exchange(method, target, payload, headers)
        if status in (401, 403):
            raise CredentialRejected(_message_of(status, reason, data), status=status)
        if not 200 <= status < 300:
            retryable = status == 429 or status >= 500
            raise CloudError(
                f"{method} {path}: {_message_of(status, reason, data)}",
                status=status,
                retryable=retryable,
            )
        if not data.strip():
            return None
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            raise CloudError(f"{method} {path}: the answer is not JSON", status=status) from None

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self) -> CloudClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the wire -----------------------------------------------------------------------------
    def _connect(self) -> http.client.HTTPConnection:
        if self._context is not None:
            return http.client.HTTPSConnection(
                self.endpoint.host, self.endpoint.port, timeout=self.timeout, context=self._context
            )
        return http.client.HTTPConnection(
            self.endpoint.host, self.endpoint.port, timeout=self.timeout
        )

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _exchange(
        self, method: str, target: str, payload: bytes | None, headers: dict[str, str]
    ) -> tuple[int, str, bytes]:
        for attempt in (0, 1):
            reused = self._connection is not None
            if self._connection is None:
                self._connection = self._connect()
            try:
                self._connection.request(method, target, body=payload, headers=headers)
                response = self._connection.getresponse()
                return response.status, response.reason, self._read(response)
            except _STALE as error:
                self._drop()
                # Only a connection the Cloud closed while idle is retried, once: every
                # call here may be repeated (registering again gives the same node, and
                # hits are de-duplicated), but a fresh connection failing is a real error.
                if reused and attempt == 0:
                    continue
                raise CloudError(f"{self.endpoint.url}: {error or type(error).__name__}") from None
            except CloudError:
                self._drop()
                raise
            except (OSError, http.client.HTTPException, ssl.SSLError) as error:
                self._drop()
                text = str(error) or type(error).__name__
                if isinstance(error, socket.timeout | TimeoutError):
                    text = f"no answer within {self.timeout:g}s"
                raise CloudError(f"{self.endpoint.url}: {_printable(text)}") from None
        raise AssertionError("unreachable")

    def _read(self, response: http.client.HTTPResponse) -> bytes:
        length = response.getheader("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_response:
            raise CloudError(f"the answer is larger than {self.max_response} bytes")
        data = response.read(self.max_response + 1)
        if len(data) > self.max_response:
            raise CloudError(f"the answer is larger than {self.max_response} bytes")
        if response.will_close:
            self._drop()
        return data


__all__ = ["API_PREFIX", "MAX_RESPONSE", "CloudClient"]
