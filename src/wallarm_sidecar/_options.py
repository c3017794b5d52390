"""Command-line options that fall back to environment variables, validated once.

Each command describes its options as a table of `Option` rows; the CLI builds
argparse flags from it (with the env var in `--help`), and `build_settings`
turns flags, environment and defaults into a validated pydantic model. A bad value
becomes one `ConfigError` line naming the variable (or flag) and the value.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigError(Exception):
    """Invalid configuration; the message is one line meant for the operator."""


@dataclass(frozen=True, slots=True)
class Option:
    field: str
    flag: str
    env: str
    help: str
    #: a flag without a value (`--flag` means on; the env var takes on/off)
    switch: bool = False


def add_options(parser: argparse.ArgumentParser, options: Sequence[Option]) -> None:
    for option in options:
        if option.switch:
            parser.add_argument(
                option.flag,
                dest=option.field,
                action="store_const",
                const="on",
                default=None,
                help=f"{option.help} [env {option.env}=on]",
            )
        else:
            parser.add_argument(
                option.flag,
                dest=option.field,
                default=None,
                metavar=option.env,
                help=f"{option.help} [env {option.env}]",
            )


def collect(
    namespace: argparse.Namespace, options: Sequence[Option], environ: Mapping[str, str]
) -> dict[str, tuple[str, str]]:
    """Raw values by field, with where each came from: a flag beats the environment."""
    raw: dict[str, tuple[str, str]] = {}
    for option in options:
        value = getattr(namespace, option.field, None)
        if value is not None:
            raw[option.field] = (str(value), option.flag)
        elif option.env in environ:
            raw[option.field] = (environ[option.env], option.env)
    return raw


def build_settings(model: type[ModelT], raw: Mapping[str, tuple[str, str]]) -> ModelT:
    try:
        return model.model_validate({name: value for name, (value, _) in raw.items()})
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        value, source = raw.get(name, ("", name))
        message = str(first["msg"]).removeprefix("Value error, ")
        if not name:
            raise ConfigError(f"invalid configuration: {message}") from None
        raise ConfigError(f"invalid configuration: {source}={value!r}: {message}") from None


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Seconds from nginx-style durations: `15s`, `500ms`, `1m`, `2h` or plain seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError("must be a duration such as 15s, 500ms or 1m")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


_TRUE = frozenset({"on", "true", "yes", "1", "enabled"})
_FALSE = frozenset({"off", "false", "no", "0", "disabled"})


def parse_switch(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("must be on or off")


def parse_listen(text: str, *, default_host: str = "0.0.0.0") -> tuple[str, int]:
    """`PORT`, `:PORT`, `HOST:PORT` or `[v6]:PORT` to (host, port)."""
    text = text.strip()
    host = default_host
    port_text = text
    if text.startswith("["):
        end = text.find("]:")
        if end < 0:
            raise ValueError("must be [IPv6]:PORT")
        host, port_text = text[1:end], text[end + 2 :]
    elif ":" in text:
        host_part, _, port_text = text.rpartition(":")
        if ":" in host_part:
            raise ValueError("IPv6 addresses must be written as [ADDRESS]:PORT")
        host = host_part or default_host
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError("must be a port number 1-65535, :PORT, HOST:PORT or [v6]:PORT")
    return host, int(port_text)


# --- the same parsers as pydantic `BeforeValidator`s: text from a flag or the
# environment is parsed, a value given in code passes as it is


def duration_input(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


def switch_input(value: Any) -> Any:
    return parse_switch(value) if isinstance(value, str) else value


def listen_input(value: Any) -> Any:
    """A listen address; the host defaults to every interface."""
    return parse_listen(value) if isinstance(value, str) else value


def loopback_listen_input(value: Any) -> Any:
    """A listen address; the host defaults to loopback."""
    return parse_listen(value, default_host="127.0.0.1") if isinstance(value, str) else value


def labels_group_input(value: Any) -> Any:
    """`WALLARM_LABELS=group=<name>[,k=v]` gives the node group."""
    if isinstance(value, str):
        for item in value.split(","):
            key, _, group = item.partition("=")
            if key.strip() == "group":
                return group.strip()
        return ""
    return value
