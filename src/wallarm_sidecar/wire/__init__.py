"""Wire formats shared by the proxy, postanalytics and the Cloud (owned by none of them)."""

from wallarm_sidecar.wire._frames import (
    MAX_FRAME_SIZE,
    PROTOCOL_VERSION,
    Frame,
    FrameDecoder,
    FrameType,
    ProtocolError,
    encode_frame,
    encode_packed_batch,
)
from wallarm_sidecar.wire._receiver import DeliveryLog, ReceiverSession
from wallarm_sidecar.wire._records import (
    HIT_FIELDS,
    RECORD_FIELDS,
    HitRecord,
    RequestRecord,
    pack_record,
)

__all__ = [
    "HIT_FIELDS",
    "MAX_FRAME_SIZE",
    "PROTOCOL_VERSION",
    "RECORD_FIELDS",
    "DeliveryLog",
    "Frame",
    "FrameDecoder",
    "FrameType",
    "HitRecord",
    "ProtocolError",
    "ReceiverSession",
    "RequestRecord",
    "encode_frame",
    "encode_packed_batch",
    "pack_record",
]
