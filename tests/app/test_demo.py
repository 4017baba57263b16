"""The main job: the sample system crosses a real socket into the receiver."""

from __future__ import annotations

from pathlib import Path

import httpx
import respx
from typer.testing import CliRunner

from app.cli.main import cli
from app.demo import run_demo
from app.sample import SampleConfig, faults_by_name, generate_spans
from app.settings import Settings


def test_every_span_sent_arrives_and_is_counted(
    no_network: respx.MockRouter, tmp_path: Path
) -> None:
    no_network.route(host="127.0.0.1").pass_through()
    faults = faults_by_name(["provider_5xx_burst"])
    with httpx.Client(timeout=30) as http:
        report = run_demo(Settings(data_dir=tmp_path), http, traces=150, seed=3, faults=faults)

    expected = list(generate_spans(SampleConfig(seed=3, traces=150, faults=faults)))
    assert report.spans_sent == len(expected)
    assert report.spans_accepted == len(expected) and report.spans_rejected == 0
    summary = report.summary
    assert summary["spans"] == len(expected)
    assert summary["traces"] == sum(1 for s in expected if s.parent_span_id is None)
    assert sum(p.stats.count for p in report.patterns) == len(expected)
    assert report.discovery.new_patterns == len(report.patterns) > 50
    assert (tmp_path / "patterns.sqlite").is_file()
    by_service = {row["service"]: row for row in summary["services"]}
    assert len(by_service) >= 6
    for service, row in by_service.items():
        spans = [s for s in expected if s.service_name == service]
        assert row["spans"] == len(spans)
        assert row["error_spans"] == sum(1 for s in spans if s.is_error)


def test_demo_command_prints_what_arrived(no_network: respx.MockRouter, tmp_path: Path) -> None:
    no_network.route(host="127.0.0.1").pass_through()
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path), "demo", "--traces", "60"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "the receiver kept" in result.output and "rejected 0" in result.output
    assert "span patterns" in result.output and "Span patterns by service" in result.output
    assert "patterns classified" in result.output and "classified offline" in result.output
    assert "http_server_frontend_" in result.output  # the busiest, by their classified names
    assert 'Ask: spanwise chat "@' in result.output

    again = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path), "demo", "--traces", "60"], env={"COLUMNS": "200"}
    )
    assert again.exit_code == 0, again.output
    assert "already holds the sample of seed 42" in again.output  # not counted twice
    assert "the receiver kept" not in again.output and 'Ask: spanwise chat "@' in again.output


def test_the_demo_ends_in_a_conversation_about_the_slowed_down_query(
    no_network: respx.MockRouter, tmp_path: Path
) -> None:
    no_network.route(host="127.0.0.1").pass_through()
    result = CliRunner().invoke(
        cli,
        ["--data-dir", str(tmp_path), "demo", "--traces", "600", "--chat"],
        input="@postgres_query_select_products_by_category_id why is this slow?\nexit\n",
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert 'spanwise chat "@postgres_query_select_products_by_category_id why is this slow?"' in (
        result.output
    )
    assert "Slow from" in result.output and "its own time" in result.output
    for service in ("frontend", "checkout", "payment", "inventory", "notification"):
        assert service in result.output


def test_unknown_fault_is_a_clear_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "demo", "--fault", "gremlins"])
    assert result.exit_code == 2
    assert "unknown fault 'gremlins'" in result.output
    assert "slow_query" in result.output
