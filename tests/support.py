"""Test servers and clients shared by the test suites: a scriptable app and a wstore stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httptools

from wallarm_sidecar.wire import DeliveryLog, ProtocolError, ReceiverSession, RequestRecord


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class AppServer:
    """An upstream application whose behaviour the request path chooses.

    /slow?s=N sleeps N seconds; /close answers with Connection: close; /eof sends
    a body delimited by closing; /chunked answers chunked; /big?n=N sends N bytes;
    /ws upgrades to an echo tunnel; /status/N answers N; anything else echoes.
    """

    port: int = 0
    requests: list[ReceivedRequest] = field(default_factory=list)
    connections: int = 0
    server: asyncio.AbstractServer | None = None
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> AppServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                self.requests.append(request)
                if not await self._respond(request, reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, httptools.HttpParserError):
            pass
        finally:
            writer.close()

    async def _respond(
        self, request: ReceivedRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        path, _, query = request.path.partition("?")
        if path == "/slow":
            await asyncio.sleep(float(query.partition("=")[2] or 1))
        if path == "/close":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
            return False
        if path == "/eof":
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-the-end")
            await writer.drain()
            return False
        if path == "/chunked":
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )
            await writer.drain()
            return True
        if path == "/ws":
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\n\r\n"
            )
            await writer.drain()
            while data := await reader.read(65536):
                writer.write(b"echo:" + data)
                await writer.drain()
            return False
        if path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            body = b"" if status in (204, 304) else b"status"
            length = b"" if status in (204, 304) else b"Content-Length: %d\r\n" % len(body)
            writer.write(b"HTTP/1.1 %d X\r\n%b\r\n%b" % (status, length, body))
            await writer.drain()
            return True
        if path == "/big":
            size = int(query.partition("=")[2])
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
            writer.write(b"x" * size)
            await writer.drain()
            return True
        body = b"%s %s %d" % (request.method.encode(), request.path.encode(), len(request.body))
        if request.method == "HEAD":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body))
        await writer.drain()
        return True


async def _read_request(reader: asyncio.StreamReader) -> ReceivedRequest | None:
    collected: dict[str, object] = {"headers": {}, "body": b"", "url": b"", "done": False}

    class Callbacks:
        def on_url(self, url: bytes) -> None:
            collected["url"] = collected["url"] + url  # type: ignore[operator]

        def on_header(self, name: bytes, value: bytes) -> None:
            collected["headers"][name.decode().lower()] = value.decode("latin-1")  # type: ignore[index]

        def on_body(self, body: bytes) -> None:
            collected["body"] = collected["body"] + body  # type: ignore[operator]

        def on_message_complete(self) -> None:
            collected["done"] = True

    parser = httptools.HttpRequestParser(Callbacks())
    while not collected["done"]:
        data = await reader.read(65536)
        if not data:
            return None
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            break
    return ReceivedRequest(
        method=parser.get_method().decode(),
        path=collected["url"].decode("latin-1"),  # type: ignore[attr-defined]
        headers=collected["headers"],  # type: ignore[arg-type]
        body=collected["body"],  # type: ignore[arg-type]
    )


@dataclass
class WstoreStandIn:
    """Receives request records over the wire protocol, as postanalytics will."""

    port: int = 0
    records: list[RequestRecord] = field(default_factory=list)
    log: DeliveryLog = field(default_factory=DeliveryLog)
    server: asyncio.AbstractServer | None = None
    batches: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self, port: int = 0) -> WstoreStandIn:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        session = ReceiverSession(self.log)
        try:
            while data := await reader.read(65536):
                reply, records = session.receive(data)
                self.records.extend(records)
                if reply:
                    self.batches += 1
                    writer.write(reply)
                    await writer.drain()
        except (ProtocolError, ConnectionError):
            pass
        finally:
            writer.close()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[RequestRecord]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.records) < count and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        return self.records


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


async def read_response(
    reader: asyncio.StreamReader, *, head_request: bool = False, timeout: float = 5.0
) -> RawResponse:
    """One response from a raw connection (Content-Length, chunked or until close)."""
    state: dict[str, object] = {"headers": {}, "body": b"", "done": False}
    parser_holder: list[httptools.HttpResponseParser] = []

    class Callbacks:
        def on_header(self, name: bytes, value: bytes) -> None:
            state["headers"][name.decode().lower()] = value.decode("latin-1")  # type: ignore[index]

        def on_headers_complete(self) -> None:
            if parser_holder[0].get_status_code() < 200:
                state["headers"] = {}
            elif head_request:
                state["done"] = True

        def on_body(self, body: bytes) -> None:
            state["body"] = state["body"] + body  # type: ignore[operator]

        def on_message_complete(self) -> None:
            if parser_holder[0].get_status_code() >= 200:
                state["done"] = True

    parser = httptools.HttpResponseParser(Callbacks())
    parser_holder.append(parser)
    while not state["done"]:
        data = (
            await asyncio.wait_for(reader.read(1), timeout)
            if head_request
            else (await asyncio.wait_for(reader.read(65536), timeout))
        )
        if not data:
            break
        with contextlib.suppress(httptools.HttpParserUpgrade):
            parser.feed_data(data)
    return RawResponse(
        status=parser.get_status_code(),
        headers=state["headers"],  # type: ignore[arg-type]
        body=state["body"],  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def connection(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
