"""`wallarm-sidecar <command>`: one console script for every component (DESIGN §3)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from wallarm_sidecar import __version__
from wallarm_sidecar._options import ConfigError, add_options, build_settings, collect

#: Commands of DESIGN §3 that later issues build, with what they will do.
NOT_BUILT: dict[str, str] = {
    "controller": "admission webhook server (HTTPS, AdmissionReview v1)",
    "inject": "offline injection of Pod/Deployment/... manifests",
    "helper": "the node's Cloud jobs alone (split schema)",
    "register": "one-shot node registration with the Cloud",
    "init-iptables": "install the REDIRECT rule of the init container",
    "certgen": "the chart's webhook certificate jobs (create, patch)",
    "postanalytics": "postanalytics containers (wstore, jobs, appstructure)",
    "cloud": "the control plane API and Console",
    "demo": "the whole documented story on this machine",
    "localrun": "run an injected pod locally",
}


def _run_proxy_command(args: argparse.Namespace, *, role: str) -> int:
    from wallarm_sidecar.proxy import PROXY_OPTIONS, ProxySettings, run_proxy

    try:
        settings = build_settings(ProxySettings, collect(args, PROXY_OPTIONS, os.environ))
    except ConfigError as error:
        print(f"wallarm-sidecar {role}: {error}", file=sys.stderr)
        return 2
    if role == "node":
        print(
            "wallarm-sidecar node: Cloud registration and sync are not built yet; "
            "running the proxy alone with the local configuration",
            file=sys.stderr,
        )
    return run_proxy(settings, role=role)


def _not_built(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        print(
            f"wallarm-sidecar {name}: not built yet ({NOT_BUILT[name]}); see the open issues",
            file=sys.stderr,
        )
        return 2

    return run


def build_parser() -> argparse.ArgumentParser:
    from wallarm_sidecar.proxy import PROXY_OPTIONS

    parser = argparse.ArgumentParser(
        prog="wallarm-sidecar",
        description="Kubernetes sidecar web application firewall.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, role, summary in (
        ("proxy", "proxy", "the WAF reverse proxy alone (runs standalone)"),
        ("node", "node", "the proxy plus the node's Cloud jobs (single schema)"),
    ):
        sub = commands.add_parser(name, help=summary, description=summary)
        add_options(sub, PROXY_OPTIONS)
        sub.set_defaults(run=lambda args, role=role: _run_proxy_command(args, role=role))
    for name, summary in NOT_BUILT.items():
        sub = commands.add_parser(name, help=f"{summary} (not built yet)", description=summary)
        sub.set_defaults(run=_not_built(name), accepts_anything=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "accepts_anything", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
