"""The webhook's HTTPS shell: `/inject`, `/healthz`, `/metrics` over uvicorn.

A thin, swappable layer around `handle_review`: it reads the body, answers 400 to
anything that is not an AdmissionReview (and keeps serving), logs one JSON line per
review and counts reviews by decision and reason. The TLS context is ours, so the
serving certificate is reloaded in place when its files change (cert-manager and the
chart's certgen job rotate them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, TextIO

import uvicorn
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from wallarm_sidecar.injector._review import MalformedReview, ReviewOutcome, handle_review
from wallarm_sidecar.injector._settings import InjectionSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
LogLine = Callable[[dict[str, Any]], None]

#: The apiserver sends at most ~3 MiB objects; a bigger body is not a review.
MAX_BODY = 4 * 1024 * 1024


def json_log_line(stream: TextIO | None = None) -> LogLine:
    def write(fields: dict[str, Any]) -> None:
        out = stream or sys.stdout
        out.write(json.dumps(fields, separators=(",", ":")) + "\n")
        out.flush()

    return write


class ControllerMetrics:
    """Prometheus counters of the reviews, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.reviews = Counter(
            "wallarm_sidecar_admission_reviews",
            "AdmissionReviews answered, by decision (injected, skipped, denied, errors)",
            ["decision", "reason"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "wallarm_sidecar_admission_duration_seconds",
            "Time to answer one AdmissionReview",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
            registry=self.registry,
        )
        self.certificate_reloads = Counter(
            "wallarm_sidecar_certificate_reloads",
            "Serving certificate reloads, by result",
            ["result"],
            registry=self.registry,
        )

    def count(self, decision: str, reason: str) -> None:
        label = "errors" if decision == "error" else decision
        self.reviews.labels(decision=label, reason=reason).inc()


class AdmissionApp:
    """ASGI application of the webhook."""

    def __init__(
        self,
        settings: InjectionSettings,
        *,
        issued_at: int,
        log: LogLine | None = None,
        metrics: ControllerMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.issued_at = issued_at
        self.log = log or json_log_line()
        self.metrics = metrics or ControllerMetrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/inject":
            if method != "POST":
                await _respond(send, 405, b"POST an AdmissionReview\n")
                return
            await self._inject(receive, send)
        elif path == "/healthz" and method in ("GET", "HEAD"):
            await _respond(send, 200, b"ok\n")
        elif path == "/metrics" and method == "GET":
            body = generate_latest(self.metrics.registry)
            await _respond(send, 200, body, content_type=CONTENT_TYPE_LATEST)
        else:
            await _respond(send, 404, b"not found\n")

    async def _inject(self, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                self._malformed(started, "the body is larger than 4 MiB")
                await _respond(send, 413, b"body too large\n")
                return
            if not message.get("more_body", False):
                break
        try:
            review = json.loads(body)
            answer, outcome = handle_review(review, self.settings, issued_at=self.issued_at)
        except (ValueError, MalformedReview) as error:  # JSONDecodeError is a ValueError
            reason = str(error) if isinstance(error, MalformedReview) else "the body is not JSON"
            self._malformed(started, reason)
            await _respond(send, 400, f"malformed AdmissionReview: {reason}\n".encode())
            return
        encoded = json.dumps(answer, separators=(",", ":")).encode("utf-8")
        await _respond(send, 200, encoded, content_type="application/json")
        self._done(started, outcome)

    def _done(self, started: float, outcome: ReviewOutcome) -> None:
        elapsed = time.perf_counter() - started
        self.metrics.count(outcome.decision, outcome.reason)
        self.metrics.duration.observe(elapsed)
        line: dict[str, Any] = {
            "time": _now(),
            "event": "admission",
            "uid": outcome.uid,
            "namespace": outcome.namespace,
            "owner": outcome.owner,
            "decision": outcome.decision,
            "reason": outcome.reason,
            "dry_run": outcome.dry_run,
            "duration_ms": round(elapsed * 1000, 3),
        }
        if outcome.message:
            line["message"] = outcome.message
        self.log(line)

    def _malformed(self, started: float, reason: str) -> None:
        self.metrics.count("error", "malformed")
        self.log(
            {
                "time": _now(),
                "event": "admission",
                "uid": "",
                "namespace": "",
                "owner": "",
                "decision": "error",
                "reason": "malformed",
                "dry_run": False,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "message": reason,
            }
        )


async def _respond(
    send: Send, status: int, body: bytes, *, content_type: str = "text/plain; charset=utf-8"
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode("latin-1")),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _fingerprint(paths: tuple[Path, Path]) -> tuple[tuple[int, int, int], ...]:
    stats = [os.stat(path) for path in paths]
    return tuple((s.st_mtime_ns, s.st_size, s.st_ino) for s in stats)


class ReloadingCertificate:
    """A server `SSLContext` whose certificate chain is reloaded when its files change."""

    def __init__(self, cert_file: Path, key_file: Path, *, log: LogLine) -> None:
        self.paths = (cert_file, key_file)
        self.log = log
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.set_alpn_protocols(["http/1.1"])
        self._seen = _fingerprint(self.paths)
        self.context.load_cert_chain(str(cert_file), str(key_file))

    def reload_if_changed(self) -> bool | None:
        """True when reloaded, False when the new files are unusable, None when unchanged."""
        try:
            seen = _fingerprint(self.paths)
        except OSError:
            return None  # mid-rotation: a Secret volume swaps its files through a symlink
        if seen == self._seen:
            return None
        try:
            self.context.load_cert_chain(str(self.paths[0]), str(self.paths[1]))
        except (OSError, ssl.SSLError) as error:
            # Keep serving the old certificate; the next change is tried again.
            self.log(
                {"time": _now(), "event": "certificate", "result": "error", "error": str(error)}
            )
            self._seen = seen
            return False
        self._seen = seen
        self.log({"time": _now(), "event": "certificate", "result": "reloaded"})
        return True

    async def watch(self, interval: float, metrics: ControllerMetrics | None = None) -> None:
        while True:
            await asyncio.sleep(interval)
            result = self.reload_if_changed()
            if metrics is not None and result is not None:
                metrics.certificate_reloads.labels(result="ok" if result else "error").inc()


async def serve(
    app: AdmissionApp,
    certificate: ReloadingCertificate,
    *,
    host: str,
    port: int,
    reload_interval: float = 2.0,
) -> None:
    """Serve HTTPS until SIGINT/SIGTERM, reloading the certificate as it changes."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        access_log=False,
        log_level="warning",
        server_header=False,
        timeout_keep_alive=65,
        # An idle keep-alive TLS connection (the apiserver keeps some) would otherwise hold
        # the shutdown for the 30 s TLS close timeout.
        timeout_graceful_shutdown=2,
    )
    config.load()
    config.ssl = certificate.context  # ours, so that reloading it reaches new handshakes
    server = uvicorn.Server(config)
    watcher = asyncio.ensure_future(certificate.watch(reload_interval, app.metrics))
    try:
        await server.serve()
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
