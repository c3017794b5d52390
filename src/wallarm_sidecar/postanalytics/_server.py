"""The asyncio shell of wstore: the record protocol, health, metrics and export.

Each proxy connection is a `ProxyConnection` driving one `wire.ReceiverSession`; all
share one `DeliveryLog` and one `RecordStore`. Records are stored synchronously in
`data_received`, before the ACK is written, so an ACK always means "stored", and a
busy store slows the readers down through TCP itself instead of a queue.

Bounds: a frame is at most `max_frame_size`; a new connection must say HELLO within
`handshake_timeout` and a started frame must arrive whole within `frame_timeout`
(slowloris); a connection whose ACKs pile up unread stops being read; when the partly
received frames of all connections exceed `ingest_buffer`, the connection that adds
more is paused until others complete theirs (one connection always keeps going).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import socket
from collections import deque
from collections.abc import Iterable
from typing import cast

import msgpack

from wallarm_sidecar._tinyhttp import Response, Routes, TinyHttp
from wallarm_sidecar.postanalytics._settings import WstoreSettings
from wallarm_sidecar.postanalytics._status import (
    ServerCounters,
    health_document,
    health_json,
    metrics_registry,
    metrics_text,
)
from wallarm_sidecar.postanalytics._store import RecordStore
from wallarm_sidecar.wire import (
    DeliveryLog,
    FrameType,
    ProtocolError,
    ReceiverSession,
    RequestRecord,
    encode_frame,
)

log = logging.getLogger("wallarm_sidecar.postanalytics.wstore")

EXPORT_PAGE_DEFAULT = 1000
DROP_LINGER = 5.0
EXPORT_PAGE_MAX = 10_000
_JSON = b"application/json"


class ProxyConnection(asyncio.Protocol):
    """One proxy worker's connection: bytes in, records into the store, ACKs out."""

    def __init__(self, server: WstoreServer) -> None:
        self.server = server
        self.session = ReceiverSession(server.log, max_frame_size=server.settings.max_frame_size)
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.timer: asyncio.TimerHandle | None = None
        self.buffered = 0
        self.duplicates = 0
        self.paused_for_buffer = False
        self.paused_for_writing = False
        self.closed = False

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.peer = f"{peer[0]}:{peer[1]}"
        if not self.server.admit(self):
            self.drop(f"connection limit of {self.server.settings.max_connections} reached")
            return
        self._start_timer(self.server.settings.handshake_timeout, "no HELLO")

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            replies, records = self.session.receive(data)
        except ProtocolError as error:
            self.drop(str(error))
            return
        server = self.server
        if records:
            server.store_records(records)
        if self.session.duplicates != self.duplicates:
            server.counters.duplicates += self.session.duplicates - self.duplicates
            self.duplicates = self.session.duplicates
        transport = self.transport
        assert transport is not None
        if replies:
            transport.write(replies)
            self._cancel_timer()
        buffered = self.session.decoder.buffered
        if buffered and self.timer is None and not self.paused_for_buffer:
            self._start_timer(server.settings.frame_timeout, "a frame started and did not finish")
        if buffered != self.buffered:
            server.account(self, buffered - self.buffered)

    def eof_received(self) -> bool | None:
        return None

    def pause_writing(self) -> None:
        # The peer does not read its ACKs: stop reading what would make more of them.
        self.paused_for_writing = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.paused_for_writing = False
        if self.transport is not None and not self.paused_for_buffer and not self.closed:
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        self.server.forget(self)

    # state changes driven by the server

    def drop(self, reason: str) -> None:
        """Disconnect with a logged reason (and an ERROR frame, as the protocol says)."""
        if self.closed or self.transport is None:
            return
        log.warning("dropping connection from %s: %s", self.peer, reason)
        self.server.counters.dropped += 1
        self.closed = True
        self._cancel_timer()
        transport = self.transport
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() > 65536:
            transport.abort()
            return
        with contextlib.suppress(Exception):
            transport.write(encode_frame(FrameType.ERROR, {"message": reason[:200]}))
        transport.close()
        # close() waits for the ERROR frame to leave; a peer that never reads must not
        # keep its slot (and its buffers) that way.
        asyncio.get_running_loop().call_later(DROP_LINGER, transport.abort)

    def pause_for_buffer(self) -> None:
        self.paused_for_buffer = True
        self._cancel_timer()  # waiting on others is not this peer's fault
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_for_buffer(self) -> None:
        self.paused_for_buffer = False
        if self.closed or self.transport is None:
            return
        if self.buffered:
            self._start_timer(
                self.server.settings.frame_timeout, "a frame started and did not finish"
            )
        if not self.paused_for_writing:
            self.transport.resume_reading()

    def _start_timer(self, seconds: float, reason: str) -> None:
        self._cancel_timer()
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(seconds, self._timed_out, f"{reason} within {seconds:g}s")

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _timed_out(self, reason: str) -> None:
        self.timer = None
        self.drop(reason)


class WstoreServer:
    """The record protocol server plus its health, metrics and export endpoints."""

    def __init__(self, settings: WstoreSettings, *, store: RecordStore | None = None) -> None:
        self.settings = settings
        self.store = store if store is not None else RecordStore(budget=settings.arena_bytes)
        self.log = DeliveryLog()
        self.counters = ServerCounters()
        self.connections: set[ProxyConnection] = set()
        self.buffered_total = 0
        self.waiting: deque[ProxyConnection] = deque()
        self.stopping = False
        self.registry = metrics_registry(self.store, self.counters)
        self._servers: list[asyncio.AbstractServer] = []
        self._pack = msgpack.Packer(use_bin_type=True).pack
        #: Random per start: the jobs container's commit names it, so a commit meant for
        #: a previous wstore (whose numbers restarted from 1) is refused, not applied.
        self.instance = secrets.token_hex(8)
        #: Bound addresses by name (listen, health, metrics, export); ports resolved.
        self.addresses: dict[str, tuple[str, int]] = {}

    # the protocol side

    def admit(self, connection: ProxyConnection) -> bool:
        if self.stopping or len(self.connections) >= self.settings.max_connections:
            return False
        self.connections.add(connection)
        self.counters.accepted += 1
        self.counters.connections = len(self.connections)
        return True

    def forget(self, connection: ProxyConnection) -> None:
        if connection in self.connections:
            self.connections.discard(connection)
            self.counters.connections = len(self.connections)
        if connection.buffered:
            self.buffered_total -= connection.buffered
            connection.buffered = 0
        if connection.paused_for_buffer:
            with contextlib.suppress(ValueError):
                self.waiting.remove(connection)
        self._resume_waiting()

    def store_records(self, records: Iterable[RequestRecord]) -> None:
        append = self.store.append
        pack = self._pack
        for record in records:
            append(pack(record.to_wire()), hits=len(record.hits))

    def account(self, connection: ProxyConnection, delta: int) -> None:
        """Track partly received frames over all connections; pause past the budget."""
        connection.buffered += delta
        self.buffered_total += delta
        if delta < 0:
            self._resume_waiting()
        elif (
            self.buffered_total > self.settings.ingest_buffer
            and not connection.paused_for_buffer
            and self._others_progressing(connection)
        ):
            connection.pause_for_buffer()
            self.waiting.append(connection)
            self.counters.paused += 1

    def _others_progressing(self, connection: ProxyConnection | None) -> bool:
        return any(
            other is not connection and other.buffered and not other.paused_for_buffer
            for other in self.connections
        )

    def _resume_waiting(self) -> None:
        while self.waiting and (
            self.buffered_total <= self.settings.ingest_buffer or not self._others_progressing(None)
        ):
            self.waiting.popleft().resume_for_buffer()

    # the HTTP side

    def _health(self, params: dict[str, str], body: bytes) -> Response:
        document = health_document(self.store, self.counters, stopping=self.stopping)
        return (503 if self.stopping else 200), _JSON, health_json(document)

    def _metrics(self, params: dict[str, str], body: bytes) -> Response:
        return 200, b"text/plain; version=0.0.4; charset=utf-8", metrics_text(self.registry)

    def _export_read(self, params: dict[str, str], body: bytes) -> Response:
        try:
            cursor = int(params.get("cursor", self.store.export_cursor))
            limit = int(params.get("limit", EXPORT_PAGE_DEFAULT))
            if cursor < 0 or not 0 <= limit <= EXPORT_PAGE_MAX:
                raise ValueError
        except ValueError:
            return 400, b"text/plain", f"cursor >= 0, limit 0..{EXPORT_PAGE_MAX}\n".encode()
        page = self.store.read_since(cursor, limit)
        body = encode_export_page(page.records, page.cursor, page.missed, self.instance)
        return 200, b"application/msgpack", body

    def _export_cursor(self, params: dict[str, str], body: bytes) -> Response:
        store = self.store
        document = {
            "export_cursor": store.export_cursor,
            "first_seq": store.first_seq,
            "last_seq": store.next_seq - 1,
            "instance": self.instance,
        }
        return 200, _JSON, health_json(document)

    def _export_commit(self, params: dict[str, str], body: bytes) -> Response:
        try:
            cursor = int(params["cursor"])
            instance = params.get("instance", self.instance)
            if instance != self.instance:
                return 409, b"text/plain", b"instance: this wstore restarted; read again\n"
            self.store.commit_export(cursor)
        except (KeyError, ValueError):
            return 400, b"text/plain", b"cursor=N (N >= 0) is required\n"
        return self._export_cursor(params, body)

    # life cycle

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        settings = self.settings
        routes: dict[str, Routes] = {
            "health": {(b"GET", b"/health"): self._health},
            "metrics": {(b"GET", b"/metrics"): self._metrics},
            "export": {
                (b"GET", b"/export"): self._export_read,
                (b"GET", b"/export/cursor"): self._export_cursor,
                (b"POST", b"/export/cursor"): self._export_commit,
            },
        }
        listens = {
            "listen": settings.listen,
            "health": settings.health_listen,
            "metrics": settings.metrics_listen,
            "export": settings.export_listen,
        }
        try:
            for name, (host, port) in listens.items():
                try:
                    sock = bind_listener(host, port)
                except OSError as error:
                    raise OSError(error.errno, f"{name} address {host}:{port}: {error}") from None
                if name == "listen":
                    server = await loop.create_server(
                        lambda: ProxyConnection(self), sock=sock, backlog=1024
                    )
                else:
                    table = routes[name]
                    server = await loop.create_server(lambda t=table: TinyHttp(t), sock=sock)  # type: ignore[misc]
                self._servers.append(server)
                bound = sock.getsockname()
                self.addresses[name] = (str(bound[0]), int(bound[1]))
        except BaseException:
            await self.stop()
            raise

    async def stop(self, *, timeout: float = 5.0) -> None:
        """Stop accepting, close every connection (ACKs already written are flushed)."""
        self.stopping = True
        for server in self._servers:
            server.close()
        for connection in list(self.connections):
            if connection.transport is not None and not connection.transport.is_closing():
                connection.closed = True
                connection.transport.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.connections and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.abort()
        self._servers.clear()


def encode_export_page(
    records: list[tuple[int, bytes]], cursor: int, missed: int, instance: str = ""
) -> bytes:
    """`{"from": first seq, "cursor": last seq, "missed": n, "instance": id,
    "records": [record, ...]}` in msgpack, the stored record bytes spliced in as they are."""
    packer = msgpack.Packer(use_bin_type=True)
    first = records[0][0] if records else cursor + 1
    return b"".join(
        (
            packer.pack_map_header(5),
            packer.pack("instance"),
            packer.pack(instance),
            packer.pack("from"),
            packer.pack(first),
            packer.pack("cursor"),
            packer.pack(cursor),
            packer.pack("missed"),
            packer.pack(missed),
            packer.pack("records"),
            packer.pack_array_header(len(records)),
            *(packed for _, packed in records),
        )
    )


def bind_listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def serve(settings: WstoreSettings) -> int:
    server = WstoreServer(settings)
    try:
        await server.start()
    except OSError as error:
        log.error("cannot listen: %s", error)
        return 1
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    addresses = server.addresses
    log.info(
        "wstore listening on %s:%d (health %s:%d, metrics %s:%d, export %s:%d), arena %d bytes",
        *addresses["listen"],
        *addresses["health"],
        *addresses["metrics"],
        *addresses["export"],
        server.store.budget,
    )
    await stop.wait()
    log.info("stopping: closing %d connection(s)", len(server.connections))
    await server.stop(timeout=settings.shutdown_timeout)
    counters = server.store.counters
    log.info(
        "stopped: %d records stored, %d evicted, %d rejected",
        counters.stored,
        counters.evictions,
        counters.rejected,
    )
    return 0


def run_wstore(settings: WstoreSettings) -> int:
    """Run wstore in the foreground until SIGTERM; returns the exit code."""
    import uvloop  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(asctime)s wstore %(message)s")
    return uvloop.run(serve(settings))


__all__ = ["ProxyConnection", "WstoreServer", "encode_export_page", "run_wstore", "serve"]
