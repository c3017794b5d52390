"""Configuration from DESIGN §4's environment, validated at the edge."""

from __future__ import annotations

import argparse
import ipaddress

import pytest

from wallarm_sidecar._options import (
    ConfigError,
    add_options,
    build_settings,
    collect,
    parse_duration,
    parse_listen,
)
from wallarm_sidecar.proxy import PROXY_OPTIONS, FilteringMode, ModeOverride, ProxySettings


def settings_from(env: dict[str, str], argv: list[str] | None = None) -> ProxySettings:
    parser = argparse.ArgumentParser()
    add_options(parser, PROXY_OPTIONS)
    return build_settings(ProxySettings, collect(parser.parse_args(argv or []), PROXY_OPTIONS, env))


def test_defaults_match_the_design() -> None:
    settings = settings_from({})
    assert settings.mode is FilteringMode.MONITORING
    assert settings.mode_allow_override is ModeOverride.ON
    assert settings.listen == ("0.0.0.0", 26001)
    assert settings.status_listen[1] == 10246 and settings.metrics_listen[1] == 18080
    assert settings.upstream_port == 80 and settings.wstore_port == 3313
    assert settings.worker_connections == 4096
    assert settings.real_ip_header == "X-Forwarded-For"
    assert ipaddress.ip_network("10.0.0.0/8") in settings.set_real_ip_from
    assert settings.upstream_connect_attempts == 10
    assert settings.upstream_reconnect_interval == 15.0


def test_the_injected_environment_is_understood() -> None:
    settings = settings_from(
        {
            "WALLARM_MODE": "block",
            "WALLARM_MODE_ALLOW_OVERRIDE": "strict",
            "NGINX_LISTEN_PORT": "26001",
            "NGINX_PROXY_PASS_PORT": "8080",
            "NGINX_STATUS_PORT": "10246",
            "NGINX_WALLARM_METRICS_PORT": "18080",
            "NGINX_WORKER_PROCESSES": "auto",
            "NGINX_WORKER_CONNECTIONS": "1024",
            "NGINX_REAL_IP_HEADER": "X-Real-IP",
            "NGINX_SET_REAL_IP_FROM": "10.0.0.0/8, 192.168.0.0/16",
            "WALLARM_WSTORE_HOST": "wallarm-sidecar-postanalytics.wallarm.svc",
            "WALLARM_WSTORE_PORT": "3313",
            "WALLARM_UPSTREAM_CONNECT_ATTEMPTS": "5",
            "WALLARM_UPSTREAM_RECONNECT_INTERVAL": "500ms",
            "WALLARM_BLOCK_PAGE": "response_code=451",
            "WALLARM_APPLICATION": "42",
            "WALLARM_LABELS": "group=shop-nodes",
            "WALLARM_PARSER_DISABLE": "json;base64",
            "WALLARM_ENABLE_LIB_DETECTION": "off",
        }
    )
    assert settings.mode is FilteringMode.BLOCK and settings.upstream_port == 8080
    assert settings.worker_processes >= 1 and settings.worker_connections == 1024
    assert len(settings.set_real_ip_from) == 2
    assert settings.upstream_reconnect_interval == 0.5
    assert settings.block_page.status == 451
    assert settings.node_group == "shop-nodes" and settings.application == "42"
    assert settings.parser_disable == {"json", "base64"}
    assert settings.enable_lib_detection is False


def test_a_flag_beats_the_environment() -> None:
    settings = settings_from({"WALLARM_MODE": "block"}, ["--mode", "off"])
    assert settings.mode is FilteringMode.OFF


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"WALLARM_MODE": "bogus"}, "WALLARM_MODE='bogus'"),
        ({"NGINX_LISTEN_PORT": "0"}, "NGINX_LISTEN_PORT='0'"),
        ({"NGINX_PROXY_PASS_PORT": "-1"}, "NGINX_PROXY_PASS_PORT='-1'"),
        ({"NGINX_WORKER_CONNECTIONS": "lots"}, "NGINX_WORKER_CONNECTIONS='lots'"),
        ({"WALLARM_MODE_ALLOW_OVERRIDE": "maybe"}, "WALLARM_MODE_ALLOW_OVERRIDE='maybe'"),
        ({"NGINX_REAL_IP_HEADER": "X Bad"}, "NGINX_REAL_IP_HEADER='X Bad'"),
        ({"WALLARM_ENABLE_LIB_DETECTION": "perhaps"}, "WALLARM_ENABLE_LIB_DETECTION"),
        ({"WALLARM_APPLICATION": "a b"}, "WALLARM_APPLICATION"),
        ({"NGINX_PROXY_PASS_PORT": "26001"}, "equals the application port"),
        ({"NGINX_STATUS_PORT": "18080"}, "must all differ"),
    ],
)
def test_invalid_values_name_the_variable_and_value(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from(env)
    message = str(raised.value)
    assert fragment in message and "\n" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8443", ("0.0.0.0", 8443)),
        (":8443", ("0.0.0.0", 8443)),
        ("127.0.0.1:80", ("127.0.0.1", 80)),
        ("[::1]:9001", ("::1", 9001)),
        ("[::]:26001", ("::", 26001)),
    ],
)
def test_listen_forms(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["", "host:", ":0", ":65536", "::1:80", "[::1]80", "a:b"])
def test_bad_listen_forms(text: str) -> None:
    with pytest.raises(ValueError):
        parse_listen(text)


@pytest.mark.parametrize(
    ("text", "seconds"), [("15s", 15.0), ("500ms", 0.5), ("2m", 120.0), ("1h", 3600.0), ("3", 3.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
