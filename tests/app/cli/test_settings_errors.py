"""Settings a person got wrong: one clear line each, and exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import cli


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "200", **(env or {})})
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            'port = "eighty"\n',
            "SPANWISE_PORT (or port in a --config file): Input should be a valid integer",
        ),
        (
            'tempo_ulr = "http://tempo:3200"\n',
            "no setting is named tempo_ulr; did you mean tempo_url?",
        ),
        ("tempo_url = \n", "is not valid TOML"),
    ],
)
def test_a_config_file_with_a_mistake_says_which(tmp_path: Path, toml: str, message: str) -> None:
    config = tmp_path / "spanwise.toml"
    config.write_text(toml)
    code, output = run("--config", str(config), "--data-dir", str(tmp_path), "patterns", "list")
    assert code == 2, output
    assert message in " ".join(output.split()) and "Traceback" not in output


def test_an_environment_variable_that_is_not_a_number_says_so(tmp_path: Path) -> None:
    code, output = run(
        "--data-dir",
        str(tmp_path),
        "patterns",
        "list",
        env={"SPANWISE_TEMPO_READ_TIMEOUT_S": "abc"},
    )
    assert code == 2, output
    assert "SPANWISE_TEMPO_READ_TIMEOUT_S" in output and "not 'abc'" in output


def test_a_good_config_file_is_read(tmp_path: Path) -> None:
    config = tmp_path / "spanwise.toml"
    config.write_text('tempo_url = "http://127.0.0.1:9"\n')
    code, output = run("--config", str(config), "--data-dir", str(tmp_path), "patterns", "list")
    assert code == 1 and "no patterns yet" in output  # got past the settings


def test_a_list_variable_that_is_not_json_says_so(tmp_path: Path) -> None:
    code, output = run(
        "--data-dir",
        str(tmp_path),
        "patterns",
        "list",
        env={"SPANWISE_REDACT_ATTRIBUTE_NAMES": "app.x"},
    )
    assert code == 2 and "Traceback" not in output, output
    assert "redact_attribute_names" in output


def test_a_port_out_of_range_is_refused(tmp_path: Path) -> None:
    code, output = run(
        "--data-dir", str(tmp_path), "patterns", "list", env={"SPANWISE_PORT": "99999"}
    )
    assert code == 2 and "SPANWISE_PORT" in output and "65535" in output
