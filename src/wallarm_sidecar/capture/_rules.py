"""The REDIRECT rule of DESIGN §5, as iptables arguments (pure).

One nat PREROUTING rule: TCP to the pod IP on the application port is redirected
to the proxy's listen port. Traffic to 127.0.0.1 never passes PREROUTING, so the
proxy still reaches the application on 127.0.0.1:<app port>.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

RULE_COMMENT: Final = "wallarm-sidecar: application port to the proxy"


@dataclass(frozen=True, slots=True)
class RedirectRule:
    app_port: int
    listen_port: int
    pod_ip: str = ""  # empty: any local address (PREROUTING sees only traffic from outside)

    def __post_init__(self) -> None:
        for name, port in (("application port", self.app_port), ("listen port", self.listen_port)):
            if not 1 <= port <= 65535:
                raise ValueError(f"{name} {port} is not a port number 1-65535")
        if self.app_port == self.listen_port:
            raise ValueError(f"the application port equals the listen port ({self.app_port})")
        if self.pod_ip:
            ipaddress.ip_address(self.pod_ip)  # raises ValueError naming the bad address

    @property
    def ipv6(self) -> bool:
        return ":" in self.pod_ip

    def arguments(self, action: str) -> list[str]:
        """`iptables` arguments for `action` -A (append), -C (check) or -D (delete)."""
        args = ["-t", "nat", action, "PREROUTING", "-p", "tcp"]
        if self.pod_ip:
            args += ["-d", self.pod_ip]
        args += [
            "--dport",
            str(self.app_port),
            "-m",
            "comment",
            "--comment",
            RULE_COMMENT,
            "-j",
            "REDIRECT",
            "--to-ports",
            str(self.listen_port),
        ]
        return args


BACKENDS: Final = ("auto", "nft", "legacy")


def choose_backend(requested: str, *, legacy_rules: int, nft_rules: int) -> str:
    """Which iptables back end to use: the one the node already uses, as Istio does.

    `legacy_rules` / `nft_rules` count the rules each back end's `-save` shows; with
    none anywhere, nf_tables (the default of current distributions) is used.
    """
    if requested != "auto":
        return requested
    return "legacy" if legacy_rules > nft_rules else "nft"


def count_rules(save_output: str) -> int:
    """Rules (lines starting with -A) in an `iptables-save` dump."""
    return sum(1 for line in save_output.splitlines() if line.startswith("-A "))
