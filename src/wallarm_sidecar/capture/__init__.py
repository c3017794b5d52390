"""Traffic capture (DESIGN §5): the REDIRECT rule of the `sidecar-init-iptables` container."""

from wallarm_sidecar.capture._command import CaptureError, install, remove, run_init_iptables
from wallarm_sidecar.capture._rules import (
    BACKENDS,
    RULE_COMMENT,
    RedirectRule,
    choose_backend,
    count_rules,
)

__all__ = [
    "BACKENDS",
    "RULE_COMMENT",
    "CaptureError",
    "RedirectRule",
    "choose_backend",
    "count_rules",
    "install",
    "remove",
    "run_init_iptables",
]
