"""The pod's network namespace: `ip netns`, a veth pair and a /30 from 198.18.0.0/15.

198.18.0.0/15 is set aside for benchmarking (RFC 2544): nothing real lives there, so a
pod address from it never hides a real host.
"""

from __future__ import annotations

import ipaddress
import random
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from typing import Final

POOL: Final = ipaddress.ip_network("198.18.0.0/15")


class NetworkError(Exception):
    """The namespace or the veth pair could not be made; the message has `ip`'s words."""


def pick_subnet(
    used: list[ipaddress.IPv4Network], chooser: random.Random | None = None
) -> ipaddress.IPv4Network:
    """A /30 of the pool that overlaps no network in `used` (pure, given the chooser)."""
    chooser = chooser or random.Random()
    count = POOL.num_addresses // 4
    start = chooser.randrange(count)
    for offset in range(count):
        index = (start + offset) % count
        candidate = ipaddress.ip_network((int(POOL.network_address) + 4 * index, 30))
        if not any(candidate.overlaps(net) for net in used):
            return candidate  # type: ignore[return-value]
    raise NetworkError("no free /30 left in 198.18.0.0/15")


def addresses(subnet: ipaddress.IPv4Network) -> tuple[str, str]:
    """(host side, pod side) of a /30."""
    if subnet.prefixlen != 30:
        raise ValueError(f"{subnet} is not a /30")
    first = subnet.network_address
    return str(first + 1), str(first + 2)


def used_networks() -> list[ipaddress.IPv4Network]:
    """IPv4 networks of the host's interfaces (`ip -o -4 addr`)."""
    result = subprocess.run(
        ["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, timeout=30, check=False
    )
    networks: list[ipaddress.IPv4Network] = []
    for line in result.stdout.splitlines():
        words = line.split()
        if "inet" in words:
            text = words[words.index("inet") + 1]
            network = ipaddress.ip_interface(text).network
            if isinstance(network, ipaddress.IPv4Network):
                networks.append(network)
    return networks


@dataclass(frozen=True, slots=True)
class PodNetwork:
    """Names and addresses of one pod's namespace; `create()` and `delete()` do the work."""

    namespace: str
    host_interface: str
    pod_interface: str
    host_ip: str
    pod_ip: str

    @classmethod
    def allocate(cls, subnet: str = "") -> PodNetwork:
        """Fresh names and a free /30 (or the given one), nothing created yet."""
        chosen = (
            ipaddress.ip_network(subnet, strict=True) if subnet else pick_subnet(used_networks())
        )
        if not isinstance(chosen, ipaddress.IPv4Network):
            raise ValueError(f"{subnet}: the pod network must be an IPv4 /30")
        host_ip, pod_ip = addresses(chosen)
        token = secrets.token_hex(4)
        # Interface names are at most 15 characters.
        return cls(f"wsl-{token}", f"wslh{token}", f"wslp{token}", host_ip, pod_ip)

    def create(self) -> None:
        ip = shutil.which("ip") or "ip"
        steps = [
            [ip, "netns", "add", self.namespace],
            [
                ip,
                "link",
                "add",
                self.host_interface,
                "type",
                "veth",
                "peer",
                "name",
                self.pod_interface,
            ],
            [ip, "link", "set", self.pod_interface, "netns", self.namespace],
            [ip, "addr", "add", f"{self.host_ip}/30", "dev", self.host_interface],
            [ip, "link", "set", self.host_interface, "up"],
            *(
                [ip, "netns", "exec", self.namespace, *step]
                for step in (
                    [ip, "addr", "add", f"{self.pod_ip}/30", "dev", self.pod_interface],
                    [ip, "link", "set", self.pod_interface, "up"],
                    [ip, "link", "set", "lo", "up"],
                    # No default route: the pod reaches the host side only, and a DNS
                    # query for a cluster name fails at once instead of timing out.
                )
            ),
        ]
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True, timeout=30, check=False)
            if result.returncode != 0:
                raise NetworkError(f"{' '.join(step)}: {result.stderr.strip()}")

    def delete(self) -> list[str]:
        """Remove the namespace and the veth pair; returns what could not be removed."""
        problems = []
        # Deleting the namespace deletes its end of the pair, and with it the host end.
        for step in (
            ["ip", "netns", "del", self.namespace],
            ["ip", "link", "del", self.host_interface],
        ):
            subprocess.run(step, capture_output=True, timeout=30, check=False)
        if self.namespace in list_namespaces():
            problems.append(f"namespace {self.namespace}")
        if interface_exists(self.host_interface):
            problems.append(f"veth {self.host_interface}")
        return problems

    def wrap(self, argv: list[str]) -> list[str]:
        """`argv` run inside the pod's namespace."""
        return [shutil.which("ip") or "ip", "netns", "exec", self.namespace, *argv]


def list_namespaces() -> list[str]:
    result = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, timeout=30, check=False
    )
    return [line.split()[0] for line in result.stdout.splitlines() if line.strip()]


def interface_exists(name: str) -> bool:
    result = subprocess.run(
        ["ip", "link", "show", name], capture_output=True, text=True, timeout=30, check=False
    )
    return result.returncode == 0
