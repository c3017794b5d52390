"""The sidecar proxy (the node): a WAF reverse proxy in front of the application."""

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
from wallarm_sidecar.proxy._settings import PROXY_OPTIONS, ProxySettings


def run_proxy(settings: ProxySettings, *, role: str = "proxy") -> int:
    """Run the master and its workers until SIGTERM (see docs/proxy.md)."""
    # Imported here so that worker processes, which import this package, do not
    # load what only the master needs (prometheus-client, the status server).
    from wallarm_sidecar.proxy._master import run_proxy as run_master  # noqa: PLC0415

    return run_master(settings, role=role)


__all__ = [
    "END_OF_MESSAGE",
    "NEED_DATA",
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
