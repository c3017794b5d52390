from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgpack
import pytest
import uvloop

from wallarm_sidecar.postanalytics import WstoreServer, WstoreSettings
from wallarm_sidecar.wire import (
    PROTOCOL_VERSION,
    Frame,
    FrameDecoder,
    FrameType,
    encode_frame,
    encode_packed_batch,
    pack_record,
)

ServerFactory = Callable[..., Awaitable[WstoreServer]]


@pytest.hookimpl(optionalhook=True)
def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async test here runs on both loops: production runs wstore on uvloop."""
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


def settings(**overrides: Any) -> WstoreSettings:
    values: dict[str, Any] = {
        # Port 0: the kernel picks free ports at bind time (server.addresses has them).
        "listen": ("127.0.0.1", 0),
        "health_listen": ("127.0.0.1", 0),
        "metrics_listen": ("127.0.0.1", 0),
        "export_listen": ("127.0.0.1", 0),
        "arena": 0.01,
    }
    values.update(overrides)
    return WstoreSettings.model_validate(values)


@pytest.fixture
async def start_wstore() -> AsyncIterator[ServerFactory]:
    servers: list[WstoreServer] = []

    async def start(**overrides: Any) -> WstoreServer:
        server = WstoreServer(settings(**overrides))
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop(timeout=1.0)


def packed(request_id: str, *, hits: int = 1, path: str = "/etc/passwd") -> bytes:
    return pack_record(
        request_id=request_id,
        time=1700000000.5,
        node="pod-1",
        application="shop",
        client_ip="192.0.2.7",
        method="GET",
        host="shop.local",
        path=path,
        parameters=[('get_param "id"', "integer")],
        status=200,
        duration_ms=0.7,
        bytes_in=0,
        bytes_out=120,
        blocked=False,
        mode="monitoring",
        hits=[("ptrav", "uri", "/etc/passwd", "ptrav-1")] * hits,
    )


class RawSender:
    """A hand-driven sender: HELLO, BATCH frames and anything else, byte by byte."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = FrameDecoder()

    @classmethod
    async def connect(cls, port: int) -> RawSender:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def hello(self, session: str = "raw-session") -> Frame:
        hello = {"version": PROTOCOL_VERSION, "session": session, "node": "n", "group": "g"}
        hello |= {"application": "", "pid": 1}
        self.writer.write(encode_frame(FrameType.HELLO, hello))
        return await self.frame()

    async def batch(self, seq: int, records: list[bytes]) -> Frame:
        self.writer.write(encode_packed_batch(seq, records))
        return await self.frame()

    async def frame(self, timeout: float = 5.0) -> Frame:
        while True:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise ConnectionResetError("closed")
            frames = self.decoder.feed(data)
            if frames:
                return frames[0]

    async def closed_by_peer(self, timeout: float = 5.0) -> list[Frame]:
        """Frames the receiver sent before closing; fails if it does not close in time."""
        frames: list[Frame] = []
        while True:
            try:
                data = await asyncio.wait_for(self.reader.read(65536), timeout)
            except ConnectionResetError:
                return frames
            if not data:
                return frames
            frames.extend(self.decoder.feed(data))

    def close(self) -> None:
        self.writer.close()


def unpack(stored: bytes) -> list[Any]:
    value: list[Any] = msgpack.unpackb(stored, raw=False)
    return value


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
