"""The console script: every DESIGN §3 command exists; unbuilt ones say so and exit 2."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from wallarm_sidecar import __version__
from wallarm_sidecar.cli import main

ROOT = Path(__file__).resolve().parents[2]
DESIGN_COMMANDS = [
    "controller",
    "inject",
    "proxy",
    "node",
    "helper",
    "register",
    "init-iptables",
    "certgen",
    "postanalytics",
    "cloud",
    "demo",
]


def test_every_design_command_is_known(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for command in DESIGN_COMMANDS:
        assert re.search(rf"^\s+{re.escape(command)}\b", text, re.M), command


def test_proxy_help_shows_the_environment_variables() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wallarm_sidecar", "proxy", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for variable in (
        "WALLARM_MODE",
        "NGINX_LISTEN_PORT",
        "NGINX_PROXY_PASS_PORT",
        "NGINX_WORKER_PROCESSES",
        "WALLARM_WSTORE_HOST",
        "WALLARM_BLOCK_PAGE",
    ):
        assert variable in result.stdout


def test_versions_agree() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__
    assert f'"wallarm-sidecar=={__version__}"' in (ROOT / "Dockerfile").read_text()
    assert project["requires-python"] == ">=3.11"


def test_the_image_runs_as_uid_101_without_compilers() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert "USER 101:101" in final_stage
    assert "build-essential" not in final_stage and "gcc" not in final_stage
