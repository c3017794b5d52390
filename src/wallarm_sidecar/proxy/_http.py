"""HTTP/1.1 framing for the proxy, without I/O (in the manner of h11).

`RequestReader` wraps httptools' request parser: the server pushes bytes in with
`feed` and pops events out with `next_event`: a `RequestHead`, then for a request
with a body its bytes and `END_OF_MESSAGE`. Framing errors and smuggling-shaped
requests become a `FramingError` event carrying the status to answer (400, 413,
431, 501, 505); nothing after it is parsed. `ResponseFraming` follows an upstream
response through httptools' response parser so the server knows where it ends
while it forwards the bytes unchanged.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

import httptools

HOP_BY_HOP: Final = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"expect",
        b"content-length",
    }
)

REASONS: Final = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    444: "No Response",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_header_size: int = 32 * 1024
    max_headers: int = 100
    max_body_size: int = 100 * 1024 * 1024


class RequestHead:
    """A request line and headers as received (header bytes untouched for forwarding)."""

    __slots__ = (
        "chunked",
        "content_length",
        "expect_continue",
        "headers",
        "host",
        "keep_alive",
        "method",
        "target",
        "upgrade",
        "version",
    )

    def __init__(
        self,
        *,
        method: str,
        target: bytes,
        version: str,
        headers: list[tuple[bytes, bytes]],
        host: bytes,
        content_length: int | None,
        chunked: bool,
        keep_alive: bool,
        expect_continue: bool,
        upgrade: bool,
    ) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.host = host
        self.content_length = content_length
        self.chunked = chunked
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.upgrade = upgrade

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)


@dataclass(frozen=True, slots=True)
class FramingError:
    """The request cannot be framed safely: answer `status` and close."""

    status: int
    reason: str


class _EndOfMessage:
    __slots__ = ()

    def __repr__(self) -> str:
        return "END_OF_MESSAGE"


class _NeedData:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


END_OF_MESSAGE: Final = _EndOfMessage()
NEED_DATA: Final = _NeedData()


@dataclass(frozen=True, slots=True)
class TunnelData:
    """Bytes after an Upgrade request head: they belong to the upgraded protocol."""

    data: bytes


Event = RequestHead | bytes | _EndOfMessage | FramingError | TunnelData


class _LimitExceeded(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class RequestReader:
    """Turns client bytes into request events: heads, body bytes, ends, errors."""

    __slots__ = (
        "_body_bytes",
        "_events",
        "_failed",
        "_head_bytes",
        "_headers",
        "_in_head",
        "_limits",
        "_parser",
        "_upgraded",
        "_url",
    )

    def __init__(self, limits: HttpLimits | None = None) -> None:
        self._limits = limits or HttpLimits()
        self._parser = httptools.HttpRequestParser(self)
        self._events: deque[Event] = deque()
        self._headers: list[tuple[bytes, bytes]] = []
        self._url = b""
        self._head_bytes = 0
        self._body_bytes = 0
        self._in_head = True
        self._failed = False
        self._upgraded = False

    # -- the face ---------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self._failed:
            return
        if self._upgraded:
            self._events.append(TunnelData(data))
            return
        if self._in_head:
            # Bytes fed while a head is open may include the end of an earlier
            # pipelined request, hence the slack; the exact size is checked when
            # the head completes.
            self._head_bytes += len(data)
            if self._head_bytes > self._limits.max_header_size * 2 + 65536:
                self._fail(431, "request header fields too large")
                return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            offset = upgrade.args[0] if upgrade.args else len(data)
            self._upgraded = True
            rest = data[offset:]
            if rest:
                self._events.append(TunnelData(rest))
        except httptools.HttpParserCallbackError as error:
            cause = error.__context__
            if isinstance(cause, _LimitExceeded):
                self._fail(cause.status, cause.reason)
            else:  # pragma: no cover - our callbacks raise nothing else
                self._fail(400, "malformed request")
        except httptools.HttpParserError as error:
            self._fail(400, str(error) or "malformed request")

    def next_event(self) -> Event | _NeedData:
        return self._events.popleft() if self._events else NEED_DATA

    def push_back(self, event: Event) -> None:
        """Return an event the server could not handle yet (it comes out first next time)."""
        self._events.appendleft(event)

    @property
    def pending(self) -> int:
        return len(self._events)

    # -- internals --------------------------------------------------------------
    def _fail(self, status: int, reason: str) -> None:
        self._failed = True
        self._events.append(FramingError(status, reason))

    # -- httptools callbacks ------------------------------------------------------
    def on_message_begin(self) -> None:
        self._headers = []
        self._url = b""
        self._body_bytes = 0
        self._in_head = True

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self._limits.max_header_size:
            raise _LimitExceeded(431, "request target too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        headers = self._headers
        headers.append((name, value))
        if len(headers) > self._limits.max_headers:
            raise _LimitExceeded(431, "too many header fields")

    def on_headers_complete(self) -> None:
        parser = self._parser
        limits = self._limits
        self._in_head = False
        size = len(self._url)
        content_length: int | None = None
        chunked = False
        host: bytes | None = None
        expect_continue = False
        upgrade = False
        for name, value in self._headers:
            size += len(name) + len(value) + 4
            lowered = name.lower()
            if lowered == b"content-length":
                if not value.strip().isdigit():
                    raise _LimitExceeded(400, "invalid Content-Length")
                content_length = int(value)
            elif lowered == b"transfer-encoding":
                if value.strip().lower() != b"chunked" or chunked:
                    raise _LimitExceeded(501, "unsupported transfer coding")
                chunked = True
            elif lowered == b"host":
                if host is not None:
                    raise _LimitExceeded(400, "duplicate Host header")
                host = value
            elif lowered == b"expect":
                if value.strip().lower() != b"100-continue":
                    raise _LimitExceeded(400, "unsupported expectation")
                expect_continue = True
            elif lowered == b"upgrade":
                upgrade = True
        if size > limits.max_header_size:
            raise _LimitExceeded(431, "request header fields too large")
        version = parser.get_http_version()
        if version not in ("1.1", "1.0"):
            raise _LimitExceeded(505, "HTTP version not supported")
        if host is None:
            if version == "1.1":
                raise _LimitExceeded(400, "missing Host header")
            host = b""
        method = parser.get_method().decode("ascii")
        if method == "CONNECT":
            raise _LimitExceeded(405, "CONNECT is not supported")
        if content_length is not None and content_length > limits.max_body_size:
            raise _LimitExceeded(413, "request body too large")
        self._head_bytes = 0
        self._events.append(
            RequestHead(
                method=method,
                target=self._url,
                version=version,
                headers=self._headers,
                host=host,
                content_length=content_length,
                chunked=chunked,
                keep_alive=parser.should_keep_alive(),
                expect_continue=expect_continue,
                upgrade=upgrade and parser.should_upgrade(),
            )
        )

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self._limits.max_body_size:
            raise _LimitExceeded(413, "request body too large")
        self._events.append(body)

    def on_message_complete(self) -> None:
        # A head without a body is the whole request: no END_OF_MESSAGE follows it,
        # so the server need not wake up again for it.
        events = self._events
        if not (events and isinstance(events[-1], RequestHead) and not events[-1].has_body):
            events.append(END_OF_MESSAGE)
        self._in_head = True


class _HeadersDone(Exception):
    """Raised inside the response parser to stop after the head of a HEAD response."""


class ResponseFraming:
    """Follows one upstream response at a time; the bytes themselves are forwarded as-is.

    After `feed`, `complete` says the response ended, `status` its code once the
    head is in, `keep_alive` whether the connection can carry another request, and
    `upgraded` whether it switched protocols (101) with `tunnel_data` following.
    """

    __slots__ = (
        "_no_body",
        "_parser",
        "complete",
        "head_done",
        "keep_alive",
        "status",
        "tunnel_data",
        "upgraded",
    )

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self.reset(no_body=False)

    def reset(self, *, no_body: bool) -> None:
        self._no_body = no_body
        self.complete = False
        self.head_done = False
        self.status = 0
        self.keep_alive = False
        self.upgraded = False
        self.tunnel_data = b""

    def feed(self, data: bytes) -> None:
        """Raises `httptools.HttpParserError` for a response that is not valid HTTP."""
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            offset = upgrade.args[0] if upgrade.args else len(data)
            self.upgraded = True
            self.complete = True
            self.tunnel_data = data[offset:]
        except httptools.HttpParserCallbackError as error:
            if not isinstance(error.__context__, _HeadersDone):
                raise
            # A HEAD response has no body whatever its Content-Length says. The
            # parser stopped mid-message, so the next response needs a fresh one.
            self.complete = True
            self._parser = httptools.HttpResponseParser(self)

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status >= 200 or status == 101:
            self.status = status
            self.head_done = True
            self.keep_alive = self._parser.should_keep_alive()
            if self._no_body and status != 101:
                raise _HeadersDone

    def on_message_complete(self) -> None:
        if self.head_done:
            self.complete = True
            self.keep_alive = self.keep_alive and self._parser.should_keep_alive()


def serialize_request_head(
    head: RequestHead, *, forwarded_for: bytes, real_ip: bytes, keep_alive_upstream: bool
) -> bytes:
    """The head sent upstream: hop-by-hop fields dropped, framing made explicit."""
    # An HTTP/1.0 client cannot read a chunked response: ask the app in its version.
    version = b" HTTP/1.0\r\n" if head.version == "1.0" else b" HTTP/1.1\r\n"
    parts = [head.method.encode("ascii"), b" ", head.target, version]
    append = parts.append
    previous_xff = b""
    for name, value in head.headers:
        lowered = name.lower()
        if lowered in HOP_BY_HOP:
            continue
        if lowered == b"x-forwarded-for":
            previous_xff = value if not previous_xff else previous_xff + b", " + value
            continue
        if lowered == b"x-real-ip":
            continue
        append(name)
        append(b": ")
        append(value)
        append(b"\r\n")
    append(b"X-Forwarded-For: ")
    append(previous_xff + b", " + forwarded_for if previous_xff else forwarded_for)
    append(b"\r\nX-Real-IP: ")
    append(real_ip)
    append(b"\r\n")
    if head.chunked:
        append(b"Transfer-Encoding: chunked\r\n")
    elif head.content_length is not None:
        append(b"Content-Length: %d\r\n" % head.content_length)
    if head.upgrade:
        for name, value in head.headers:
            if name.lower() == b"upgrade":
                append(b"Upgrade: " + value + b"\r\n")
        append(b"Connection: upgrade\r\n")
    elif not keep_alive_upstream:
        append(b"Connection: close\r\n")
    append(b"\r\n")
    return b"".join(parts)


def encode_chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


LAST_CHUNK: Final = b"0\r\n\r\n"


def simple_response(
    status: int,
    body: bytes,
    *,
    content_type: bytes = b"text/plain; charset=utf-8",
    request_id: str = "",
    close: bool = False,
    extra_headers: tuple[tuple[bytes, bytes], ...] = (),
) -> bytes:
    """A complete response the proxy itself answers (errors, blocks)."""
    reason = REASONS.get(status, "Unknown").encode("ascii")
    parts = [b"HTTP/1.1 %d %b\r\n" % (status, reason)]
    parts.append(b"Content-Type: " + content_type + b"\r\n")
    parts.append(b"Content-Length: %d\r\n" % len(body))
    if request_id:
        parts.append(b"X-Request-Id: " + request_id.encode("ascii") + b"\r\n")
    for name, value in extra_headers:
        parts.append(name + b": " + value + b"\r\n")
    if close:
        parts.append(b"Connection: close\r\n")
    parts.append(b"\r\n")
    parts.append(body)
    return b"".join(parts)


CONTINUE_RESPONSE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
