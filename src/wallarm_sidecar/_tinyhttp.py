"""A tiny HTTP/1.1 face for status, health, metrics and export endpoints (proxy, wstore).

One request per connection, bounded URL and body, `Connection: close`; routes are a
table of (method, path) to a handler that gets the query and body and returns
(status, content type, body).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import cast
from urllib.parse import parse_qs

import httptools

Response = tuple[int, bytes, bytes]
Handler = Callable[[dict[str, str], bytes], Response]
Routes = Mapping[tuple[bytes, bytes], Handler]

MAX_URL = 8192
MAX_BODY = 64 * 1024
_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Content Too Large",
    503: b"Service Unavailable",
}


class TinyHttp(asyncio.Protocol):
    def __init__(self, routes: Routes) -> None:
        self.routes = routes
        self.url = b""
        self.body = b""
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._send(400, b"text/plain", b"bad request\n")
        except ValueError as error:
            self._send(413, b"text/plain", f"{error}\n".encode())

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > MAX_URL:
            raise ValueError("url too long")

    def on_body(self, body: bytes) -> None:
        self.body += body
        if len(self.body) > MAX_BODY:
            raise ValueError("body too large")

    def on_message_complete(self) -> None:
        path, _, query = self.url.partition(b"?")
        method = self.parser.get_method()
        handler = self.routes.get((method, path))
        if handler is None:
            known = any(route_path == path for _, route_path in self.routes)
            if known:
                self._send(405, b"text/plain", b"method not allowed\n")
            else:
                self._send(404, b"text/plain", b"not found\n")
            return
        params = {
            key: values[-1] for key, values in parse_qs(query.decode("latin-1")).items() if values
        }
        self._send(*handler(params, self.body))

    def _send(self, status: int, content_type: bytes, body: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(
            b"HTTP/1.1 %d %b\r\nContent-Type: %b\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%b"
            % (status, _REASONS.get(status, b"Error"), content_type, len(body), body)
        )
        self.transport.close()


__all__ = ["Handler", "Response", "Routes", "TinyHttp"]
