"""The asyncio shell of one proxy worker: moves bytes, asks the pure parts what to do.

`ClientConnection` and `UpstreamConnection` are asyncio protocols wired to each
other by callbacks (no task per request): framing comes from `_http`, decisions
from `_policy`, verdicts from `detect`. Upstream connections are kept alive in a
small pool; responses are forwarded byte for byte while `ResponseFraming` follows
where they end.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import secrets
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from wallarm_sidecar.detect import DetectionEngine, InspectedRequest, Verdict
from wallarm_sidecar.proxy._http import (
    CONTINUE_RESPONSE,
    END_OF_MESSAGE,
    LAST_CHUNK,
    NEED_DATA,
    FramingError,
    HttpLimits,
    RequestHead,
    RequestReader,
    ResponseFraming,
    TunnelData,
    encode_chunk,
    serialize_request_head,
    simple_response,
)
from wallarm_sidecar.proxy._iplists import IpLists
from wallarm_sidecar.proxy._nodeconfig import NodeModeRules
from wallarm_sidecar.proxy._policy import (
    AclStatus,
    Decision,
    FilteringMode,
    TrustedProxies,
    client_address,
    decide_before_inspection,
    effective_mode,
    mask_target,
    should_block,
)
from wallarm_sidecar.proxy._reporter import RecordShipper
from wallarm_sidecar.proxy._stats import WorkerStats
from wallarm_sidecar.wire import pack_record

if TYPE_CHECKING:
    from wallarm_sidecar.proxy._settings import ProxySettings

log = logging.getLogger("wallarm_sidecar.proxy")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
MAX_PENDING_EVENTS = 32


#: Header names as the engine wants them (latin-1, lower case), by their bytes: a
#: handful of names make up nearly all headers. Bounded: cleared whole when full.
_HEADER_NAMES: dict[bytes, str] = {}


def _header_name(name: bytes) -> str:
    text = name.decode("latin-1").lower()
    if len(_HEADER_NAMES) >= 1024:
        _HEADER_NAMES.clear()
    _HEADER_NAMES[name] = text
    return text


class State(enum.IntEnum):
    IDLE = 0  # waiting for a request head
    BODY_HOLD = 1  # buffering the inspected part of the body
    CONNECTING = 2  # waiting for an upstream connection
    FORWARDING = 3  # request going up, response coming down
    TUNNEL = 4  # upgraded (WebSocket): bytes both ways
    CLOSED = 5


class Timer(enum.IntEnum):
    KEEPALIVE = 0
    HEADER = 1
    BODY = 2
    UPSTREAM = 3


class AccessLog:
    """JSON lines on stdout, written in batches off the request path."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._lines: list[str] = []

    def add(self, entry: dict[str, object]) -> None:
        self._lines.append(json.dumps(entry, separators=(",", ":")))
        if len(self._lines) >= 256:
            self.flush()

    def flush(self) -> None:
        if self._lines:
            data = ("\n".join(self._lines) + "\n").encode("utf-8", "replace")
            self._lines.clear()
            with contextlib.suppress(OSError, ValueError):
                stream = sys.stdout.buffer  # writes it all, even to a slow pipe
                stream.write(data)
                stream.flush()


class UpstreamPool:
    """Keep-alive connections to the application, last used first."""

    def __init__(self, worker: Worker, *, max_idle: int = 64) -> None:
        self.worker = worker
        self.idle: list[UpstreamConnection] = []
        self.max_idle = max_idle

    def acquire(self) -> UpstreamConnection | None:
        idle = self.idle
        while idle:
            connection = idle.pop()
            if not connection.transport.is_closing():
                connection.reused = True
                return connection
        return None

    def release(self, connection: UpstreamConnection) -> None:
        connection.client = None
        if len(self.idle) < self.max_idle and not connection.transport.is_closing():
            self.idle.append(connection)
        else:
            connection.transport.close()

    def discard(self, connection: UpstreamConnection) -> None:
        if connection in self.idle:
            self.idle.remove(connection)

    async def connect(self) -> UpstreamConnection:
        settings = self.worker.settings
        loop = asyncio.get_running_loop()
        _, protocol = await asyncio.wait_for(
            loop.create_connection(
                lambda: UpstreamConnection(self), settings.upstream_host, settings.upstream_port
            ),
            timeout=settings.upstream_connect_timeout,
        )
        return protocol

    def close(self) -> None:
        for connection in self.idle:
            connection.transport.close()
        self.idle.clear()


class UpstreamConnection(asyncio.Protocol):
    __slots__ = ("client", "framing", "pool", "reused", "transport")

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.client: ClientConnection | None = None
        self.framing = ResponseFraming()
        self.reused = False
        self.transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None:  # an idle connection must stay silent
            self.transport.close()
            return
        client.on_upstream_data(self, data)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        client = self.client
        if client is None:
            self.pool.discard(self)
        else:
            client.on_upstream_lost(self)

    def pause_writing(self) -> None:
        if self.client is not None:
            self.client.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.client is not None and self.client.state is not State.CLOSED:
            self.client.transport.resume_reading()


class ParameterSampler:
    """Which requests carry their parameter names and types for API discovery.

    Discovery needs each endpoint's parameters now and then, not on every request;
    collecting them means walking every key and leaf of a body, which a request
    without them can skip (see `detect._json_proof`). So: the first request of each
    (method, path), then one per `interval` seconds. Bounded: forgets all when full.
    """

    __slots__ = ("_due", "interval", "limit")

    def __init__(self, interval: float, limit: int = 4096) -> None:
        self.interval = interval
        self.limit = limit
        self._due: dict[tuple[str, str], float] = {}

    def __call__(self, method: str, path: str, now: float) -> bool:
        if self.interval <= 0:
            return True
        key = (method, path)
        due = self._due.get(key)
        if due is not None and now < due:
            return False
        if due is None and len(self._due) >= self.limit:
            self._due.clear()
        self._due[key] = now + self.interval
        return True


class Worker:
    """What the connections of one worker process share."""

    def __init__(self, settings: ProxySettings, stats: WorkerStats) -> None:
        self.settings = settings
        self.stats = stats
        self.engine = DetectionEngine(
            disabled_parsers=settings.parser_disable,
            lib_detection=settings.enable_lib_detection,
        )
        self.parameter_sampler = ParameterSampler(settings.parameter_sample_interval)
        self.limits = HttpLimits(
            max_header_size=settings.max_header_size,
            max_body_size=settings.max_body_size or (1 << 62),
        )
        self.trusted = TrustedProxies(settings.set_real_ip_from)
        self.real_ip_header = settings.real_ip_header.lower().encode("latin-1")
        self.pool = UpstreamPool(self)
        self.access_log = AccessLog(settings.access_log)
        self.shipper = RecordShipper(
            host=settings.wstore_host,
            port=settings.wstore_port,
            node=settings.node_name,
            group=settings.node_group,
            application=settings.application,
            queue_size=settings.record_queue_size,
            connect_attempts=settings.upstream_connect_attempts,
            reconnect_interval=settings.upstream_reconnect_interval,
            stats=stats,
        )
        self.ip_lists = IpLists()
        self.mode_rules = NodeModeRules()
        self.mode = settings.mode
        self.connections: set[ClientConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.draining = False
        self._id_prefix = secrets.token_hex(6)
        self._id_counter = 0
        self._watched: dict[Path, tuple[float, int, int] | None] = {}
        self.acl_path = Path(settings.acl_dir) / "ip-lists.json"
        self.node_config_path = Path(settings.node_dir) / "node-config.json"

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a background task, holding a reference until it ends (asyncio keeps none)."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def next_request_id(self) -> str:
        self._id_counter += 1
        return f"{self._id_prefix}{self._id_counter:08x}"

    # -- files from the node's Cloud sync ----------------------------------------
    def reload_files(self) -> None:
        """Re-read the IP lists and mode rules when they change; keep the old on error."""
        if self._changed(self.acl_path):
            try:
                self.ip_lists = IpLists.load(self.acl_path)
                log.info("ip lists loaded: %d entries from %s", self.ip_lists.size, self.acl_path)
            except (OSError, ValueError) as error:
                log.error("ip lists %s rejected, keeping the previous: %s", self.acl_path, error)
        if self._changed(self.node_config_path):
            try:
                self.mode_rules = NodeModeRules.load(self.node_config_path)
            except (OSError, ValueError) as error:
                log.error("node config %s rejected: %s", self.node_config_path, error)
            self.mode = effective_mode(
                self.settings.mode,
                self.mode_rules.mode_for(self.settings.application),
                self.settings.mode_allow_override,
            )
            log.info("filtering mode: %s", self.mode)

    def _changed(self, path: Path) -> bool:
        try:
            st = path.stat()
            signature: tuple[float, int, int] | None = (st.st_mtime, st.st_size, st.st_ino)
        except OSError:
            signature = None
        if path in self._watched and self._watched[path] == signature:
            return False
        self._watched[path] = signature
        return True


class ClientConnection(asyncio.Protocol):
    """One client connection; requests on it are handled strictly in order."""

    __slots__ = (
        "acl",
        "activity",
        "blocked",
        "body_buffer",
        "body_buffered",
        "bytes_in",
        "bytes_out",
        "client_ip",
        "close_after",
        "continue_sent",
        "deadline",
        "head",
        "loop",
        "mode",
        "paused",
        "peer",
        "reader",
        "request_done",
        "request_id",
        "response_started",
        "retried",
        "started",
        "started_wall",
        "state",
        "status",
        "timeout",
        "timer",
        "timer_at",
        "timer_kind",
        "transport",
        "upstream",
        "verdict",
        "worker",
    )

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.loop = asyncio.get_running_loop()
        self.reader = RequestReader(worker.limits)
        self.state = State.IDLE
        self.transport: asyncio.Transport
        self.upstream: UpstreamConnection | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0.0
        self.timer_kind = Timer.HEADER
        self.deadline = 0.0
        self.timeout = 0.0
        self.activity = 0.0
        self.paused = False
        self.peer = ""
        self._reset_request()

    def _reset_request(self) -> None:
        self.head: RequestHead | None = None
        self.body_buffer: list[bytes] = []
        self.body_buffered = 0
        self.request_done = False
        self.response_started = False
        self.continue_sent = False
        self.blocked = False
        self.close_after = False
        self.retried = False
        self.verdict: Verdict | None = None
        self.status = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.request_id = ""
        self.client_ip = self.peer
        self.mode = FilteringMode.MONITORING
        self.acl = AclStatus.NONE

    # -- asyncio callbacks ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        worker = self.worker
        peer = transport.get_extra_info("peername")
        self.peer = self.client_ip = str(peer[0]) if peer else ""
        if len(worker.connections) >= worker.settings.worker_connections or worker.draining:
            self.transport.abort()
            self.state = State.CLOSED
            return
        worker.connections.add(self)
        worker.stats.connections = len(worker.connections)
        self._arm(Timer.HEADER, worker.settings.client_header_timeout)

    def data_received(self, data: bytes) -> None:
        if self.state is State.CLOSED:
            return
        if self.state is State.TUNNEL:
            if self.upstream is not None:
                self.upstream.transport.write(data)
            return
        if self.timer_kind is Timer.KEEPALIVE and self.state is State.IDLE:
            self._arm(Timer.HEADER, self.worker.settings.client_header_timeout)
        self.activity = self.loop.time()
        self.reader.feed(data)
        self._advance()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.state is not State.CLOSED:
            self._close()

    def pause_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.upstream is not None and not self.upstream.transport.is_closing():
            self.upstream.transport.resume_reading()

    # -- request side ---------------------------------------------------------------
    def _advance(self) -> None:
        reader = self.reader
        while True:
            state = self.state
            if state is State.IDLE:
                event = reader.next_event()
                if event is NEED_DATA:
                    break
                if isinstance(event, RequestHead):
                    self._on_head(event)
                elif isinstance(event, FramingError):
                    self._framing_error(event)
                    return
                else:
                    self._close()
                    return
            elif state is State.BODY_HOLD:
                event = reader.next_event()
                if event is NEED_DATA:
                    break
                if isinstance(event, bytes):
                    self.bytes_in += len(event)
                    self.body_buffer.append(event)
                    self.body_buffered += len(event)
                    if self.body_buffered >= self.worker.settings.inspect_body_limit:
                        self._decide()
                elif event is END_OF_MESSAGE:
                    self.request_done = True
                    self._decide()
                elif isinstance(event, FramingError):
                    self._framing_error(event)
                    return
            elif state is State.FORWARDING:
                if self.request_done:
                    break
                event = reader.next_event()
                if event is NEED_DATA:
                    break
                upstream = self.upstream
                assert upstream is not None and self.head is not None
                if isinstance(event, bytes):
                    self.bytes_in += len(event)
                    upstream.transport.write(encode_chunk(event) if self.head.chunked else event)
                elif event is END_OF_MESSAGE:
                    self.request_done = True
                    if self.head.chunked:
                        upstream.transport.write(LAST_CHUNK)
                    if self.timer_kind is Timer.BODY:
                        self._arm(Timer.UPSTREAM, self.worker.settings.upstream_read_timeout)
                elif isinstance(event, FramingError):
                    self._framing_error(event)
                    return
                elif isinstance(event, TunnelData):  # bytes before the 101: wait for it
                    reader.push_back(event)
                    break
            elif state is State.TUNNEL:
                event = reader.next_event()
                if event is NEED_DATA:
                    break
                if isinstance(event, TunnelData) and self.upstream is not None:
                    self.upstream.transport.write(event.data)
            else:  # CONNECTING or CLOSED: events wait
                break
        if self.state is State.CLOSED:
            return
        pending = reader.pending
        if pending > MAX_PENDING_EVENTS:
            if not self.paused:
                self.paused = True
                self.transport.pause_reading()
        elif self.paused and pending == 0 and self.state is not State.CONNECTING:
            self.paused = False
            self.transport.resume_reading()

    def _on_head(self, head: RequestHead) -> None:
        worker = self.worker
        settings = worker.settings
        self.head = head
        self.request_id = worker.next_request_id()
        self.started = time.perf_counter()
        self.started_wall = time.time()
        worker.stats.requests += 1
        peer = self.peer
        if worker.trusted.is_trusted(peer):
            wanted = worker.real_ip_header
            header = next((v for n, v in head.headers if n.lower() == wanted), None)
            self.client_ip = client_address(peer, header, worker.trusted)
        else:
            self.client_ip = peer
        self.mode = worker.mode
        if self.mode is FilteringMode.OFF:
            self.acl = AclStatus.NONE
        else:
            self.acl = worker.ip_lists.lookup(
                self.client_ip, settings.application, self.started_wall
            )
            if self.acl is AclStatus.ALLOW:
                worker.stats.acl_allow_list += 1
        decision = decide_before_inspection(self.mode, self.acl)
        if decision is Decision.BLOCK_ACL:
            worker.stats.blocked_by_acl += 1
            self._block("acl_ip")
            return
        if decision is Decision.FORWARD or not head.has_body or settings.inspect_body_limit == 0:
            if not head.has_body:
                self.request_done = True
                self._cancel_timer()
            else:
                self._arm(Timer.BODY, settings.client_body_timeout)
            self._decide()
            return
        self._arm(Timer.BODY, settings.client_body_timeout)
        if head.expect_continue:
            self.transport.write(CONTINUE_RESPONSE)
            self.continue_sent = True
        self.state = State.BODY_HOLD

    def _decide(self) -> None:
        head = self.head
        assert head is not None
        worker = self.worker
        if self.mode is not FilteringMode.OFF:
            header_names = _HEADER_NAMES
            body = b"".join(self.body_buffer) if self.body_buffer else b""
            limit = worker.settings.inspect_body_limit
            request = InspectedRequest(
                method=head.method,
                target=head.target.decode("latin-1"),
                headers=[
                    (header_names.get(name) or _header_name(name), value.decode("latin-1"))
                    for name, value in head.headers
                ],
                body=body[:limit],
                body_truncated=not self.request_done or len(body) > limit,
                client_ip=self.client_ip,
            )
            started = time.perf_counter()
            path = request.target.partition("?")[0]
            collect = worker.parameter_sampler(head.method, path, self.loop.time())
            try:
                verdict = worker.engine.inspect(request, collect=collect)
            except Exception:  # a detector bug must not take the request down
                log.exception("detection failed for request %s", self.request_id)
                verdict = Verdict()
            worker.stats.time_detect_us += int((time.perf_counter() - started) * 1e6)
            self.verdict = verdict
            if verdict.hits:
                worker.stats.attacks += 1
                if should_block(self.mode, self.acl, is_attack=True):
                    worker.stats.blocked += 1
                    self._block("attack")
                    return
        self._forward()

    def _block(self, reason: str) -> None:
        assert self.head is not None
        self.blocked = True
        self.close_after = not (self.request_done and self.head.keep_alive)
        response = self.worker.settings.block_page.render(
            self.request_id, reason, close=self.close_after
        )
        self.status = int(response[9:12])
        self._respond_locally(response)

    def _framing_error(self, error: FramingError) -> None:
        """A request that cannot be framed safely: answer if we still can, then close."""
        self.worker.stats.bad_requests += 1
        if self.head is None or not self.response_started:
            if self.head is None:
                self.request_id = self.worker.next_request_id()
                self.started = time.perf_counter()
                self.started_wall = time.time()
            self.status = error.status
            self.close_after = True
            log.info("request refused (%d): %s from %s", error.status, error.reason, self.peer)
            if self.upstream is not None:
                self.upstream.transport.close()
                self.upstream = None
            self._respond_locally(
                simple_response(
                    error.status,
                    f"{error.reason}\n".encode(),
                    request_id=self.request_id,
                    close=True,
                )
            )
        else:
            self._close()

    def _respond_locally(self, response: bytes) -> None:
        self.state = State.FORWARDING  # no more events until this request is finished
        self.response_started = True
        self.bytes_out = len(response)
        self.transport.write(response)
        self._finish_request()

    # -- upstream side -------------------------------------------------------------
    def _forward(self) -> None:
        head = self.head
        assert head is not None
        if head.expect_continue and not self.continue_sent and not self.request_done:
            self.transport.write(CONTINUE_RESPONSE)
            self.continue_sent = True
        upstream = self.worker.pool.acquire()
        if upstream is not None:
            self._attach(upstream)
        else:
            self.state = State.CONNECTING
            self.worker.spawn(self._connect())

    async def _connect(self) -> None:
        worker = self.worker
        try:
            upstream = await worker.pool.connect()
        except (OSError, TimeoutError) as error:
            if self.state is State.CLOSED:
                return
            worker.stats.upstream_errors += 1
            log.warning(
                "upstream %s:%d: %s",
                worker.settings.upstream_host,
                worker.settings.upstream_port,
                error or "connect timeout",
            )
            self._upstream_failed(502)
            return
        if self.state is not State.CONNECTING:
            upstream.transport.close()
            return
        self._attach(upstream)

    def _attach(self, upstream: UpstreamConnection) -> None:
        head = self.head
        assert head is not None
        self.state = State.FORWARDING
        self.upstream = upstream
        upstream.client = self
        upstream.transport.resume_reading()  # it may have been paused for a slow client
        upstream.framing.reset(no_body=head.method == "HEAD")
        client_keep_alive = head.version == "1.1"
        parts = [
            serialize_request_head(
                head,
                forwarded_for=self.peer.encode("latin-1"),
                real_ip=self.client_ip.encode("latin-1"),
                keep_alive_upstream=client_keep_alive,
            )
        ]
        for chunk in self.body_buffer:
            parts.append(encode_chunk(chunk) if head.chunked else chunk)
        if self.request_done and head.chunked:
            parts.append(LAST_CHUNK)
        upstream.transport.write(b"".join(parts))
        if self.request_done:
            self._arm(Timer.UPSTREAM, self.worker.settings.upstream_read_timeout)
        self._advance()

    def on_upstream_data(self, upstream: UpstreamConnection, data: bytes) -> None:
        if self.state is State.TUNNEL:
            self.transport.write(data)
            return
        framing = upstream.framing
        try:
            framing.feed(data)
        except Exception as error:  # httptools.HttpParserError and kin
            log.warning("invalid response from upstream: %s", error)
            self.worker.stats.upstream_errors += 1
            upstream.client = None
            upstream.transport.close()
            self.upstream = None
            if self.response_started:
                self._close()
            else:
                self._upstream_failed(502)
            return
        self.activity = self.loop.time()
        self.response_started = True
        self.bytes_out += len(data)
        self.transport.write(data)
        if framing.complete:
            self.status = framing.status
            if framing.upgraded:
                self.state = State.TUNNEL
                self._cancel_timer()
                self._advance()
                return
            self._finish_request()

    def on_upstream_lost(self, upstream: UpstreamConnection) -> None:
        upstream.client = None
        if self.upstream is not upstream or self.state is State.CLOSED:
            return
        self.upstream = None
        head = self.head
        if self.state is State.TUNNEL:
            self._close()
        elif self.response_started:
            # A response delimited by the connection's end ends here.
            self.status = upstream.framing.status
            self.close_after = True
            self._finish_request()
        elif (
            upstream.reused
            and not self.retried
            and self.request_done
            and self.bytes_in == self.body_buffered
            and head is not None
            and head.method in IDEMPOTENT
        ):
            # A pooled connection the application had just closed: try a fresh one.
            self.retried = True
            self.state = State.CONNECTING
            self.worker.spawn(self._connect())
        else:
            self.worker.stats.upstream_errors += 1
            self._upstream_failed(502)

    def _upstream_failed(self, status: int) -> None:
        if self.upstream is not None:
            self.upstream.client = None
            self.upstream.transport.close()
            self.upstream = None
        self.status = status
        self.close_after = not self.request_done
        self._respond_locally(
            simple_response(
                status,
                b"upstream unavailable\n" if status == 502 else b"upstream timed out\n",
                request_id=self.request_id,
                close=self.close_after,
            )
        )

    # -- the end of a request ---------------------------------------------------------
    def _finish_request(self) -> None:
        worker = self.worker
        head = self.head
        upstream = self.upstream
        if not self.request_done:
            self.close_after = True  # the rest of the body would be mistaken for a request
        if upstream is not None:
            self.upstream = None
            if upstream.framing.keep_alive and self.request_done and not self.close_after:
                worker.pool.release(upstream)
            else:
                upstream.client = None
                upstream.transport.close()
        if head is not None:
            self._report(head)
        keep_alive = (
            head is not None
            and head.keep_alive
            and not self.close_after
            and not worker.draining
            and (upstream is None or upstream.framing.keep_alive or self.blocked)
        )
        if not keep_alive:
            self._close(flush=True)
            return
        self._reset_request()
        self.state = State.IDLE
        self._arm(Timer.KEEPALIVE, worker.settings.keepalive_timeout)
        if self.reader.pending:
            self.loop.call_soon(self._advance)

    def _report(self, head: RequestHead) -> None:
        worker = self.worker
        settings = worker.settings
        mode = self.mode
        duration_ms = (time.perf_counter() - self.started) * 1000.0
        target = head.target.decode("latin-1")
        if worker.access_log.enabled:
            worker.access_log.add(
                {
                    "time": self.started_wall,
                    "request_id": self.request_id,
                    "client": self.client_ip,
                    "method": head.method,
                    "target": mask_target(target),
                    "status": self.status,
                    "bytes_in": self.bytes_in,
                    "bytes_out": self.bytes_out,
                    "duration_ms": round(duration_ms, 3),
                    "attacks": [h.attack_type for h in self.verdict.hits] if self.verdict else [],
                    "blocked": self.blocked,
                }
            )
        if mode is FilteringMode.OFF:
            return
        shipper = worker.shipper
        if len(shipper.queue) >= shipper.queue_size:
            worker.stats.requests_lost += 1  # full: don't build what would be dropped
            return
        verdict = self.verdict
        shipper.submit_packed(
            pack_record(
                request_id=self.request_id,
                time=self.started_wall,
                node=settings.node_name,
                application=settings.application,
                client_ip=self.client_ip,
                method=head.method,
                host=head.host.decode("latin-1"),
                path=target.partition("?")[0],
                parameters=verdict.parameters if verdict else (),
                status=self.status,
                duration_ms=duration_ms,
                bytes_in=self.bytes_in,
                bytes_out=self.bytes_out,
                blocked=self.blocked,
                mode=mode.value,
                hits=[
                    (hit.attack_type, hit.point, hit.fragment, hit.rule_id) for hit in verdict.hits
                ]
                if verdict
                else (),
            )
        )

    # -- timers and closing -----------------------------------------------------------------
    # One timer handle per connection, moved lazily: changing the deadline costs an
    # attribute write unless it moves earlier than the handle already scheduled.
    def _arm(self, kind: Timer, seconds: float) -> None:
        now = self.loop.time()
        deadline = now + seconds
        self.timer_kind = kind
        self.timeout = seconds
        self.deadline = deadline
        self.activity = now
        if self.timer is None or self.timer_at > deadline:
            if self.timer is not None:
                self.timer.cancel()
            self.timer_at = deadline
            self.timer = self.loop.call_at(deadline, self._on_timer)

    def _cancel_timer(self) -> None:
        self.deadline = 0.0

    def _on_timer(self) -> None:
        self.timer = None
        if self.state is State.CLOSED or not self.deadline:
            return
        kind = self.timer_kind
        deadline = self.deadline
        if kind in (Timer.BODY, Timer.UPSTREAM):
            deadline = max(deadline, self.activity + self.timeout)  # activity extends it
        if self.loop.time() < deadline - 0.001:
            self.timer_at = deadline
            self.timer = self.loop.call_at(deadline, self._on_timer)
            return
        if kind is Timer.KEEPALIVE:
            self._close()
        elif kind is Timer.HEADER or (kind is Timer.BODY and not self.response_started):
            self.worker.stats.bad_requests += 1
            self._respond_timeout()
        elif kind is Timer.UPSTREAM and not self.response_started:
            self.worker.stats.upstream_timeouts += 1
            self._upstream_failed(504)
        else:
            self._close()

    def _respond_timeout(self) -> None:
        if not self.request_id:
            self.request_id = self.worker.next_request_id()
        if self.upstream is not None:
            self.upstream.client = None
            self.upstream.transport.close()
            self.upstream = None
        self.transport.write(
            simple_response(408, b"request timeout\n", request_id=self.request_id, close=True)
        )
        self._close(flush=True)

    def _close(self, *, flush: bool = False) -> None:
        if self.state is State.CLOSED:
            return
        self.state = State.CLOSED
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        upstream = self.upstream
        if upstream is not None:
            self.upstream = None
            upstream.client = None
            upstream.transport.close()
        if flush:
            self.transport.close()
        else:
            self.transport.abort()
        worker = self.worker
        worker.connections.discard(self)
        worker.stats.connections = len(worker.connections)

    def close_when_idle(self) -> None:
        """Graceful shutdown: an idle connection closes now, a busy one after its response."""
        if self.state is State.IDLE and not self.reader.pending:
            self._close(flush=True)
