"""``spanwise discover`` and ``spanwise patterns`` as a person runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from connectors.otlp import decode_otlp_json, encode_otlp_json

TEMPO = Path(__file__).parents[2] / "fixtures" / "tempo" / "2.10.8"
WIDE = {"COLUMNS": "250"}


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=WIDE)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def discovered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data_dir = tmp_path_factory.mktemp("data")
    code, output = run(data_dir, "discover", "--sample", "--traces", "400", "--seed", "5")
    assert code == 0, output
    return data_dir, output


def test_discover_sample_prints_patterns_per_service_and_saves_them(
    discovered: tuple[Path, str],
) -> None:
    data_dir, output = discovered
    assert "spans/s" in output and "saved to" in output
    assert "Span patterns by service" in output
    for service in ("frontend", "checkout", "payment", "inventory", "cart", "notification"):
        assert service in output
    assert (data_dir / "patterns.sqlite").is_file()


def test_a_second_run_adds_to_the_known_patterns(tmp_path: Path) -> None:
    code, first = run(tmp_path, "discover", "--sample", "--traces", "300", "--seed", "5")
    assert code == 0, first
    code, second = run(tmp_path, "discover", "--sample", "--traces", "300", "--seed", "5")
    assert code == 0, second
    rows = json.loads(run(tmp_path, "patterns", "list", "--json")[1])
    total = sum(row["count"] for row in rows)
    spans_per_run = int(first.split(" spans in ")[0].replace(",", "").split()[-1])
    assert total == 2 * spans_per_run  # the second run's spans joined the first run's patterns


def test_patterns_list_and_show_as_json(discovered: tuple[Path, str]) -> None:
    data_dir, _ = discovered
    code, output = run(data_dir, "patterns", "list", "--service", "payment", "--json")
    assert code == 0
    rows = json.loads(output)
    assert rows and {row["service"] for row in rows} == {"payment"}
    busiest = max(rows, key=lambda row: row["count"])
    code, output = run(data_dir, "patterns", "show", busiest["name"], "--json")
    assert code == 0, output
    document = json.loads(output)
    assert set(document) >= {
        "name",
        "service",
        "span_kind",
        "operation",
        "matchers",
        "stats",
        "samples",
    }
    assert document["stats"]["count"] == busiest["count"]
    assert document["matchers"] and document["samples"]["typical"]
    assert all(len(s["trace_id"]) == 32 for s in document["samples"]["typical"])


def test_show_unknown_pattern_suggests_names(discovered: tuple[Path, str]) -> None:
    data_dir, _ = discovered
    code, output = run(data_dir, "patterns", "show", "payment")
    assert code == 1
    assert "no pattern named 'payment'" in output and "did you mean" in output


def test_discover_files_skips_bad_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    spans = decode_otlp_json((TEMPO / "trace_v2_checkout_ok.json").read_bytes()).spans
    path = tmp_path / "spans.jsonl"
    path.write_bytes(encode_otlp_json(spans) + b"\n{broken\n")
    code, output = run(tmp_path / "data", "discover", "--file", str(path))
    assert code == 0, output
    assert "skipped" in output and "spans.jsonl:2" in output
    assert "28 spans in" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "choose one source"),
        (("--sample", "--file", "x"), "does not exist"),  # typer checks the file first
        (("--since", "1h"), "no Tempo URL"),
        (("--sample", "--fault", "gremlins"), "unknown fault"),
    ],
)
def test_discover_usage_errors_say_what_to_do(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, output = run(tmp_path, "discover", *args)
    assert code == 2
    assert message in output


def test_patterns_list_before_any_discovery(tmp_path: Path) -> None:
    code, output = run(tmp_path, "patterns", "list")
    assert code == 1 and "spanwise discover --sample" in output
