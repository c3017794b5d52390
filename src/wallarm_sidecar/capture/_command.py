"""`wallarm-sidecar init-iptables`: install the REDIRECT rule and exit (the init container)."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Sequence

from wallarm_sidecar.capture._rules import RedirectRule, choose_backend, count_rules

log = logging.getLogger("wallarm_sidecar.capture")


class CaptureError(Exception):
    """iptables is missing or refused the rule; the message says which and why."""


def _binary(backend: str, ipv6: bool) -> str:
    base = "ip6tables" if ipv6 else "iptables"
    for candidate in (f"{base}-{backend}", base):
        path = shutil.which(candidate)
        if path:
            return path
    raise CaptureError(f"{base}-{backend} not found: install iptables (nf_tables or legacy)")


def _run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, timeout=30, check=False)


def _rules_in(backend: str, ipv6: bool) -> int:
    base = "ip6tables" if ipv6 else "iptables"
    path = shutil.which(f"{base}-{backend}-save")
    if not path:
        return 0
    result = _run([path])
    return count_rules(result.stdout) if result.returncode == 0 else 0


def install(rule: RedirectRule, *, backend: str = "auto") -> str:
    """Add the rule unless it is there already; returns the back end used."""
    chosen = choose_backend(
        backend,
        legacy_rules=_rules_in("legacy", rule.ipv6) if backend == "auto" else 0,
        nft_rules=_rules_in("nft", rule.ipv6) if backend == "auto" else 0,
    )
    binary = _binary(chosen, rule.ipv6)
    if _run([binary, *rule.arguments("-C")]).returncode == 0:
        log.info("redirect rule already present (%s)", chosen)
        return chosen
    result = _run([binary, *rule.arguments("-A")])
    if result.returncode != 0:
        raise CaptureError(
            f"{binary} refused the rule: {result.stderr.strip() or result.stdout.strip()}"
        )
    log.info(
        "redirecting TCP %s:%d to port %d (%s)",
        rule.pod_ip or "*",
        rule.app_port,
        rule.listen_port,
        chosen,
    )
    return chosen


def remove(rule: RedirectRule, *, backend: str) -> None:
    binary = _binary(backend, rule.ipv6)
    while _run([binary, *rule.arguments("-C")]).returncode == 0:
        _run([binary, *rule.arguments("-D")])


def run_init_iptables(*, app_port: str, listen_port: str, pod_ip: str, backend: str) -> int:
    """The init container's work: 0 when the rule is in place, 1 when iptables failed,
    2 for a bad setting (one line on stderr naming it)."""
    from wallarm_sidecar._options import parse_listen  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(asctime)s init-iptables %(message)s")
    try:
        app = parse_listen(app_port)[1]
        listen = parse_listen(listen_port)[1]
    except ValueError as error:
        log.error("invalid configuration: NGINX_PROXY_PASS_PORT/NGINX_LISTEN_PORT: %s", error)
        return 2
    if backend not in ("auto", "nft", "legacy"):
        log.error(
            "invalid configuration: WALLARM_IPTABLES_BACKEND=%r: auto, nft or legacy", backend
        )
        return 2
    try:
        rule = RedirectRule(app_port=app, listen_port=listen, pod_ip=pod_ip.strip())
    except ValueError as error:
        log.error("invalid configuration: %s", error)
        return 2
    try:
        install(rule, backend=backend)
    except CaptureError as error:
        log.error("%s", error)
        return 1
    return 0
