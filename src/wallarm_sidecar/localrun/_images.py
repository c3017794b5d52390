"""Application images that `localrun` knows how to run as a local process.

A container image cannot run here, so each supported application image maps to a
local program that does the same job (see `sampleapp` for why httpbin is our own).
The program listens on the container's declared port (named `http`, else the first);
`port` is the image's own port, used when the container declares none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class AppImage:
    """How to run one application image: its port and a command line for a host and port."""

    description: str
    port: int
    argv: Callable[[str, str, int], list[str]]  # (python, host, port) -> argv


def _gunicorn(app: str) -> Callable[[str, str, int], list[str]]:
    """gunicorn serving a WSGI app, as the httpbin image does (`gunicorn -b 0.0.0.0:80`)."""

    def argv(python: str, host: str, port: int) -> list[str]:
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return [
            python,
            "-m",
            "gunicorn",
            "--bind",
            bind,
            "--workers",
            "1",
            "--threads",
            "4",
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "5",
            "--no-control-socket",  # it would live in $HOME, shared by every local pod
            app,
        ]

    return argv


#: image repository (registry and tag stripped) -> how to run it.
APP_IMAGES: Final[Mapping[str, AppImage]] = {
    "kennethreitz/httpbin": AppImage(
        description="httpbin-compatible sample app on gunicorn",
        port=80,
        argv=_gunicorn("wallarm_sidecar.localrun.sampleapp:app"),
    ),
}


def image_repository(image: str) -> str:
    """`docker.io/kennethreitz/httpbin:latest@sha256:..` -> `kennethreitz/httpbin`."""
    name = image.strip().split("@", 1)[0]
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name = name[:colon]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # a registry host
    if len(parts) == 2 and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts).lower()
