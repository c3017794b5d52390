"""A local stand-in of kube-apiserver: the few endpoints the certificate jobs call.

HTTPS on 127.0.0.1 with a certificate from our own `generate_bundle` (so its CA file is
what `--ca-file` gets), a Bearer token check, Status objects shaped as the apiserver
sends them, every request recorded, and faults to inject by method and path.
"""

from __future__ import annotations

import base64
import datetime
import itertools
import json
import re
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonpatch

from wallarm_sidecar.certgen import generate_bundle

TOKEN = "stand-in-token"
SECRET = re.compile(r"^/api/v1/namespaces/([^/]+)/secrets(?:/([^/]+))?$")
WEBHOOK = re.compile(
    r"^/apis/admissionregistration\.k8s\.io/v1/mutatingwebhookconfigurations/([^/]+)$"
)
_REASONS = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "AlreadyExists",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
    503: "ServiceUnavailable",
}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Fault:
    """Answer `status` to requests that match, `times` times: instead of handling them,
    or `after` handling them (a write that succeeded but whose answer was lost)."""

    method: str
    path: str
    status: int
    times: int = 1
    message: str = "injected fault"
    after: bool = False


@dataclass
class StandInApiServer:
    ca_file: Path
    token_file: Path
    token: str = TOKEN
    secrets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    #: Called with each request before it is handled (e.g. to play a concurrent writer).
    before: Callable[[Recorded], None] | None = None
    url: str = ""
    _versions: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_version(self) -> str:
        return str(next(self._versions))

    def calls(self, method: str | None = None) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests if method is None or r.method == method]

    def add_webhook_configuration(self, name: str, webhooks: list[str]) -> None:
        self.webhooks[name] = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": name, "resourceVersion": self.next_version()},
            "webhooks": [
                {
                    "name": webhook,
                    "admissionReviewVersions": ["v1"],
                    "sideEffects": "None",
                    "failurePolicy": "Fail",
                    "clientConfig": {
                        "service": {"name": name, "namespace": "wallarm", "path": "/inject"}
                    },
                }
                for webhook in webhooks
            ],
        }

    # -- the handler's work, under the lock -------------------------------------------

    def handle(self, request: Recorded) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(request)
            if self.before is not None:
                self.before(request)
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return _status(401, "Unauthorized")
            fault = next(
                (
                    fault
                    for fault in self.faults
                    if fault.times > 0
                    and fault.method == request.method
                    and fault.path in request.path
                ),
                None,
            )
            if fault is not None:
                fault.times -= 1
                if not fault.after:
                    return _status(fault.status, fault.message)
            answer = self._route(request)
            return answer if fault is None else _status(fault.status, fault.message)

    def _route(self, request: Recorded) -> tuple[int, dict[str, Any]]:
        if match := SECRET.match(request.path):
            return self._secret(request, match.group(1), match.group(2))
        if match := WEBHOOK.match(request.path):
            return self._webhook(request, match.group(1))
        return _status(404, "the server could not find the requested resource")

    def _secret(self, request: Recorded, namespace: str, name: str | None) -> tuple[int, Any]:
        if request.method == "POST" and name is None:
            body = request.body
            name = body["metadata"]["name"]
            assert body["kind"] == "Secret" and body["apiVersion"] == "v1"
            assert body["metadata"].get("namespace", namespace) == namespace
            if (namespace, name) in self.secrets:
                return _status(409, f'secrets "{name}" already exists')
            for value in body.get("data", {}).values():
                base64.b64decode(value, validate=True)
            stored = json.loads(json.dumps(body))
            stored["metadata"]["resourceVersion"] = self.next_version()
            self.secrets[namespace, name] = stored
            return 201, stored
        if name is None:
            return _status(405, "method not allowed")
        current = self.secrets.get((namespace, name))
        if current is None:
            return _status(404, f'secrets "{name}" not found')
        if request.method == "GET":
            return 200, current
        if request.method == "PUT":
            body = request.body
            version = body["metadata"].get("resourceVersion")
            if version != current["metadata"]["resourceVersion"]:
                return _status(
                    409,
                    f'Operation cannot be fulfilled on secrets "{name}": the object has been '
                    "modified; please apply your changes to the latest version and try again",
                )
            if body.get("type") != current.get("type"):
                return _status(422, f'Secret "{name}" is invalid: type: field is immutable')
            stored = json.loads(json.dumps(body))
            stored["metadata"]["resourceVersion"] = self.next_version()
            self.secrets[namespace, name] = stored
            return 200, stored
        return _status(405, "method not allowed")

    def _webhook(self, request: Recorded, name: str) -> tuple[int, Any]:
        current = self.webhooks.get(name)
        if current is None:
            return _status(
                404,
                f'mutatingwebhookconfigurations.admissionregistration.k8s.io "{name}" not found',
            )
        if request.method == "GET":
            return 200, current
        if request.method == "PATCH":
            if request.headers.get("content-type") != "application/json-patch+json":
                return _status(415, "unsupported patch type")
            try:
                patched = jsonpatch.apply_patch(current, request.body)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
                return _status(422, str(error))
            for webhook in patched["webhooks"]:
                base64.b64decode(webhook["clientConfig"].get("caBundle", ""), validate=True)
                assert webhook["failurePolicy"] in ("Fail", "Ignore")
            patched["metadata"]["resourceVersion"] = self.next_version()
            self.webhooks[name] = patched
            return 200, patched
        return _status(405, "method not allowed")


def _status(code: int, message: str) -> tuple[int, dict[str, Any]]:
    return code, {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": _REASONS.get(code, "Unknown"),
        "code": code,
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        request = Recorded(
            method=self.command,
            path=self.path,
            headers={key.lower(): value for key, value in self.headers.items()},
            body=json.loads(raw) if raw else None,
        )
        status, body = self.server.api.handle(request)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: StandInApiServer


def start(directory: Path) -> tuple[StandInApiServer, Callable[[], None]]:
    """Serve a stand-in on 127.0.0.1; returns it and the function that stops it."""
    bundle = generate_bundle(["localhost", "127.0.0.1"], now=datetime.datetime.now(datetime.UTC))
    for name, data in (
        ("apiserver-ca.crt", bundle.ca),
        ("apiserver.crt", bundle.cert),
        ("apiserver.key", bundle.key),
    ):
        (directory / name).write_bytes(data)
    (directory / "token").write_text(TOKEN + "\n")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "apiserver.crt", directory / "apiserver.key")
    server = _Server(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    api = StandInApiServer(ca_file=directory / "apiserver-ca.crt", token_file=directory / "token")
    api.url = f"https://127.0.0.1:{server.server_address[1]}"
    server.api = api
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return api, stop
