"""`wallarm-sidecar localrun`: flags, then plan and run the pod until Ctrl-C or a death."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import yaml

from wallarm_sidecar.localrun._network import NetworkError, PodNetwork
from wallarm_sidecar.localrun._plan import (
    LoadedPod,
    PlanError,
    PlanOptions,
    choose_network,
    load_pod,
    plan_pod,
)
from wallarm_sidecar.localrun._runner import LocalPod, PodFailed, install_stop_signals

#: (flags, dest, env, help); switches are marked by a help starting with "switch:".
LOCALRUN_FLAGS: tuple[tuple[tuple[str, ...], str, str, str], ...] = (
    (("-f", "--filename"), "filename", "WALLARM_LOCALRUN_FILE", "manifests (YAML, - for stdin)"),
    (("--select",), "select", "WALLARM_LOCALRUN_SELECT", "Kind/name of the pod or workload"),
    (("--namespace",), "namespace", "WALLARM_LOCALRUN_NAMESPACE", "namespace (downward API)"),
    (("--name",), "name", "WALLARM_LOCALRUN_NAME", "pod name (default: generated)"),
    (("--state-dir",), "state_dir", "WALLARM_LOCALRUN_STATE_DIR", "keep logs and pod.json here"),
    (("--pod-network",), "pod_network", "WALLARM_LOCALRUN_POD_NETWORK", "a /30 for the veth pair"),
    (("--ready-timeout",), "ready_timeout", "WALLARM_LOCALRUN_READY_TIMEOUT", "seconds (120)"),
    (("--grace-period",), "grace_period", "WALLARM_LOCALRUN_GRACE_PERIOD", "seconds (the spec's)"),
)
SWITCHES: tuple[tuple[str, str, str, str], ...] = (
    ("--no-netns", "no_netns", "WALLARM_LOCALRUN_NO_NETNS", "run on the host's loopback"),
    ("--free-ports", "free_ports", "WALLARM_LOCALRUN_FREE_PORTS", "loopback: map every port"),
)
_PORT = re.compile(r"^(\d{1,5})=(\d{1,5})$")


def add_localrun_arguments(parser: argparse.ArgumentParser) -> None:
    for flags, dest, env, text in LOCALRUN_FLAGS:
        parser.add_argument(*flags, dest=dest, metavar=env, help=f"{text} [env {env}]")
    for flag, dest, env, text in SWITCHES:
        parser.add_argument(
            flag, dest=dest, action="store_const", const="on", help=f"{text} [env {env}=on]"
        )
    parser.add_argument(
        "--port",
        dest="ports",
        action="append",
        default=[],
        metavar="CONTAINER=HOST",
        help="loopback: serve a container port on another host port (repeatable)",
    )


class UsageError(Exception):
    """A bad flag or file; exit 2."""


def _setting(args: argparse.Namespace, dest: str, env: str, environ: Mapping[str, str]) -> str:
    value = getattr(args, dest, None)
    return str(value) if value is not None else environ.get(env, "")


def _seconds(text: str, name: str, default: float | None) -> float | None:
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{name}={text!r}: must be a number of seconds") from None
    if not 0 <= value <= 86400:
        raise UsageError(f"{name}={text!r}: must be 0-86400 seconds")
    return value


def _port_map(items: list[str]) -> dict[int, int]:
    mapping: dict[int, int] = {}
    for item in items:
        match = _PORT.match(item.strip())
        if not match or not all(1 <= int(p) <= 65535 for p in match.groups()):
            raise UsageError(f"--port {item!r}: must be CONTAINER=HOST with ports 1-65535")
        mapping[int(match.group(1))] = int(match.group(2))
    return mapping


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pod_name(loaded: LoadedPod, given: str) -> str:
    if given:
        return given
    if not loaded.generated:
        return loaded.default_name
    alphabet = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generated names
    suffix = "".join(secrets.choice(alphabet) for _ in range(5))
    base = loaded.default_name if loaded.default_name.endswith("-") else loaded.default_name + "-"
    return base + suffix


def _load(filename: str) -> list[Any]:
    try:
        text = sys.stdin.read() if filename == "-" else Path(filename).read_text("utf-8")
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise UsageError(str(error)) from None


def run_localrun(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None, out: TextIO | None = None
) -> int:
    """0 after Ctrl-C/SIGTERM with everything stopped; 1 when the pod failed; 2 bad usage."""
    environ = os.environ if environ is None else environ
    out = out or sys.stdout
    try:
        return asyncio.run(_run(args, environ, out))
    except UsageError as error:
        print(f"wallarm-sidecar localrun: {error}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> int:
    filename = _setting(args, "filename", "WALLARM_LOCALRUN_FILE", environ)
    if not filename:
        raise UsageError("-f FILE (or - for stdin) is required")
    ready_timeout = _seconds(
        _setting(args, "ready_timeout", "WALLARM_LOCALRUN_READY_TIMEOUT", environ),
        "--ready-timeout",
        120.0,
    )
    grace = _seconds(
        _setting(args, "grace_period", "WALLARM_LOCALRUN_GRACE_PERIOD", environ),
        "--grace-period",
        None,
    )
    switches = {
        dest: _setting(args, dest, env, environ).lower() in ("on", "true", "1", "yes")
        for _, dest, env, _ in SWITCHES
    }
    port_map = _port_map(list(args.ports or []))
    try:
        loaded = load_pod(
            _load(filename), select=_setting(args, "select", "WALLARM_LOCALRUN_SELECT", environ)
        )
    except PlanError as error:
        raise UsageError(str(error)) from None
    spec = loaded.pod.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    mode, reason = choose_network(
        want_netns=not switches["no_netns"],
        is_root=os.geteuid() == 0,
        have_ip=shutil.which("ip") is not None,
        have_iptables=shutil.which("iptables") is not None,
        host_network=bool(spec.get("hostNetwork")),
    )
    network = None
    if mode == "netns":
        try:
            network = PodNetwork.allocate(
                _setting(args, "pod_network", "WALLARM_LOCALRUN_POD_NETWORK", environ)
            )
        except (ValueError, NetworkError) as error:
            raise UsageError(f"--pod-network: {error}") from None
    else:
        print(f"localrun: no network namespace: {reason}; using the host's loopback", file=out)

    given_state = _setting(args, "state_dir", "WALLARM_LOCALRUN_STATE_DIR", environ)
    state_dir = Path(given_state or tempfile.mkdtemp(prefix="wallarm-localrun-")).absolute()
    options = PlanOptions(
        name=_pod_name(loaded, _setting(args, "name", "WALLARM_LOCALRUN_NAME", environ)),
        namespace=_setting(args, "namespace", "WALLARM_LOCALRUN_NAMESPACE", environ)
        or loaded.namespace,
        network=mode,
        pod_ip=network.pod_ip if network else "127.0.0.1",
        host_ip=network.host_ip if network else "127.0.0.1",
        node_name=socket.gethostname(),
        state_dir=str(state_dir),
        python=sys.executable,
        base_env=dict(environ),
        port_map=port_map,
        secrets=loaded.secrets,
        config_maps=loaded.config_maps,
        grace_period=grace,
        loopback_reason=reason,
    )
    try:
        plan = plan_pod(loaded.pod, options)
        if mode == "loopback" and switches["free_ports"]:
            wanted = {p.container_port for p in plan.ports} - set(port_map)
            free = {port: _free_port() for port in sorted(wanted)}
            plan = plan_pod(loaded.pod, replace(options, port_map={**port_map, **free}))
    except PlanError as error:
        if not given_state:
            shutil.rmtree(state_dir, ignore_errors=True)
        print(f"wallarm-sidecar localrun: {loaded.source}: {error}", file=sys.stderr)
        return 1
    pod = LocalPod(plan, state_dir=state_dir, network=network, out=out, keep_logs=bool(given_state))
    return await _serve(pod, ready_timeout or 120.0)


async def _serve(pod: LocalPod, ready_timeout: float) -> int:
    """Start, report READY, and run until a signal (0) or a failure (1); always clean up."""
    task = asyncio.current_task()
    assert task is not None
    install_stop_signals(task.cancel)
    code = 0
    try:
        await pod.start()
        await pod.wait_ready(ready_timeout)
        for line in pod.access():
            pod.say(line)
        await pod.wait()
    except asyncio.CancelledError:
        pod.say("interrupted")
    except (PodFailed, NetworkError, OSError) as error:
        pod.say(f"pod failed: {error}")
        code = 1
    finally:
        # a second Ctrl-C must not cut the clean-up short
        stop = asyncio.ensure_future(pod.stop())
        while not stop.done():
            try:
                await asyncio.shield(stop)
            except asyncio.CancelledError:
                continue
        if stop.result():
            code = 1
    return code
