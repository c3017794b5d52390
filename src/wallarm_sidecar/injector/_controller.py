"""`wallarm-sidecar controller`: its options, the checks before it starts, and the run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from wallarm_sidecar._options import (
    ConfigError,
    Option,
    duration_input,
    listen_input,
)
from wallarm_sidecar.injector._server import (
    AdmissionApp,
    LogLine,
    ReloadingCertificate,
    json_log_line,
    serve,
)
from wallarm_sidecar.injector._settings import InjectionSettings, unknown_keys

TOKEN_ENV = "WALLARM_API_TOKEN"


class ControllerSettings(BaseModel):
    """The controller's own options (the injection settings come from `--config`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    listen: Annotated[
        tuple[str, Annotated[int, Field(ge=1, le=65535)]], BeforeValidator(listen_input)
    ] = (
        "0.0.0.0",
        8443,
    )
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    config: Path | None = None
    certificate_reload_interval: Annotated[float, BeforeValidator(duration_input), Field(gt=0)] = (
        2.0
    )


CONTROLLER_OPTIONS: tuple[Option, ...] = (
    Option("listen", "--listen", "WALLARM_CONTROLLER_LISTEN", "HTTPS address (:8443)"),
    Option(
        "tls_cert_file", "--tls-cert-file", "WALLARM_TLS_CERT_FILE", "serving certificate (PEM)"
    ),
    Option("tls_key_file", "--tls-key-file", "WALLARM_TLS_KEY_FILE", "its private key (PEM)"),
    Option(
        "config",
        "--config",
        "WALLARM_CONTROLLER_CONFIG",
        "injection settings: the chart's config tree plus wstore (YAML)",
    ),
    Option(
        "certificate_reload_interval",
        "--cert-reload-interval",
        "WALLARM_TLS_RELOAD_INTERVAL",
        "how often the certificate files are checked for changes (2s)",
    ),
)


def load_injection_settings(path: Path | None, *, warn: LogLine | None = None) -> InjectionSettings:
    """The `--config` file, or the defaults; `ConfigError` naming the file and key if bad.

    Keys that no setting reads are ignored (so any chart values load), and passed to `warn`.
    """
    if path is None:
        return InjectionSettings()
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read the config file {path}: {error}") from None
    if content is None:
        content = {}
    if not isinstance(content, dict):
        raise ConfigError(f"the config file {path} must be a map (the chart's config tree)")
    if "config" in content and "wallarm" not in content:
        raise ConfigError(
            f"{path} looks like a values file: the controller's config file holds the "
            "content of the chart's config key (wallarm:, injectionStrategy:, ...)"
        )
    try:
        settings = InjectionSettings.from_config(content)
    except ValidationError as error:
        raise ConfigError(f"invalid config file {path}: {_first_error(error)}") from None
    ignored = unknown_keys(content)
    if ignored and warn is not None:
        warn({"event": "config", "file": str(path), "ignored_keys": ignored})
    return settings


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    return f"{key}: {str(first['msg']).removeprefix('Value error, ')}"


def prepare_controller(
    settings: ControllerSettings, environ: Mapping[str, str], *, log: LogLine | None = None
) -> tuple[AdmissionApp, ReloadingCertificate]:
    """Everything the controller needs before it listens, or `ConfigError` saying what lacks."""
    log = log or json_log_line()
    injection = load_injection_settings(settings.config, warn=log)
    token = environ.get(TOKEN_ENV, "").strip() or injection.token
    if not token:
        raise ConfigError(
            f"no API token: set {TOKEN_ENV} (the chart takes it from a Secret) or "
            "wallarm.api.token in the config file"
        )
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        raise ConfigError(
            "TLS material is required: --tls-cert-file and --tls-key-file "
            "(env WALLARM_TLS_CERT_FILE, WALLARM_TLS_KEY_FILE)"
        )
    for path in (settings.tls_cert_file, settings.tls_key_file):
        if not path.is_file():
            raise ConfigError(f"TLS file {path} does not exist")
    try:
        certificate = ReloadingCertificate(settings.tls_cert_file, settings.tls_key_file, log=log)
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"cannot load the TLS certificate {settings.tls_cert_file} and key "
            f"{settings.tls_key_file}: {error}"
        ) from None
    app = AdmissionApp(injection.with_token(token), issued_at=int(time.time()), log=log)
    return app, certificate


def run_controller(settings: ControllerSettings, environ: Mapping[str, str]) -> int:
    app, certificate = prepare_controller(settings, environ)
    host, port = settings.listen
    app.log(
        {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "event": "start",
            "listen": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "schema": app.settings.injection_strategy.schema_name,
            "wstore": f"{app.settings.wstore.host}:{app.settings.wstore.port}",
        }
    )
    asyncio.run(
        serve(
            app,
            certificate,
            host=host,
            port=port,
            reload_interval=settings.certificate_reload_interval,
        )
    )
    return 0
