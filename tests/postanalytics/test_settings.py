"""wstore's settings: the arena in GB as the chart writes it, and the CLI's one-line errors."""

from __future__ import annotations

import pytest

from wallarm_sidecar.cli import main
from wallarm_sidecar.postanalytics import GIB, JobsSettings, WstoreSettings


@pytest.mark.parametrize(
    ("value", "gigabytes"),
    [
        ("2.0", 2.0),
        ("2", 2.0),
        ("0.05", 0.05),
        (" 0.2 ", 0.2),
        ('"2.0"', 2.0),
        (1, 1.0),
        (0.5, 0.5),
    ],
    ids=["2.0", "2", "0.05", "spaces", "quoted", "int", "float"],
)
def test_arena_accepts_numbers_and_strings(value: object, gigabytes: float) -> None:
    settings = WstoreSettings.model_validate({"arena": value})
    assert settings.arena == gigabytes
    assert settings.arena_bytes == int(gigabytes * GIB)


@pytest.mark.parametrize(
    "value",
    ["abc", "", "0", "-1", "nan", "inf", "2GB", "1e9"],
    ids=["word", "empty", "zero", "negative", "nan", "inf", "unit", "huge"],
)
def test_bad_arena_exits_2_with_one_line_naming_the_variable(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WALLARM_WSTORE_ARENA", value)
    assert main(["postanalytics", "wstore"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"WALLARM_WSTORE_ARENA={value!r}" in err


def test_the_flag_beats_the_variable_and_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WALLARM_WSTORE_ARENA", "1")
    assert main(["postanalytics", "wstore", "--arena", "lots"]) == 2
    assert "--arena='lots'" in capsys.readouterr().err


def test_defaults_follow_the_chart() -> None:
    settings = WstoreSettings()
    assert settings.listen == ("0.0.0.0", 3313)
    assert settings.health_listen == ("0.0.0.0", 5005)
    assert settings.metrics_listen == ("127.0.0.1", 9001)
    assert settings.export_listen[0] == "127.0.0.1"


def test_ports_must_differ(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["postanalytics", "wstore", "--metrics-listen", ":3313"]) == 2
    assert "must all differ" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["jobs", "--page-size", "0"], {}, "--page-size='0'"),
        (["jobs"], {"WALLARM_BRUTE_PATHS": "(login"}, "WALLARM_BRUTE_PATHS='(login'"),
        (["jobs"], {"WALLARM_BEHAVIOUR_AUTO_LIST": "black"}, "WALLARM_BEHAVIOUR_AUTO_LIST"),
        (["jobs"], {"WALLARM_BOLA_WINDOW": "soon"}, "WALLARM_BOLA_WINDOW='soon'"),
        (["appstructure", "--report-interval", "0s"], {}, "--report-interval='0s'"),
        (["appstructure"], {"WALLARM_API_PORT": "99999"}, "WALLARM_API_PORT='99999'"),
        (["jobs"], {"WALLARM_API_HOST": "https://x"}, "WALLARM_API_HOST"),
    ],
)
def test_jobs_and_appstructure_refuse_bad_configuration_in_one_line(
    argv: list[str],
    env: dict[str, str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["postanalytics", *argv]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"wallarm-sidecar postanalytics {argv[0]}: invalid configuration: ")
    assert message in error and error.count("\n") == 1


def test_jobs_settings_defaults_and_labels() -> None:
    settings = JobsSettings.model_validate({"node_group": "group=shop,team=a"})
    assert settings.node_group == "shop"
    assert settings.wstore_export == ("127.0.0.1", 3314)
    assert settings.auto_list == "off"
    behaviour = settings.behaviour()
    assert (behaviour.brute_threshold, behaviour.dirbust_window) == (30, 60.0)


def test_a_component_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["postanalytics"])
    assert exit_.value.code == 2
    assert "wstore" in capsys.readouterr().err


def test_help_shows_the_environment_variables(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["postanalytics", "wstore", "--help"])
    text = capsys.readouterr().out
    for variable in ("WALLARM_WSTORE_ARENA", "WALLARM_WSTORE_LISTEN", "--metrics-listen"):
        assert variable in text


def test_the_charts_args_and_env_are_accepted() -> None:
    """The container spec the chart renders (docs/helm.md) parses into valid settings."""
    import os
    import re
    from pathlib import Path

    from wallarm_sidecar._options import build_settings, collect
    from wallarm_sidecar.cli import build_parser
    from wallarm_sidecar.postanalytics import WSTORE_OPTIONS

    template = (
        Path(__file__).resolve().parents[2] / "helm/wallarm-sidecar/templates/postanalytics.yaml"
    ).read_text()
    match = re.search(r"args: \[(postanalytics, wstore, [^\]]*)\]", template)
    assert match, "the chart's wstore args"
    argv = [part.strip().strip('"') for part in match.group(1).split(",")]
    args = build_parser().parse_args(argv)
    assert args.postanalytics_component == "wstore"
    environ = dict(os.environ, WALLARM_WSTORE_ARENA="0.2")  # `toString | quote` of 0.2
    settings = build_settings(WstoreSettings, collect(args, WSTORE_OPTIONS, environ))
    assert settings.listen == ("0.0.0.0", 3313)
    assert settings.arena_bytes == int(0.2 * GIB)
