"""Ships request records to postanalytics (wstore) without ever making a request wait.

Records wait in a bounded queue; a background task sends them in batches (by
size, or every 200 ms) over the record protocol of docs/wire-protocol.md and
keeps each batch until wstore acknowledges it, resending it after a reconnect
under the same sequence number (wstore drops what it already stored). A full
queue drops the new record and counts it in `requests_lost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections import deque

import msgpack

from wallarm_sidecar.proxy._stats import WorkerStats
from wallarm_sidecar.wire import (
    PROTOCOL_VERSION,
    Frame,
    FrameDecoder,
    FrameType,
    ProtocolError,
    RequestRecord,
    encode_frame,
    encode_packed_batch,
)

log = logging.getLogger("wallarm_sidecar.proxy.reporter")

BATCH_SIZE = 512
FLUSH_INTERVAL = 0.2
ACK_TIMEOUT = 10.0


class RecordShipper:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        node: str,
        group: str,
        application: str,
        queue_size: int,
        connect_attempts: int,
        reconnect_interval: float,
        stats: WorkerStats,
    ) -> None:
        self.host = host
        self.port = port
        self.hello = {
            "version": PROTOCOL_VERSION,
            "session": secrets.token_hex(8),
            "node": node,
            "group": group,
            "application": application,
            "pid": os.getpid(),
        }
        # Records wait packed (msgpack bytes): small, and invisible to the garbage collector.
        self.queue: deque[bytes] = deque()
        self.queue_size = queue_size
        self.connect_attempts = connect_attempts
        self.reconnect_interval = reconnect_interval
        self.stats = stats
        self._wakeup = asyncio.Event()
        self._seq = 0
        self._unacked: tuple[int, list[bytes]] | None = None
        self._closing = False

    def submit(self, record: RequestRecord) -> None:
        self.submit_packed(msgpack.packb(record.to_wire(), use_bin_type=True))

    def submit_packed(self, packed: bytes) -> None:
        """Queue one record already packed with `wire.pack_record`; never waits."""
        queue = self.queue
        if len(queue) >= self.queue_size:
            self.stats.requests_lost += 1
            return
        queue.append(packed)
        if len(queue) == BATCH_SIZE:
            self._wakeup.set()

    @property
    def backlog(self) -> int:
        return len(self.queue) + (len(self._unacked[1]) if self._unacked else 0)

    async def run(self) -> None:
        """Forever: connect, say hello, ship batches; reconnect on any failure."""
        failures = 0
        while not self._closing:
            try:
                async with asyncio.timeout(5.0):
                    reader, writer = await asyncio.open_connection(self.host, self.port)
            except (OSError, TimeoutError) as error:
                failures += 1
                self.stats.tnt_errors += 1
                if failures % self.connect_attempts == 0:
                    log.warning(
                        "postanalytics %s:%d unreachable after %d attempts (%s); retrying in %.1fs",
                        self.host,
                        self.port,
                        failures,
                        error,
                        self.reconnect_interval,
                    )
                    await self._sleep(self.reconnect_interval)
                else:
                    await self._sleep(min(0.05 * 2 ** (failures % self.connect_attempts), 2.0))
                continue
            failures = 0
            try:
                await self._session(reader, writer)
            except (OSError, ProtocolError, TimeoutError, asyncio.IncompleteReadError) as error:
                self.stats.tnt_errors += 1
                log.warning("postanalytics connection lost: %s", error)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def flush(self, timeout: float) -> None:
        """Give queued records a chance to leave (graceful shutdown)."""
        deadline = asyncio.get_running_loop().time() + timeout
        self._wakeup.set()
        while self.backlog and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)

    async def _sleep(self, seconds: float) -> None:
        # asyncio.timeout, unlike wait_for on 3.11, never swallows a cancellation.
        if self._closing:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wakeup.wait()
        self._wakeup.clear()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = FrameDecoder(max_frame_size=1024 * 1024)
        writer.write(encode_frame(FrameType.HELLO, self.hello))
        reply = await self._read_frame(reader, decoder)
        if reply.type is not FrameType.HELLO_ACK:
            raise ProtocolError(f"expected HELLO_ACK, got {reply.type.name}: {reply.payload!r}")
        while not self._closing:
            if self._unacked is None:
                if not self.queue:
                    await self._sleep(FLUSH_INTERVAL)
                    if not self.queue:
                        continue
                batch = [self.queue.popleft() for _ in range(min(BATCH_SIZE, len(self.queue)))]
                self._seq += 1
                self._unacked = (self._seq, batch)
            seq, batch = self._unacked
            writer.write(encode_packed_batch(seq, batch))
            await writer.drain()
            reply = await self._read_frame(reader, decoder)
            if reply.type is not FrameType.ACK or not isinstance(reply.payload, dict):
                raise ProtocolError(f"expected ACK, got {reply.type.name}")
            if reply.payload.get("seq") != seq:
                raise ProtocolError(f"ACK for {reply.payload.get('seq')!r}, expected {seq}")
            self.stats.records_sent += len(batch)
            self._unacked = None

    async def _read_frame(self, reader: asyncio.StreamReader, decoder: FrameDecoder) -> Frame:
        while True:
            async with asyncio.timeout(ACK_TIMEOUT):
                data = await reader.read(65536)
            if not data:
                raise ConnectionResetError("postanalytics closed the connection")
            frames = decoder.feed(data)
            if frames:
                if frames[0].type is FrameType.ERROR:
                    raise ProtocolError(f"postanalytics refused: {frames[0].payload!r}")
                return frames[0]

    def close(self) -> None:
        self._closing = True
        self._wakeup.set()
