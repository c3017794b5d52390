"""Filtering decisions, pure: which mode applies, whether to inspect, whether to block.

DESIGN §6: `off` passes without analysis; `monitoring` analyses and records;
`safe_blocking` blocks attacks only from graylisted sources; `block` blocks
attacks. Denylisted sources are blocked in every mode but `off`; the allowlist is
consulted first, then the denylist, then the graylist.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Final


class FilteringMode(enum.StrEnum):
    OFF = "off"
    MONITORING = "monitoring"
    SAFE_BLOCKING = "safe_blocking"
    BLOCK = "block"

    @classmethod
    def parse(cls, text: str) -> FilteringMode:
        try:
            return cls(text.strip().lower().replace("-", "_"))
        except ValueError:
            raise ValueError("must be one of off, monitoring, safe_blocking, block") from None


_STRICTNESS: Final = {
    FilteringMode.OFF: 0,
    FilteringMode.MONITORING: 1,
    FilteringMode.SAFE_BLOCKING: 2,
    FilteringMode.BLOCK: 3,
}


class ModeOverride(enum.StrEnum):
    """How a mode from the Cloud applies over the local one (`wallarm-mode-allow-override`)."""

    ON = "on"
    OFF = "off"
    STRICT = "strict"

    @classmethod
    def parse(cls, text: str) -> ModeOverride:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError("must be one of on, off, strict") from None


def effective_mode(
    local: FilteringMode, cloud: FilteringMode | None, override: ModeOverride
) -> FilteringMode:
    if cloud is None or override is ModeOverride.OFF:
        return local
    if override is ModeOverride.ON:
        return cloud
    return cloud if _STRICTNESS[cloud] > _STRICTNESS[local] else local


class AclStatus(enum.IntEnum):
    NONE = 0
    ALLOW = 1
    DENY = 2
    GRAY = 3


class Decision(enum.IntEnum):
    FORWARD = 0  # pass without analysis (mode off)
    INSPECT = 1  # analyse, then `should_block`
    BLOCK_ACL = 2  # denylisted: block without analysis


def decide_before_inspection(mode: FilteringMode, acl: AclStatus) -> Decision:
    if mode is FilteringMode.OFF:
        return Decision.FORWARD
    if acl is AclStatus.DENY:
        return Decision.BLOCK_ACL
    return Decision.INSPECT


def should_block(mode: FilteringMode, acl: AclStatus, *, is_attack: bool) -> bool:
    if not is_attack or acl is AclStatus.ALLOW:
        return False
    if mode is FilteringMode.BLOCK:
        return True
    return mode is FilteringMode.SAFE_BLOCKING and acl is AclStatus.GRAY


# -- client address -------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PRIVATE_NETWORKS: Final[tuple[str, ...]] = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "::1/128",
    "fc00::/7",
)


class TrustedProxies:
    """Peers whose real-IP header is believed (nginx `set_real_ip_from`)."""

    def __init__(self, networks: Iterable[Network]) -> None:
        self.networks = tuple(networks)
        self.is_trusted = lru_cache(maxsize=4096)(self._is_trusted)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)


def client_address(peer: str, header_value: bytes | None, trusted: TrustedProxies) -> str:
    """The client's address: from the real-IP header when the peer is trusted.

    Like nginx with `real_ip_recursive on`: walk the header from the right and
    take the first address that is not itself a trusted proxy.
    """
    if not header_value or not trusted.is_trusted(peer):
        return peer
    candidates = header_value.decode("latin-1").split(",")
    chosen = peer
    for raw in reversed(candidates):
        candidate = raw.strip()
        if not _is_ip(candidate):
            break
        chosen = candidate
        if not trusted.is_trusted(candidate):
            break
    return chosen


@lru_cache(maxsize=4096)
def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# -- masking -------------------------------------------------------------------------

_CREDENTIAL_WORDS: Final = ("pass", "pwd", "token", "secret", "auth", "session", "key")


def is_credential_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _CREDENTIAL_WORDS)


def mask_target(target: str) -> str:
    """The request target with the values of credential-like parameters masked."""
    path, sep, query = target.partition("?")
    if not sep or not any(word in query.lower() for word in _CREDENTIAL_WORDS):
        return target
    pairs = []
    for pair in query.split("&"):
        name, eq, _ = pair.partition("=")
        pairs.append(f"{name}=***" if eq and is_credential_name(name) else pair)
    return f"{path}?{'&'.join(pairs)}"
