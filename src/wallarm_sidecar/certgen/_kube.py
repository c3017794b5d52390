"""A small Kubernetes API client: HTTPS, a Bearer token, JSON, retries. Nothing more.

The token file is read before every request (projected service account tokens rotate).
Transient failures (connection refused or reset, timeouts, 429 and 5xx answers) are
retried with exponential backoff until `retry_for` seconds have passed; anything else
fails at once with one line saying what to fix.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wallarm_sidecar import __version__
from wallarm_sidecar.certgen._errors import CertgenError, KubeApiError, KubeUnreachable

#: The in-cluster service account files.
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
JSON_PATCH = "application/json-patch+json"

#: What to tell the operator, by status, after "METHOD what: STATUS".
_HINTS: Mapping[int, str] = {
    401: "the API server refused the service account token (check --token-file)",
    403: "the job's service account lacks this permission in its Role/ClusterRole",
    404: "not found",
    409: "the object exists already or changed meanwhile",
    422: "the API server refused the request body",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class KubeConnection:
    """Where the API server is and how to authenticate to it."""

    server: str
    token_file: Path | None = SERVICE_ACCOUNT_DIR / "token"
    ca_file: Path | None = SERVICE_ACCOUNT_DIR / "ca.crt"
    insecure_skip_tls_verify: bool = False
    timeout: float = 10.0
    retry_for: float = 30.0


def in_cluster_server(environ: Mapping[str, str]) -> str | None:
    """`https://host:port` from KUBERNETES_SERVICE_HOST/PORT, as client-go does."""
    host = environ.get("KUBERNETES_SERVICE_HOST", "").strip()
    port = environ.get("KUBERNETES_SERVICE_PORT", "").strip() or "443"
    if not host:
        return None
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


class KubeClient:
    """JSON requests to one API server; `request` returns the decoded body or raises."""

    def __init__(
        self,
        connection: KubeConnection,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        first_backoff: float = 0.5,
        max_backoff: float = 5.0,
    ) -> None:
        parts = urllib.parse.urlsplit(connection.server)
        if parts.scheme != "https" or not parts.hostname:
            raise CertgenError(
                f"the API server must be an https:// URL, not {connection.server!r} (--api-server)"
            )
        self.connection = connection
        self._host = parts.hostname
        self._port = parts.port or 443
        self._prefix = parts.path.rstrip("/")
        self._sleep = sleep
        self._clock = clock
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._context = self._ssl_context()

    def _ssl_context(self) -> ssl.SSLContext:
        if self.connection.insecure_skip_tls_verify:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        ca_file = self.connection.ca_file
        try:
            return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        except (OSError, ssl.SSLError) as error:
            raise CertgenError(
                f"cannot load the API server's CA {ca_file}: {error} (--ca-file)"
            ) from None

    def _token(self) -> str | None:
        token_file = self.connection.token_file
        if token_file is None:
            return None
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise CertgenError(
                f"cannot read the service account token {token_file}: {error.strerror or error}"
                " (outside a pod, set --api-server, --token-file and --ca-file)"
            ) from None
        return token or None

    def request(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        content_type: str = "application/json",
        what: str = "",
    ) -> dict[str, Any]:
        """Send one request (retrying transient failures); the JSON answer as a dict.

        `what` names the object in error messages, e.g. `secret wallarm/webhook-cert`.
        """
        payload = None if body is None else json.dumps(body).encode()
        headers = {
            "Accept": "application/json",
            "User-Agent": f"wallarm-sidecar-certgen/{__version__}",
        }
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if payload is not None:
            headers["Content-Type"] = content_type
        label = f"{method} {what or path}"
        deadline = self._clock() + self.connection.retry_for
        delay = self._first_backoff
        while True:
            outcome = self._attempt(method, self._prefix + path, payload, headers, label)
            if not isinstance(outcome, _Transient):
                return outcome
            if outcome.retry_after is not None:
                delay = max(delay, min(outcome.retry_after, self._max_backoff))
            if self._clock() + delay > deadline:
                failure = outcome.failure
                suffix = f" (gave up after {self.connection.retry_for:g}s of retries)"
                if isinstance(failure, KubeApiError):
                    raise KubeApiError(
                        f"{failure}{suffix}", status=failure.status, reason=failure.reason
                    )
                raise KubeUnreachable(f"{failure}{suffix}")
            self._sleep(delay)
            delay = min(delay * 2, self._max_backoff)

    def _attempt(
        self, method: str, path: str, payload: bytes | None, headers: Mapping[str, str], label: str
    ) -> dict[str, Any] | _Transient:
        """One request: the answer, a transient failure to retry, or a permanent one raised."""
        try:
            status, reason, data, retry_after = self._send(method, path, payload, headers)
        except ssl.SSLCertVerificationError as error:
            raise KubeUnreachable(
                f"{label}: the API server's certificate is not trusted: "
                f"{error.verify_message} (--ca-file)"
            ) from None
        except ssl.SSLError as error:
            if not isinstance(error, _TRANSIENT_TLS):
                raise KubeUnreachable(
                    f"{label}: TLS with the API server at {self.connection.server} failed: "
                    f"{error.reason or error}"
                ) from None
            return _Transient(self._unreachable(label, error))
        except (OSError, http.client.HTTPException) as error:
            return _Transient(self._unreachable(label, error))
        if 200 <= status < 300:
            return _json_object(data, label)
        failure = _api_error(label, status, reason, data)
        if status != 429 and status < 500:
            raise failure
        return _Transient(failure, retry_after)

    def _unreachable(self, label: str, error: BaseException) -> KubeUnreachable:
        return KubeUnreachable(
            f"{label}: cannot reach the Kubernetes API at {self.connection.server}: "
            f"{_describe(error)}"
        )

    def _send(
        self, method: str, path: str, payload: bytes | None, headers: Mapping[str, str]
    ) -> tuple[int, str, bytes, float | None]:
        connection = http.client.HTTPSConnection(
            self._host, self._port, context=self._context, timeout=self.connection.timeout
        )
        try:
            connection.request(method, path, body=payload, headers=dict(headers))
            response = connection.getresponse()
            data = response.read()
            retry_after = response.getheader("Retry-After")
            seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
            return response.status, response.reason, data, seconds
        finally:
            connection.close()


@dataclass(frozen=True, slots=True)
class _Transient:
    failure: KubeUnreachable | KubeApiError
    retry_after: float | None = None


#: TLS failures of a connection cut short (an apiserver restarting), worth a retry.
_TRANSIENT_TLS = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, ssl.SSLError):
        return f"TLS {error.reason or 'error'}"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _json_object(data: bytes, label: str) -> dict[str, Any]:
    try:
        decoded = json.loads(data) if data else {}
    except ValueError:
        raise CertgenError(f"{label}: the API server answered with invalid JSON") from None
    if not isinstance(decoded, dict):
        raise CertgenError(f"{label}: the API server answered with a JSON {type(decoded).__name__}")
    return decoded


def _api_error(label: str, status: int, reason: str, data: bytes) -> KubeApiError:
    """One line from an error answer: the Status object's message when there is one."""
    message = ""
    status_reason = ""
    try:
        decoded = json.loads(data)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        message = str(decoded.get("message") or "")
        status_reason = str(decoded.get("reason") or "")
    if not message:
        message = data.decode("utf-8", "replace").strip()[:200]
    message = " ".join(message.split())
    if message.lower() in (reason.lower(), status_reason.lower()):
        message = ""  # the apiserver's 401 says only "Unauthorized"
    hint = _HINTS.get(status, "server error" if status >= 500 else "")
    if hint and hint.lower() in message.lower():
        hint = ""  # `secrets "x" not found` says it already
    text = f"{label}: {status} {reason}"
    if hint:
        text += f": {hint}"
    if message:
        text += f" ({message})"
    return KubeApiError(text, status=status, reason=status_reason)
