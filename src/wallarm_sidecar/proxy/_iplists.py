"""IP allow/deny/gray lists from the `wallarm-acl` volume (`ip-lists.json`).

File format (written atomically by the node's Cloud sync; see docs/ip-lists.md):

    {"version": 1,
     "entries": [{"list": "deny", "ip": "203.0.113.0/24",
                  "expires_at": 1767225600, "application": null}]}

`expires_at` is a Unix time or null (no expiry); `application` limits an entry to
one application (WALLARM_APPLICATION) or is null for all. Lookups cost one dict
probe per distinct prefix length, and nothing at all while the lists are empty.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wallarm_sidecar.proxy._files import read_json_document
from wallarm_sidecar.proxy._policy import AclStatus

_KINDS = {"allow": AclStatus.ALLOW, "deny": AclStatus.DENY, "gray": AclStatus.GRAY}
MAX_ENTRIES = 1_000_000


@dataclass(frozen=True, slots=True)
class _Entry:
    expires_at: float | None
    application: str | None


# (version, prefix length) -> {network as int: [(kind, entry), ...]}
_Table = dict[tuple[int, int], dict[int, list[tuple[AclStatus, _Entry]]]]


class IpLists:
    """An immutable snapshot of the three lists."""

    __slots__ = ("_prefixes", "_table", "size")

    def __init__(self, table: _Table | None = None) -> None:
        self._table: _Table = table or {}
        self._prefixes = sorted(self._table, key=lambda key: -key[1])
        self.size = sum(len(v) for by_net in self._table.values() for v in by_net.values())

    @classmethod
    def from_document(cls, document: Any) -> IpLists:
        """Validate a decoded `ip-lists.json`; raises ValueError naming the bad entry."""
        if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
            raise ValueError("expected an object with an 'entries' array")
        entries = document["entries"]
        if len(entries) > MAX_ENTRIES:
            raise ValueError(f"more than {MAX_ENTRIES} entries")
        table: _Table = {}
        for index, raw in enumerate(entries):
            if not isinstance(raw, dict):
                raise ValueError(f"entries[{index}] is not an object")
            kind = _KINDS.get(str(raw.get("list", "")))
            if kind is None:
                raise ValueError(f"entries[{index}].list must be allow, deny or gray")
            try:
                network = ipaddress.ip_network(str(raw.get("ip", "")), strict=False)
            except ValueError:
                raise ValueError(f"entries[{index}].ip is not an IP address or CIDR") from None
            expires = raw.get("expires_at")
            if expires is not None and (
                isinstance(expires, bool) or not isinstance(expires, int | float)
            ):
                raise ValueError(f"entries[{index}].expires_at must be a number or null")
            application = raw.get("application")
            if application is not None and not isinstance(application, str):
                raise ValueError(f"entries[{index}].application must be a string or null")
            key = (network.version, network.prefixlen)
            table.setdefault(key, {}).setdefault(int(network.network_address), []).append(
                (kind, _Entry(None if expires is None else float(expires), application))
            )
        return cls(table)

    @classmethod
    def load(cls, path: Path) -> IpLists:
        """Read the file; a missing file means empty lists (the proxy runs standalone)."""
        document = read_json_document(path)
        return cls() if document is None else cls.from_document(document)

    def lookup(self, address: str, application: str, now: float) -> AclStatus:
        if not self._table:
            return AclStatus.NONE
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return AclStatus.NONE
        found = self._lookup(ip, application, now)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            # ::ffff:a.b.c.d is listed either way: as the IPv4 or the IPv6 address.
            mapped = self._lookup(ip.ipv4_mapped, application, now)
            if AclStatus.ALLOW in (found, mapped):
                return AclStatus.ALLOW
            if AclStatus.DENY in (found, mapped):
                return AclStatus.DENY
            found = found or mapped
        return found

    def _lookup(
        self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address, application: str, now: float
    ) -> AclStatus:
        value = int(ip)
        bits = ip.max_prefixlen
        found = AclStatus.NONE
        for version, prefix in self._prefixes:
            if version != ip.version:
                continue
            network = value >> (bits - prefix) << (bits - prefix) if prefix else 0
            for kind, entry in self._table[(version, prefix)].get(network, ()):
                if entry.expires_at is not None and entry.expires_at <= now:
                    continue
                if entry.application is not None and entry.application != application:
                    continue
                if kind is AclStatus.ALLOW:
                    return AclStatus.ALLOW
                if kind is AclStatus.DENY or not found:
                    found = kind
        return found
