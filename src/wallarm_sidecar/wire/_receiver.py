"""The receiving side of the record protocol, without I/O.

`ReceiverSession` follows one connection: it answers HELLO, acknowledges each
BATCH and hands back the records that are new. Sessions share a `DeliveryLog`,
which remembers the highest batch sequence stored per sender session, so a batch
resent after a reconnect is acknowledged again but stored only once.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from wallarm_sidecar.wire._frames import (
    PROTOCOL_VERSION,
    FrameDecoder,
    FrameType,
    ProtocolError,
    encode_frame,
)
from wallarm_sidecar.wire._records import RequestRecord

MAX_RECORDS_PER_BATCH = 10_000


class DeliveryLog:
    """Highest stored batch sequence per sender session (bounded, oldest forgotten)."""

    def __init__(self, *, max_sessions: int = 100_000) -> None:
        self._stored: OrderedDict[str, int] = OrderedDict()
        self._max = max_sessions

    def is_new(self, session: str, seq: int) -> bool:
        return seq > self._stored.get(session, 0)

    def mark(self, session: str, seq: int) -> None:
        self._stored[session] = seq
        self._stored.move_to_end(session)
        while len(self._stored) > self._max:
            self._stored.popitem(last=False)


class ReceiverSession:
    """One sender connection: bytes in, (bytes to send, new records) out."""

    def __init__(self, log: DeliveryLog, *, max_frame_size: int = 16 * 1024 * 1024) -> None:
        self.log = log
        self.decoder = FrameDecoder(max_frame_size=max_frame_size)
        self.hello: dict[str, Any] | None = None
        self.duplicates = 0

    @property
    def session(self) -> str:
        return str(self.hello["session"]) if self.hello else ""

    def receive(self, data: bytes) -> tuple[bytes, list[RequestRecord]]:
        """Raises ProtocolError on anything a well-behaved sender would not send."""
        replies: list[bytes] = []
        records: list[RequestRecord] = []
        for frame in self.decoder.feed(data):
            if self.hello is None:
                if frame.type is not FrameType.HELLO or not isinstance(frame.payload, dict):
                    raise ProtocolError("expected HELLO first")
                version = frame.payload.get("version")
                session = frame.payload.get("session")
                if version != PROTOCOL_VERSION:
                    raise ProtocolError(f"unsupported protocol version {version!r}")
                if not isinstance(session, str) or not 1 <= len(session) <= 64:
                    raise ProtocolError("HELLO without a valid session id")
                self.hello = frame.payload
                replies.append(encode_frame(FrameType.HELLO_ACK, {"version": PROTOCOL_VERSION}))
                continue
            if frame.type is not FrameType.BATCH or not isinstance(frame.payload, dict):
                raise ProtocolError(f"unexpected {frame.type.name} frame")
            seq = frame.payload.get("seq")
            raw_records = frame.payload.get("records")
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
                raise ProtocolError("BATCH without a positive integer seq")
            if not isinstance(raw_records, list) or len(raw_records) > MAX_RECORDS_PER_BATCH:
                raise ProtocolError("BATCH records must be a bounded array")
            if self.log.is_new(self.session, seq):
                try:
                    batch = [RequestRecord.from_wire(raw) for raw in raw_records]
                except ValueError as error:
                    raise ProtocolError(f"batch {seq}: {error}") from None
                records.extend(batch)
                self.log.mark(self.session, seq)
            else:
                self.duplicates += 1
            replies.append(encode_frame(FrameType.ACK, {"seq": seq, "stored": len(raw_records)}))
        return b"".join(replies), records
