"""`wallarm-sidecar certgen create|patch`: options, settings checked once, and the run."""

from __future__ import annotations

import datetime
import re
import sys
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from wallarm_sidecar._options import (
    ConfigError,
    Option,
    duration_input,
    switch_input,
)
from wallarm_sidecar.certgen._certificates import parse_hosts
from wallarm_sidecar.certgen._errors import CertgenError
from wallarm_sidecar.certgen._jobs import create_certificate, patch_webhook
from wallarm_sidecar.certgen._kube import (
    SERVICE_ACCOUNT_DIR,
    KubeClient,
    KubeConnection,
    in_cluster_server,
)

CertgenAction = Literal["create", "patch"]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, str) and not pattern.match(value.strip()):
            raise ValueError(f"must be a Kubernetes {what} (lower case letters, digits, -)")
        return value.strip() if isinstance(value, str) else value

    return check


def _hosts(value: Any) -> Any:
    return parse_hosts(value) if isinstance(value, str) else value


def _api_server(value: Any) -> Any:
    if isinstance(value, str):
        parts = urllib.parse.urlsplit(value.strip())
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("must be an https:// URL such as https://10.96.0.1:443")
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise ValueError("has an invalid port") from None
        return value.strip()
    return value


def _failure_policy(value: Any) -> Any:
    if isinstance(value, str):
        for policy in ("Fail", "Ignore"):
            if value.strip().lower() == policy.lower():
                return policy
        raise ValueError("must be Fail or Ignore")
    return value


class CertgenSettings(BaseModel):
    """The options of both jobs; each job checks that the ones it needs are there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: Annotated[str | None, BeforeValidator(_matching(_DNS_LABEL, "namespace"))] = None
    secret_name: Annotated[
        str | None, BeforeValidator(_matching(_DNS_SUBDOMAIN, "object name"))
    ] = None
    hosts: Annotated[tuple[str, ...] | None, BeforeValidator(_hosts)] = None
    webhook_name: Annotated[
        str | None, BeforeValidator(_matching(_DNS_SUBDOMAIN, "object name"))
    ] = None
    patch_failure_policy: Annotated[
        Literal["Fail", "Ignore"] | None, BeforeValidator(_failure_policy)
    ] = None
    api_server: Annotated[str | None, BeforeValidator(_api_server)] = None
    token_file: Path = SERVICE_ACCOUNT_DIR / "token"
    ca_file: Path = SERVICE_ACCOUNT_DIR / "ca.crt"
    insecure_skip_tls_verify: Annotated[bool, BeforeValidator(switch_input)] = False
    retry_for: Annotated[float, BeforeValidator(duration_input), Field(ge=0)] = 30.0


_CONNECTION_OPTIONS: tuple[Option, ...] = (
    Option(
        "namespace",
        "--namespace",
        "WALLARM_CERTGEN_NAMESPACE",
        "namespace of the Secret (default: the service account's)",
    ),
    Option(
        "secret_name",
        "--secret-name",
        "WALLARM_CERTGEN_SECRET_NAME",
        "the Secret holding the CA, certificate and key",
    ),
    Option(
        "api_server",
        "--api-server",
        "WALLARM_CERTGEN_API_SERVER",
        "API server URL (default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)",
    ),
    Option(
        "token_file",
        "--token-file",
        "WALLARM_CERTGEN_TOKEN_FILE",
        f"Bearer token file ({SERVICE_ACCOUNT_DIR / 'token'})",
    ),
    Option(
        "ca_file",
        "--ca-file",
        "WALLARM_CERTGEN_CA_FILE",
        f"CA of the API server ({SERVICE_ACCOUNT_DIR / 'ca.crt'})",
    ),
    Option(
        "retry_for",
        "--retry-for",
        "WALLARM_CERTGEN_RETRY_FOR",
        "how long transient API failures are retried (30s)",
    ),
)
#: Flags without a value (`--flag` means on; the env var takes on/off).
SWITCH_OPTIONS: tuple[Option, ...] = (
    Option(
        "insecure_skip_tls_verify",
        "--insecure-skip-tls-verify",
        "WALLARM_CERTGEN_INSECURE_SKIP_TLS_VERIFY",
        "do not verify the API server's certificate (tests only)",
        switch=True,
    ),
)
CREATE_OPTIONS: tuple[Option, ...] = (
    *_CONNECTION_OPTIONS[:2],
    Option(
        "hosts",
        "--host",
        "WALLARM_CERTGEN_HOST",
        "comma-separated names of the webhook Service (svc,svc.ns,svc.ns.svc,...)",
    ),
    *_CONNECTION_OPTIONS[2:],
    *SWITCH_OPTIONS,
)
PATCH_OPTIONS: tuple[Option, ...] = (
    *_CONNECTION_OPTIONS[:2],
    Option(
        "webhook_name",
        "--webhook-name",
        "WALLARM_CERTGEN_WEBHOOK_NAME",
        "the MutatingWebhookConfiguration to patch",
    ),
    Option(
        "patch_failure_policy",
        "--patch-failure-policy",
        "WALLARM_CERTGEN_PATCH_FAILURE_POLICY",
        "also set every webhook's failurePolicy (Fail or Ignore)",
    ),
    *_CONNECTION_OPTIONS[2:],
    *SWITCH_OPTIONS,
)


def _required(value: object, option: Option) -> None:
    if value is None:
        raise ConfigError(f"{option.flag} (env {option.env}) is required")


def _option(options: Sequence[Option], field: str) -> Option:
    return next(option for option in options if option.field == field)


def connection_for(settings: CertgenSettings, environ: Mapping[str, str]) -> KubeConnection:
    """The API server of the flags, else the in-cluster one, or `ConfigError`."""
    server = settings.api_server or in_cluster_server(environ)
    if server is None:
        raise ConfigError(
            "no API server: not in a pod (KUBERNETES_SERVICE_HOST is unset) and no "
            "--api-server (env WALLARM_CERTGEN_API_SERVER)"
        )
    return KubeConnection(
        server=server,
        token_file=settings.token_file,
        ca_file=None if settings.insecure_skip_tls_verify else settings.ca_file,
        insecure_skip_tls_verify=settings.insecure_skip_tls_verify,
        retry_for=settings.retry_for,
    )


def namespace_for(settings: CertgenSettings) -> str:
    """`--namespace`, else the service account's (the `namespace` file by the token)."""
    if settings.namespace:
        return settings.namespace
    path = settings.token_file.parent / "namespace"
    try:
        namespace = path.read_text(encoding="utf-8").strip()
    except OSError:
        namespace = ""
    if not namespace:
        raise ConfigError(
            f"--namespace (env WALLARM_CERTGEN_NAMESPACE) is required outside a pod ({path} "
            "cannot be read)"
        )
    return namespace


def run_certgen(
    action: CertgenAction,
    settings: CertgenSettings,
    environ: Mapping[str, str],
    *,
    client_factory: Callable[[KubeConnection], KubeClient] = KubeClient,
) -> int:
    """Run one job; one line on stdout on success, one on stderr and exit 1 on failure.

    `ConfigError` (exit 2 in the CLI) is raised for missing or contradictory options.
    """
    options = CREATE_OPTIONS if action == "create" else PATCH_OPTIONS
    _required(settings.secret_name, _option(options, "secret_name"))
    if action == "create":
        _required(settings.hosts, _option(options, "hosts"))
    else:
        _required(settings.webhook_name, _option(options, "webhook_name"))
    namespace = namespace_for(settings)
    connection = connection_for(settings, environ)
    assert settings.secret_name is not None
    prefix = f"wallarm-sidecar certgen {action}"
    try:
        client = client_factory(connection)
        if action == "create":
            assert settings.hosts is not None
            created = create_certificate(
                client,
                namespace=namespace,
                secret_name=settings.secret_name,
                hosts=settings.hosts,
                now=datetime.datetime.now(datetime.UTC),
            )
            detail = f": {created.detail}" if created.detail else ""
            print(
                f"{prefix}: secret {namespace}/{settings.secret_name} {created.action}{detail} "
                f"(hosts {','.join(settings.hosts)})"
            )
        else:
            assert settings.webhook_name is not None
            patched = patch_webhook(
                client,
                namespace=namespace,
                secret_name=settings.secret_name,
                webhook_name=settings.webhook_name,
                failure_policy=settings.patch_failure_policy,
            )
            state = f"{patched.changed} of {patched.webhooks} webhooks patched"
            if not patched.changed:
                state = f"all {patched.webhooks} webhooks already up to date"
            print(
                f"{prefix}: mutatingwebhookconfiguration {settings.webhook_name}: {state} "
                f"(CA from secret {namespace}/{settings.secret_name})"
            )
    except CertgenError as error:
        print(f"{prefix}: {error}", file=sys.stderr)
        return 1
    return 0
