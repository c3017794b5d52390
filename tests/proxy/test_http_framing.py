"""Sans-IO framing: bytes in, events out (no sockets)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallarm_sidecar.proxy import (
    END_OF_MESSAGE,
    NEED_DATA,
    FramingError,
    HttpLimits,
    RequestHead,
    RequestReader,
    ResponseFraming,
    TunnelData,
)
from wallarm_sidecar.proxy._http import serialize_request_head


def events(data: bytes, *, limits: HttpLimits | None = None, split: int = 0) -> list[object]:
    reader = RequestReader(limits)
    pieces = [data[i : i + split] for i in range(0, len(data), split)] if split else [data]
    for piece in pieces:
        reader.feed(piece)
    out = []
    while (event := reader.next_event()) is not NEED_DATA:
        out.append(event)
    return out


def test_simple_request_events() -> None:
    (head,) = events(b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n")
    assert isinstance(head, RequestHead)
    assert (head.method, head.target, head.host, head.keep_alive) == ("GET", b"/a?b=c", b"x", True)
    assert not head.has_body  # a bodyless head is the whole request: no END follows


@pytest.mark.parametrize("split", [0, 1, 3, 7])
def test_chunked_body_in_any_split(split: int) -> None:
    out = events(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        split=split,
    )
    head = out[0]
    assert isinstance(head, RequestHead) and head.chunked
    assert b"".join(e for e in out if isinstance(e, bytes)) == b"abcde"
    assert out[-1] is END_OF_MESSAGE


def test_pipelined_requests_come_out_in_order() -> None:
    out = events(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert [e.target for e in out if isinstance(e, RequestHead)] == [b"/1", b"/2"]


def test_upgrade_leaves_the_rest_as_tunnel_data() -> None:
    out = events(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nRAW"
    )
    assert isinstance(out[0], RequestHead) and out[0].upgrade
    assert out[-1] == TunnelData(b"RAW")


def test_http10_without_host_and_not_keep_alive() -> None:
    (head,) = events(b"GET / HTTP/1.0\r\n\r\n")
    assert isinstance(head, RequestHead) and head.version == "1.0" and not head.keep_alive


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"A: b\r\n" * 101 + b"\r\n", 431),
        (b"GET /" + b"a" * 40000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\n\r\n", 413),
    ],
    ids=["too-many-headers", "long-target", "declared-too-large"],
)
def test_limits(raw: bytes, status: int) -> None:
    out = events(raw, limits=HttpLimits(max_body_size=1000))
    errors = [e for e in out if isinstance(e, FramingError)]
    assert errors and errors[0].status == status


def test_nothing_is_parsed_after_an_error() -> None:
    reader = RequestReader()
    reader.feed(b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n")
    reader.feed(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
    out = []
    while (event := reader.next_event()) is not NEED_DATA:
        out.append(event)
    assert out == [FramingError(400, "duplicate Host header")]


@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=64))
def test_reader_never_raises_and_stops_after_an_error(data: bytes, split: int) -> None:
    out = events(data, split=split)
    errors = [index for index, e in enumerate(out) if isinstance(e, FramingError)]
    assert not errors or errors[0] == len(out) - 1


@given(
    st.lists(st.binary(min_size=1, max_size=50), max_size=10),
    st.integers(min_value=1, max_value=16),
)
def test_chunked_bodies_round_trip(chunks: list[bytes], split: int) -> None:
    body = b"".join(b"%x\r\n%b\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    out = events(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body, split=split
    )
    assert b"".join(e for e in out if isinstance(e, bytes)) == b"".join(chunks)


def test_serialized_head_drops_hop_by_hop_and_adds_forwarding() -> None:
    (head,) = events(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: 5\r\n"
        b"TE: trailers\r\nX-Forwarded-For: 1.1.1.1\r\nX-Real-IP: 6.6.6.6\r\n\r\n"
    )
    assert isinstance(head, RequestHead)
    out = serialize_request_head(
        head, forwarded_for=b"10.0.0.1", real_ip=b"1.1.1.1", keep_alive_upstream=True
    )
    assert out == (
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.1.1.1, 10.0.0.1\r\n"
        b"X-Real-IP: 1.1.1.1\r\n\r\n"
    )


def test_response_framing_head_1xx_and_keep_alive() -> None:
    framing = ResponseFraming()
    framing.reset(no_body=True)
    framing.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
    assert framing.complete and framing.status == 200 and framing.keep_alive
    framing.reset(no_body=False)
    framing.feed(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n")
    assert not framing.complete
    framing.feed(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
    assert framing.complete and framing.status == 201
    framing.reset(no_body=False)
    framing.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx")
    assert framing.complete and not framing.keep_alive
