"""The record protocol: frames, records and the receiver's de-duplication."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallarm_sidecar.wire import (
    PROTOCOL_VERSION,
    DeliveryLog,
    FrameDecoder,
    FrameType,
    HitRecord,
    ProtocolError,
    ReceiverSession,
    RequestRecord,
    encode_frame,
)


def record(request_id: str = "r1") -> RequestRecord:
    return RequestRecord(
        request_id=request_id,
        time=1.5,
        node="pod-1",
        application="shop",
        client_ip="192.0.2.1",
        method="GET",
        host="shop.local",
        path="/etc/passwd",
        parameters=[('get_param "id"', "integer")],
        status=403,
        duration_ms=0.4,
        bytes_in=0,
        bytes_out=100,
        blocked=True,
        mode="block",
        hits=[
            HitRecord(
                attack_type="ptrav", point="uri", fragment="/etc/passwd", rule_id="r", blocked=True
            )
        ],
    )


def test_record_round_trip() -> None:
    original = record()
    assert RequestRecord.from_wire(original.to_wire()) == original
    assert RequestRecord.from_wire([*original.to_wire(), "a field from the future"]) == original


@pytest.mark.parametrize(
    "raw",
    [None, [], ["r"] * 16, [*record().to_wire()[:15], [["ptrav"]]], {"request_id": "x"}],
    ids=["none", "empty", "wrong-types", "short-hit", "object"],
)
def test_malformed_records_raise_value_error(raw: object) -> None:
    with pytest.raises(ValueError):
        RequestRecord.from_wire(raw)


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=20))
def test_decoder_raises_only_protocol_errors(data: bytes, split: int) -> None:
    decoder = FrameDecoder(max_frame_size=1000)
    try:
        for offset in range(0, len(data), split):
            decoder.feed(data[offset : offset + split])
    except ProtocolError:
        pass


@given(
    st.lists(
        st.dictionaries(st.text(max_size=5), st.integers(min_value=-(2**63), max_value=2**64 - 1)),
        max_size=5,
    )
)
def test_frames_round_trip_in_any_split(payloads: list[dict[str, int]]) -> None:
    stream = b"".join(encode_frame(FrameType.BATCH, p) for p in payloads)
    decoder = FrameDecoder()
    frames = []
    for byte in range(len(stream)):
        frames.extend(decoder.feed(stream[byte : byte + 1]))
    assert [f.payload for f in frames] == payloads


def test_oversized_frame_is_refused_before_buffering() -> None:
    decoder = FrameDecoder(max_frame_size=100)
    with pytest.raises(ProtocolError, match="out of bounds"):
        decoder.feed(b"\x7f\xff\xff\xff\x03")


def hello(session: str = "s1") -> bytes:
    return encode_frame(FrameType.HELLO, {"version": PROTOCOL_VERSION, "session": session})


def batch(seq: int, *records: RequestRecord) -> bytes:
    return encode_frame(FrameType.BATCH, {"seq": seq, "records": [r.to_wire() for r in records]})


def test_receiver_acknowledges_and_stores_each_batch_once_across_reconnects() -> None:
    log = DeliveryLog()
    first = ReceiverSession(log)
    reply, records = first.receive(hello() + batch(1, record("a"), record("b")))
    assert [r.request_id for r in records] == ["a", "b"]
    frames = FrameDecoder().feed(reply)
    assert [f.type for f in frames] == [FrameType.HELLO_ACK, FrameType.ACK]
    # The sender lost the ACK, reconnects and resends batch 1, then sends batch 2.
    second = ReceiverSession(log)
    reply, records = second.receive(
        hello() + batch(1, record("a"), record("b")) + batch(2, record("c"))
    )
    assert [r.request_id for r in records] == ["c"]
    assert [f.payload["seq"] for f in FrameDecoder().feed(reply)[1:]] == [1, 2]
    assert second.duplicates == 1


@pytest.mark.parametrize(
    "data",
    [
        batch(1, record()),
        encode_frame(FrameType.HELLO, {"version": 99, "session": "s"}),
        encode_frame(FrameType.HELLO, {"version": PROTOCOL_VERSION}),
        hello() + encode_frame(FrameType.BATCH, {"seq": 0, "records": []}),
        hello() + encode_frame(FrameType.BATCH, {"seq": 1, "records": [["bad"]]}),
        hello() + encode_frame(FrameType.ACK, {"seq": 1}),
    ],
    ids=["batch-before-hello", "bad-version", "no-session", "seq-zero", "bad-record", "ack"],
)
def test_receiver_refuses_what_a_sender_would_not_send(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        ReceiverSession(DeliveryLog()).receive(data)


def test_pack_record_is_the_records_wire_form() -> None:
    import msgpack

    from wallarm_sidecar.wire import pack_record

    original = record()
    packed = pack_record(
        request_id=original.request_id,
        time=original.time,
        node=original.node,
        application=original.application,
        client_ip=original.client_ip,
        method=original.method,
        host=original.host,
        path=original.path,
        parameters=original.parameters,
        status=original.status,
        duration_ms=original.duration_ms,
        bytes_in=original.bytes_in,
        bytes_out=original.bytes_out,
        blocked=original.blocked,
        mode=original.mode,
        hits=[(h.attack_type, h.point, h.fragment, h.rule_id) for h in original.hits],
    )
    assert packed == msgpack.packb(original.to_wire(), use_bin_type=True)
    assert RequestRecord.from_wire(msgpack.unpackb(packed)) == original
