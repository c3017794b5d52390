"""The sidecar proxy (the node): a WAF reverse proxy in front of the application.

Worker processes import this package too, so it stays light: the settings model
(pydantic) and the master (prometheus-client) load only when asked for.
"""

from typing import TYPE_CHECKING, Any

from wallarm_sidecar.proxy._blockpage import BlockPage
from wallarm_sidecar.proxy._http import (
    END_OF_MESSAGE,
    NEED_DATA,
    FramingError,
    HttpLimits,
    RequestHead,
    RequestReader,
    ResponseFraming,
    TunnelData,
)
from wallarm_sidecar.proxy._iplists import IpLists
from wallarm_sidecar.proxy._nodeconfig import NodeModeRules
from wallarm_sidecar.proxy._policy import (
    PRIVATE_NETWORKS,
    AclStatus,
    Decision,
    FilteringMode,
    ModeOverride,
    TrustedProxies,
    client_address,
    decide_before_inspection,
    effective_mode,
    mask_target,
    should_block,
)

if TYPE_CHECKING:
    from wallarm_sidecar.proxy._settings import PROXY_OPTIONS, ProxySettings


def run_proxy(settings: "ProxySettings", *, role: str = "proxy") -> int:
    """Run the master and its workers until SIGTERM (see docs/proxy.md)."""
    from wallarm_sidecar.proxy._master import run_proxy as run_master  # noqa: PLC0415

    return run_master(settings, role=role)


def __getattr__(name: str) -> Any:
    if name in ("PROXY_OPTIONS", "ProxySettings"):
        from wallarm_sidecar.proxy import _settings  # noqa: PLC0415

        return getattr(_settings, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "END_OF_MESSAGE",
    "NEED_DATA",
    "PRIVATE_NETWORKS",
    "PROXY_OPTIONS",
    "AclStatus",
    "BlockPage",
    "Decision",
    "FilteringMode",
    "FramingError",
    "HttpLimits",
    "IpLists",
    "ModeOverride",
    "NodeModeRules",
    "ProxySettings",
    "RequestHead",
    "RequestReader",
    "ResponseFraming",
    "TrustedProxies",
    "TunnelData",
    "client_address",
    "decide_before_inspection",
    "effective_mode",
    "mask_target",
    "run_proxy",
    "should_block",
]
