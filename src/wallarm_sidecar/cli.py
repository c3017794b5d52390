"""`wallarm-sidecar <command>`: one console script for every component (DESIGN §3)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from wallarm_sidecar import __version__
from wallarm_sidecar._options import ConfigError, add_options, build_settings, collect

#: Postanalytics containers (DESIGN §7) besides `wstore`, with what they do.
POSTANALYTICS_COMPONENTS: dict[str, str] = {
    "jobs": "registration, export of hits to the Cloud, behavioural detections "
    "(brute force, forced browsing, BOLA)",
    "appstructure": "API discovery: endpoints, methods and parameters seen, "
    "reported to the Cloud's API inventory",
}


def _run_proxy_command(args: argparse.Namespace, *, role: str) -> int:
    from wallarm_sidecar.cloudlink import SYNC_OPTIONS, NodeSyncSettings, run_node, run_proxy_only
    from wallarm_sidecar.proxy import PROXY_OPTIONS, ProxySettings

    try:
        settings = build_settings(ProxySettings, collect(args, PROXY_OPTIONS, os.environ))
        if role == "node":
            jobs = build_settings(NodeSyncSettings, collect(args, SYNC_OPTIONS, os.environ))
    except ConfigError as error:
        print(f"wallarm-sidecar {role}: {error}", file=sys.stderr)
        return 2
    return run_node(settings, jobs) if role == "node" else run_proxy_only(settings)


def _run_cloud_jobs(args: argparse.Namespace, *, command: str) -> int:
    from wallarm_sidecar.cloudlink import SYNC_OPTIONS, NodeSyncSettings, run_helper, run_register

    try:
        settings = build_settings(NodeSyncSettings, collect(args, SYNC_OPTIONS, os.environ))
    except ConfigError as error:
        print(f"wallarm-sidecar {command}: {error}", file=sys.stderr)
        return 2
    return run_register(settings) if command == "register" else run_helper(settings)


INIT_IPTABLES_OPTIONS = (
    ("--app-port", "app_port", "NGINX_PROXY_PASS_PORT", "80", "the application port"),
    ("--listen-port", "listen_port", "NGINX_LISTEN_PORT", "26001", "the proxy's port"),
    ("--pod-ip", "pod_ip", "POD_IP", "", "the pod IP (downward API); empty: any"),
    ("--backend", "backend", "WALLARM_IPTABLES_BACKEND", "auto", "auto, nft or legacy"),
)


def _run_init_iptables(args: argparse.Namespace) -> int:
    from wallarm_sidecar.capture import run_init_iptables

    values = {
        dest: getattr(args, dest) or os.environ.get(env, default)
        for _, dest, env, default, _ in INIT_IPTABLES_OPTIONS
    }
    return run_init_iptables(**values)


def _run_controller(args: argparse.Namespace) -> int:
    from wallarm_sidecar.injector import CONTROLLER_OPTIONS, ControllerSettings, run_controller

    try:
        settings = build_settings(ControllerSettings, collect(args, CONTROLLER_OPTIONS, os.environ))
        return run_controller(settings, os.environ)
    except ConfigError as error:
        print(f"wallarm-sidecar controller: {error}", file=sys.stderr)
        return 2


def _run_inject(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    import yaml
    from pydantic import ValidationError

    from wallarm_sidecar.injector import (
        TOKEN_ENV,
        InjectionRejected,
        InjectionSettings,
        inject_yaml,
        unknown_keys,
    )

    filename = args.filename or os.environ.get("WALLARM_INJECT_FILE")
    values_file = args.values or os.environ.get("WALLARM_INJECT_VALUES")
    namespace = args.namespace or os.environ.get("WALLARM_INJECT_NAMESPACE")
    if not filename:
        print("wallarm-sidecar inject: -f FILE (or - for stdin) is required", file=sys.stderr)
        return 2
    try:
        values: object = {}
        if values_file:
            values = yaml.safe_load(Path(values_file).read_text(encoding="utf-8")) or {}
        settings = InjectionSettings.from_values(values if isinstance(values, dict) else None)
        config = values.get("config") if isinstance(values, dict) else None
        for key in unknown_keys(config) if isinstance(config, dict) else []:
            print(
                f"wallarm-sidecar inject: warning: values key config.{key} is ignored",
                file=sys.stderr,
            )
        token = os.environ.get(TOKEN_ENV, "").strip()
        if token:
            settings = settings.with_token(token)
        text = sys.stdin.read() if filename == "-" else Path(filename).read_text("utf-8")
        output, warnings = inject_yaml(
            text, settings, namespace=namespace, issued_at=int(time.time())
        )
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        print(f"wallarm-sidecar inject: {error}", file=sys.stderr)
        return 2
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        print(
            f"wallarm-sidecar inject: invalid values: config.{key}: {first['msg']}", file=sys.stderr
        )
        return 2
    except (InjectionRejected, ValueError) as error:
        print(f"wallarm-sidecar inject: {error}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"wallarm-sidecar inject: warning: {warning}", file=sys.stderr)
    sys.stdout.write(output)
    return 0


def _run_certgen(args: argparse.Namespace, *, action: str) -> int:
    from wallarm_sidecar.certgen import (
        CREATE_OPTIONS,
        PATCH_OPTIONS,
        CertgenSettings,
        run_certgen,
    )

    options = CREATE_OPTIONS if action == "create" else PATCH_OPTIONS
    try:
        settings = build_settings(CertgenSettings, collect(args, options, os.environ))
        return run_certgen("create" if action == "create" else "patch", settings, os.environ)
    except ConfigError as error:
        print(f"wallarm-sidecar certgen {action}: {error}", file=sys.stderr)
        return 2


def _add_certgen(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from wallarm_sidecar.certgen import CREATE_OPTIONS, PATCH_OPTIONS

    summary = "the chart's webhook certificate jobs (create, patch)"
    certgen = commands.add_parser(
        "certgen",
        help=summary,
        description=summary + ", run with the pod's service account.",
        epilog="See docs/certgen.md.",
    )
    actions = certgen.add_subparsers(dest="certgen_action", metavar="ACTION", required=True)
    for action, options, text in (
        (
            "create",
            CREATE_OPTIONS,
            "put a new CA and serving certificate into the Secret, unless it holds usable ones",
        ),
        (
            "patch",
            PATCH_OPTIONS,
            "set caBundle (and failurePolicy) of the webhooks from the Secret's CA",
        ),
    ):
        sub = actions.add_parser(action, help=text, description=text + ".")
        add_options(sub, options)
        sub.set_defaults(run=lambda args, action=action: _run_certgen(args, action=action))


def _run_wstore(args: argparse.Namespace) -> int:
    from wallarm_sidecar.postanalytics import WSTORE_OPTIONS, WstoreSettings, run_wstore

    try:
        settings = build_settings(WstoreSettings, collect(args, WSTORE_OPTIONS, os.environ))
    except ConfigError as error:
        print(f"wallarm-sidecar postanalytics wstore: {error}", file=sys.stderr)
        return 2
    return run_wstore(settings)


def _run_postanalytics_component(args: argparse.Namespace, *, name: str) -> int:
    from wallarm_sidecar import postanalytics as pa
    from wallarm_sidecar.cloudlink import CloudEndpoint

    try:
        CloudEndpoint.from_env(os.environ)  # a bad WALLARM_API_* is a start-up error
        if name == "jobs":
            jobs = build_settings(pa.JobsSettings, collect(args, pa.JOBS_OPTIONS, os.environ))
            return pa.run_jobs(jobs)
        options = pa.APPSTRUCTURE_OPTIONS
        app = build_settings(pa.AppstructureSettings, collect(args, options, os.environ))
    except ConfigError as error:
        print(f"wallarm-sidecar postanalytics {name}: {error}", file=sys.stderr)
        return 2
    return pa.run_appstructure(app)


def _add_postanalytics(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from wallarm_sidecar.postanalytics import APPSTRUCTURE_OPTIONS, JOBS_OPTIONS, WSTORE_OPTIONS

    summary = "the postanalytics containers (wstore, jobs, appstructure)"
    postanalytics = commands.add_parser(
        "postanalytics",
        help=summary,
        description=summary + ", one per container of <fullname>-postanalytics.",
        epilog="See docs/postanalytics.md.",
    )
    components = postanalytics.add_subparsers(
        dest="postanalytics_component",
        metavar="{wstore," + ",".join(POSTANALYTICS_COMPONENTS) + "}",
        required=True,
    )
    text = "the in-memory store of request records the proxies send (record protocol on 3313)"
    sub = components.add_parser("wstore", help=text, description=text + ".")
    add_options(sub, WSTORE_OPTIONS)
    sub.set_defaults(run=_run_wstore)
    component_options = {"jobs": JOBS_OPTIONS, "appstructure": APPSTRUCTURE_OPTIONS}
    for name, text in POSTANALYTICS_COMPONENTS.items():
        sub = components.add_parser(
            name,
            help=text,
            description=text + ". Cloud credentials come from WALLARM_API_TOKEN or "
            "WALLARM_API_CREDENTIAL, the Cloud from WALLARM_API_HOST/PORT/USE_SSL/CA_VERIFY.",
        )
        add_options(sub, component_options[name])
        sub.set_defaults(run=lambda args, n=name: _run_postanalytics_component(args, name=n))


def _run_cloud(args: argparse.Namespace) -> int:
    from wallarm_sidecar.cloud import CLOUD_OPTIONS, CloudError, CloudSettings, run_cloud

    try:
        settings = build_settings(CloudSettings, collect(args, CLOUD_OPTIONS, os.environ))
        return run_cloud(settings)
    except (ConfigError, CloudError) as error:
        print(f"wallarm-sidecar cloud: {error}", file=sys.stderr)
        return 2


def _run_cloud_token_create(args: argparse.Namespace) -> int:
    from wallarm_sidecar.cloud import (
        DATABASE_OPTIONS,
        CloudError,
        CloudSettings,
        TokenUsage,
        mint_token,
    )

    try:
        settings = build_settings(CloudSettings, collect(args, DATABASE_OPTIONS, os.environ))
        usage = TokenUsage(args.usage)
        if (usage is TokenUsage.NODE) != bool(args.group):
            raise ConfigError("--group NAME goes with --usage node, and only with it")
        token = mint_token(settings, usage=usage, group=args.group, name=args.name or "")
    except (ConfigError, CloudError) as error:
        print(f"wallarm-sidecar cloud token create: {error}", file=sys.stderr)
        return 2
    print(f"wallarm-sidecar cloud: created a {usage.value} token; it is shown once:")
    print(token)
    return 0


def _add_cloud(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from wallarm_sidecar.cloud import CLOUD_OPTIONS, DATABASE_OPTIONS

    summary = "the control plane API (tokens, nodes, hits, attacks, settings, IP lists)"
    cloud = commands.add_parser(
        "cloud",
        help=summary,
        description=summary + ". The Console (web UI) is not built yet.",
        epilog="Without an admin token, the first start makes one and prints it once. "
        "See docs/cloud.md.",
    )
    add_options(cloud, CLOUD_OPTIONS)
    cloud.set_defaults(run=_run_cloud)
    actions = cloud.add_subparsers(dest="cloud_action", metavar="{token}")
    token = actions.add_parser("token", help="manage API and node tokens from scripts")
    token_actions = token.add_subparsers(dest="token_action", metavar="{create}", required=True)
    text = "create a token and print it as the last line (only its hash is stored)"
    create = token_actions.add_parser("create", help=text, description=text + ".")
    add_options(create, DATABASE_OPTIONS)
    create.add_argument(
        "--usage", required=True, choices=("deployment", "read-only", "node"), help="token usage"
    )
    create.add_argument("--group", help="node group (node tokens only)")
    create.add_argument("--name", help="a label shown in the token list")
    create.set_defaults(run=_run_cloud_token_create)


def build_parser() -> argparse.ArgumentParser:
    from wallarm_sidecar.cloudlink import JOB_OPTIONS, SYNC_OPTIONS
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
        add_options(sub, PROXY_OPTIONS + (JOB_OPTIONS if role == "node" else ()))
        sub.set_defaults(run=lambda args, role=role: _run_proxy_command(args, role=role))
    for name, summary in (
        ("register", "one-shot node registration with the Cloud (init containers)"),
        ("helper", "the node's Cloud jobs alone: registration, then sync (split schema)"),
    ):
        sub = commands.add_parser(
            name, help=summary, description=summary, epilog="See docs/node-sync.md."
        )
        add_options(sub, SYNC_OPTIONS)
        sub.set_defaults(run=lambda args, name=name: _run_cloud_jobs(args, command=name))
    from wallarm_sidecar.injector import CONTROLLER_OPTIONS, TOKEN_ENV

    summary = "admission webhook server (HTTPS, AdmissionReview v1 on /inject)"
    sub = commands.add_parser(
        "controller",
        help=summary,
        description=summary,
        epilog=f"The API token comes from {TOKEN_ENV} (the chart mounts it from a Secret) "
        "or wallarm.api.token in the config file; it is never put into a pod.",
    )
    add_options(sub, CONTROLLER_OPTIONS)
    sub.set_defaults(run=_run_controller)
    summary = "offline injection of Pod/Deployment/StatefulSet/DaemonSet/Job/CronJob manifests"
    sub = commands.add_parser(
        "inject",
        help=summary,
        description=summary + " (the webhook's code path; output is YAML).",
        epilog=f"With {TOKEN_ENV} set, pods get a scoped credential minted from it.",
    )
    for flags, dest, env, text in (
        (("-f", "--filename"), "filename", "WALLARM_INJECT_FILE", "manifests (YAML, - for stdin)"),
        (("--values",), "values", "WALLARM_INJECT_VALUES", "a chart values file (config: ...)"),
        (
            ("--namespace",),
            "namespace",
            "WALLARM_INJECT_NAMESPACE",
            "namespace of the pods (default: the manifest's, else default)",
        ),
    ):
        sub.add_argument(*flags, dest=dest, metavar=env, help=f"{text} [env {env}]")
    sub.set_defaults(run=_run_inject)
    summary = "install the REDIRECT rule of the sidecar-init-iptables container, then exit"
    sub = commands.add_parser("init-iptables", help=summary, description=summary)
    for flag, dest, env, default, text in INIT_IPTABLES_OPTIONS:
        sub.add_argument(
            flag, dest=dest, metavar=env, help=f"{text} [env {env}, default {default!r}]"
        )
    sub.set_defaults(run=_run_init_iptables)
    _add_certgen(commands)
    _add_postanalytics(commands)
    _add_cloud(commands)
    from wallarm_sidecar.localrun import add_localrun_arguments, run_localrun

    summary = "run an injected pod on this machine, each container as a process"
    sub = commands.add_parser(
        "localrun",
        help=summary,
        description=summary + " (in its own network namespace as root, else on loopback).",
        epilog="See docs/localrun.md.",
    )
    add_localrun_arguments(sub)
    sub.set_defaults(run=run_localrun)
    _add_demo(commands)
    return parser


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    summary = "the whole documented story on this machine, no cluster needed"
    sub = commands.add_parser(
        "demo",
        help=summary,
        description=summary + ": Cloud, postanalytics, controller, an injected pod, an attack.",
        epilog="See README.md.",
    )
    sub.add_argument(
        "--check",
        action="store_true",
        help="verify the story end to end (monitoring and block), exit 0 only on success",
    )
    sub.add_argument("--state-dir", help="keep state and logs here (default: a temp dir)")
    sub.add_argument(
        "--no-netns",
        dest="netns",
        action="store_const",
        const=False,
        default=None,
        help="run the pod on loopback even as root",
    )

    def run(args: argparse.Namespace) -> int:
        from wallarm_sidecar.demo import DemoOptions, run_demo

        return run_demo(DemoOptions(check=args.check, state_dir=args.state_dir, netns=args.netns))

    sub.set_defaults(run=run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
