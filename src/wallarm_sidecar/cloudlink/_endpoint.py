"""Where the Cloud is: `WALLARM_API_HOST`, `_PORT`, `_USE_SSL`, `_CA_VERIFY` (DESIGN §4)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from wallarm_sidecar._options import ConfigError, parse_switch

DEFAULT_HOST = "api.wallarm.com"
DEFAULT_PORT = 443

#: A DNS name or an IP address (IPv6 with or without brackets); nothing that could split
#: the Host header or the URL.
_HOST = re.compile(r"^[A-Za-z0-9._:-]{1,253}$")


def parse_api_host(text: str) -> str:
    host = text.strip()
    if "://" in host:
        raise ValueError("must be a host name without a scheme (use WALLARM_API_USE_SSL)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not _HOST.match(host):
        raise ValueError("must be a host name or an IP address")
    return host


def parse_api_port(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise ValueError("must be a port number 1-65535")
    return int(value)


def parse_ca_verify(text: str) -> bool | str:
    """`true`/`false` (and the other on/off words), or the path of a CA bundle file."""
    try:
        return parse_switch(text)
    except ValueError:
        pass
    path = text.strip()
    if not path or not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise ValueError("must be true, false or the path of a readable CA bundle file")
    return path


@dataclass(frozen=True)
class CloudEndpoint:
    host: str
    port: int
    use_ssl: bool
    ca_verify: bool | str  # True/False or a CA bundle path

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CloudEndpoint:
        """Read the four variables; a bad one raises a one-line `ConfigError` naming it."""
        values: dict[str, object] = {}
        for name, key, parse, default in (
            ("WALLARM_API_HOST", "host", parse_api_host, DEFAULT_HOST),
            ("WALLARM_API_PORT", "port", parse_api_port, DEFAULT_PORT),
            ("WALLARM_API_USE_SSL", "use_ssl", parse_switch, True),
            ("WALLARM_API_CA_VERIFY", "ca_verify", parse_ca_verify, True),
        ):
            raw = env.get(name)
            if raw is None or not raw.strip():
                values[key] = default
                continue
            try:
                values[key] = parse(raw)
            except ValueError as error:
                raise ConfigError(f"invalid configuration: {name}={raw!r}: {error}") from None
        return cls(**values)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.use_ssl else 'http'}://{host}:{self.port}"


__all__ = ["CloudEndpoint", "parse_api_host", "parse_api_port", "parse_ca_verify"]
