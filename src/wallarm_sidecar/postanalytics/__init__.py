"""Postanalytics: `wstore`, the proxies' shared in-memory store of request records.

`RecordStore` is the store itself (sans-IO: append, evict oldest past a byte budget,
read from a cursor); `WstoreServer` is the asyncio shell that speaks the record
protocol (docs/wire-protocol.md) and serves health, metrics and the export read
endpoint (docs/postanalytics.md). The server loads only when asked for, so the CLI can
read the option table without importing asyncio servers and prometheus-client.
"""

from typing import TYPE_CHECKING, Any

from wallarm_sidecar.postanalytics._settings import (
    GIB,
    WSTORE_OPTIONS,
    WstoreSettings,
    parse_arena,
)
from wallarm_sidecar.postanalytics._store import (
    ENTRY_OVERHEAD,
    RecordStore,
    StoreCounters,
    StoredRecords,
)

if TYPE_CHECKING:
    from wallarm_sidecar.postanalytics._server import (
        WstoreServer,
        encode_export_page,
        run_wstore,
    )

_LAZY = {"WstoreServer", "encode_export_page", "run_wstore"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from wallarm_sidecar.postanalytics import _server  # noqa: PLC0415

        return getattr(_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ENTRY_OVERHEAD",
    "GIB",
    "WSTORE_OPTIONS",
    "RecordStore",
    "StoreCounters",
    "StoredRecords",
    "WstoreServer",
    "WstoreSettings",
    "encode_export_page",
    "parse_arena",
    "run_wstore",
]
