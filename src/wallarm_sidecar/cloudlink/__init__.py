"""The node's link to the Cloud: a small API client, registration, and the sync jobs.

Used by `register`, `helper` and `node` (docs/node-sync.md) and by postanalytics.
The client is the standard library's `http.client`; the jobs and their settings
(pydantic, the proxy's file formats) load only when asked for.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from wallarm_sidecar.cloudlink._backoff import backoff_delays
from wallarm_sidecar.cloudlink._client import API_PREFIX, MAX_RESPONSE, CloudClient
from wallarm_sidecar.cloudlink._endpoint import CloudEndpoint
from wallarm_sidecar.cloudlink._errors import CloudError, CredentialRejected
from wallarm_sidecar.cloudlink._files import write_atomically
from wallarm_sidecar.cloudlink._registration import (
    REGISTRATION_FILE,
    NodeRegistration,
    load_registration,
    save_registration,
)

if TYPE_CHECKING:
    from wallarm_sidecar.cloudlink._commands import (
        run_helper,
        run_node,
        run_proxy_only,
        run_register,
        sync_status_reader,
    )
    from wallarm_sidecar.cloudlink._jobs import NodeJobs
    from wallarm_sidecar.cloudlink._settings import (
        JOB_OPTIONS,
        SYNC_OPTIONS,
        NodeSyncSettings,
    )
    from wallarm_sidecar.cloudlink._sync import SyncState, SyncStatus

_LAZY = {
    "run_helper": "_commands",
    "run_node": "_commands",
    "run_proxy_only": "_commands",
    "run_register": "_commands",
    "sync_status_reader": "_commands",
    "NodeJobs": "_jobs",
    "JOB_OPTIONS": "_settings",
    "SYNC_OPTIONS": "_settings",
    "NodeSyncSettings": "_settings",
    "SyncState": "_sync",
    "SyncStatus": "_sync",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "API_PREFIX",
    "JOB_OPTIONS",
    "MAX_RESPONSE",
    "REGISTRATION_FILE",
    "SYNC_OPTIONS",
    "CloudClient",
    "CloudEndpoint",
    "CloudError",
    "CredentialRejected",
    "NodeJobs",
    "NodeRegistration",
    "NodeSyncSettings",
    "SyncState",
    "SyncStatus",
    "backoff_delays",
    "load_registration",
    "run_helper",
    "run_node",
    "run_proxy_only",
    "run_register",
    "save_registration",
    "sync_status_reader",
    "write_atomically",
]
