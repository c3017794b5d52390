"""Postanalytics: `wstore`, `jobs` and `appstructure` (DESIGN §7, docs/postanalytics.md).

`RecordStore` is the store itself (sans-IO: append, evict oldest past a byte budget,
read from a cursor); `WstoreServer` is the asyncio shell that speaks the record
protocol (docs/wire-protocol.md) and serves health, metrics and the export read
endpoint. jobs is `ExportMachine` (sans-IO export to the Cloud) and `BehaviourEngine`
(brute force, forced browsing, BOLA) in a blocking shell; appstructure is `Discovery`
(API inventory) in another. The shells load only when asked for, so the CLI can read
the option tables without importing servers, HTTP clients and prometheus-client.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from wallarm_sidecar.postanalytics._behaviour import (
    AutoLister,
    BehaviourEngine,
    BehaviourSettings,
    BolaDetector,
    BruteForceDetector,
    Detection,
    ForcedBrowsingDetector,
    synthetic_record,
)
from wallarm_sidecar.postanalytics._convert import cloud_records, decode_record
from wallarm_sidecar.postanalytics._discovery import Discovery
from wallarm_sidecar.postanalytics._export import (
    CommitCursor,
    ExportMachine,
    ExportPage,
    PostHits,
    ReadPage,
    Wait,
)
from wallarm_sidecar.postanalytics._jobs_settings import (
    APPSTRUCTURE_OPTIONS,
    JOBS_OPTIONS,
    AppstructureSettings,
    JobsSettings,
)
from wallarm_sidecar.postanalytics._paths import PathTemplate, template_path
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
    from wallarm_sidecar.postanalytics._appstructure import Appstructure, run_appstructure
    from wallarm_sidecar.postanalytics._jobs import Jobs, run_jobs
    from wallarm_sidecar.postanalytics._server import (
        WstoreServer,
        encode_export_page,
        run_wstore,
    )

_LAZY = {
    "WstoreServer": "_server",
    "encode_export_page": "_server",
    "run_wstore": "_server",
    "Jobs": "_jobs",
    "run_jobs": "_jobs",
    "Appstructure": "_appstructure",
    "run_appstructure": "_appstructure",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "APPSTRUCTURE_OPTIONS",
    "ENTRY_OVERHEAD",
    "GIB",
    "JOBS_OPTIONS",
    "WSTORE_OPTIONS",
    "Appstructure",
    "AppstructureSettings",
    "AutoLister",
    "BehaviourEngine",
    "BehaviourSettings",
    "BolaDetector",
    "BruteForceDetector",
    "CommitCursor",
    "Detection",
    "Discovery",
    "ExportMachine",
    "ExportPage",
    "ForcedBrowsingDetector",
    "Jobs",
    "JobsSettings",
    "PathTemplate",
    "PostHits",
    "ReadPage",
    "RecordStore",
    "StoreCounters",
    "StoredRecords",
    "Wait",
    "WstoreServer",
    "WstoreSettings",
    "cloud_records",
    "decode_record",
    "encode_export_page",
    "parse_arena",
    "run_appstructure",
    "run_jobs",
    "run_wstore",
    "synthetic_record",
    "template_path",
]
