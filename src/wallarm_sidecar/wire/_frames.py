"""Framing of the record protocol between proxies and postanalytics (sans-IO).

A frame is `length (4 bytes, big-endian) | type (1 byte) | msgpack payload`, where
length counts the type byte and the payload. See docs/wire-protocol.md.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Any

import msgpack

PROTOCOL_VERSION = 1
MAX_FRAME_SIZE = 16 * 1024 * 1024
_HEADER = struct.Struct(">IB")


class FrameType(enum.IntEnum):
    HELLO = 1
    HELLO_ACK = 2
    BATCH = 3
    ACK = 4
    ERROR = 5


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid frame; the connection must be dropped."""


@dataclass(frozen=True, slots=True)
class Frame:
    type: FrameType
    payload: Any


def encode_frame(frame_type: FrameType, payload: Any) -> bytes:
    body: bytes = msgpack.packb(payload, use_bin_type=True)
    if len(body) + 1 > MAX_FRAME_SIZE:
        raise ValueError(f"frame of {len(body) + 1} bytes exceeds {MAX_FRAME_SIZE}")
    return _HEADER.pack(len(body) + 1, frame_type) + body


def encode_packed_batch(seq: int, packed_records: list[bytes]) -> bytes:
    """A BATCH frame from records already packed one by one (the sender's queue form)."""
    packer = msgpack.Packer(use_bin_type=True)
    body = b"".join(
        (
            packer.pack_map_header(2),
            packer.pack("seq"),
            packer.pack(seq),
            packer.pack("records"),
            packer.pack_array_header(len(packed_records)),
            *packed_records,
        )
    )
    return _HEADER.pack(len(body) + 1, FrameType.BATCH) + body


class FrameDecoder:
    """Push bytes in with `feed`, take whole frames out; bounded by `max_frame_size`."""

    def __init__(self, *, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        self._buffer = bytearray()
        self._max = max_frame_size

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        buffer = self._buffer
        offset = 0
        while len(buffer) - offset >= _HEADER.size:
            length, raw_type = _HEADER.unpack_from(buffer, offset)
            if length < 1 or length > self._max:
                raise ProtocolError(f"frame length {length} out of bounds")
            end = offset + 4 + length
            if len(buffer) < end:
                break
            try:
                frame_type = FrameType(raw_type)
            except ValueError:
                raise ProtocolError(f"unknown frame type {raw_type}") from None
            try:
                payload = msgpack.unpackb(
                    bytes(buffer[offset + _HEADER.size : end]), raw=False, strict_map_key=False
                )
            except (ValueError, msgpack.UnpackException) as error:
                raise ProtocolError(f"undecodable payload: {error}") from None
            frames.append(Frame(frame_type, payload))
            offset = end
        if offset:
            del buffer[:offset]
        return frames
