"""``spanwise patterns split|merge|placeholder|overrides`` as a person runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.cli.main import cli
from app.discovery.store import PatternStore
from connectors.otlp import encode_otlp_json
from connectors.spans import Span, SpanKind

WIDE = {"COLUMNS": "250", "USER": "sre-on-call"}


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=WIDE)
    return result.exit_code, result.output


def rows(data_dir: Path, service: str) -> list[dict[str, object]]:
    code, output = run(data_dir, "patterns", "list", "--service", service, "--json")
    assert code == 0, output
    return json.loads(output)


def test_split_then_merge_back_through_the_cli(tmp_path: Path) -> None:
    code, output = run(tmp_path, "discover", "--sample", "--traces", "300", "--seed", "5")
    assert code == 0, output
    servers = [r for r in rows(tmp_path, "frontend") if r["span_kind"] == "server"]
    busiest = max(servers, key=lambda r: int(str(r["count"])))

    code, output = run(
        tmp_path, "patterns", "split", str(busiest["name"]), "--by", "user_agent.original"
    )
    assert code == 0, output
    assert "re-derived from the sample system (seed 5, 300 traces)" in output
    variants = [
        r for r in rows(tmp_path, "frontend") if " [user_agent.original=" in str(r["operation"])
    ]
    assert len(variants) > 1 and sum(int(str(r["count"])) for r in variants) == busiest["count"]
    assert str(busiest["name"]) not in {r["name"] for r in rows(tmp_path, "frontend")}
    code, output = run(tmp_path, "patterns", "show", str(busiest["name"]))
    assert code == 1 and "was split, and its spans are in its parts now" in output
    assert all(str(r["name"]) in " ".join(output.split()) for r in variants[:3])

    names = [str(r["name"]) for r in variants]
    code, output = run(tmp_path, "patterns", "merge", *names[1:], "--into", names[0])
    assert code == 0, output
    merged = next(r for r in rows(tmp_path, "frontend") if r["name"] == names[0])
    assert merged["count"] == busiest["count"]
    if len(names) > 1:
        code, output = run(tmp_path, "patterns", "show", names[1])
        assert code == 0 and f"{names[1]} was merged into {names[0]}" in output
    # Every part merged back into one: the split pattern's name leads to that one.
    code, output = run(tmp_path, "patterns", "show", str(busiest["name"]))
    assert code == 0 and f"its spans are all in {names[0]} now" in " ".join(output.split())

    code, output = run(tmp_path, "patterns", "overrides")
    assert code == 0
    assert "sre-on-call: split frontend server" in output
    assert "by user_agent.original" in output
    assert "sre-on-call: merge" in output
    assert "[user_agent.original=" in output  # the parts' operations, not eaten as markup


def test_a_bad_override_says_what_to_do_and_changes_nothing(tmp_path: Path) -> None:
    code, output = run(tmp_path, "discover", "--sample", "--traces", "100", "--seed", "5")
    assert code == 0, output
    before = rows(tmp_path, "cart")
    code, output = run(tmp_path, "patterns", "placeholder", "cart-(", "cart")
    assert code == 1 and "does not compile" in output
    code, output = run(tmp_path, "patterns", "placeholder", "tenant-[a-z]+", "tenant")
    assert code == 1 and "/tenant-[a-z]+/ matches no pattern" in output  # printed as given
    code, output = run(tmp_path, "patterns", "merge", "no_such_pattern", "--into", "x")
    assert code == 1 and "no pattern named" in output
    assert rows(tmp_path, "cart") == before
    code, output = run(tmp_path, "patterns", "overrides")
    assert "no overrides yet" in output


def test_a_learned_placeholder_made_literal_through_the_cli(tmp_path: Path) -> None:
    words = ["daily", "weekly", "monthly", "yearly", "quarterly", "hourly", "adhoc", "audit"]
    reports = [f"{a}-{b}-{c}" for a in words for b in words for c in ("sum", "detail")][:100]
    spans = [
        Span(
            trace_id=f"{n:032x}",
            span_id=f"{n:016x}",
            parent_span_id=None,
            name="GET",
            kind=SpanKind.CLIENT,
            start_unix_nano=1_795_000_000_000_000_000 + n * 1_000_000,
            end_unix_nano=1_795_000_000_000_000_000 + n * 1_000_000 + 5_000_000,
            attributes={"http.request.method": "GET", "url.full": f"http://api/reports/{r}"},
            resource={"service.name": "finance"},
        )
        for n, r in enumerate(reports, 1)
    ]
    spans_file = tmp_path / "spans.jsonl"
    spans_file.write_bytes(encode_otlp_json(spans) + b"\n")
    code, output = run(tmp_path, "discover", "--file", str(spans_file), "--no-classify")
    assert code == 0, output
    (learned,) = rows(tmp_path, "finance")
    assert learned["operation"] == "GET api /reports/{report_id}"
    folded = next(p for p in PatternStore(tmp_path / "patterns.sqlite").load() if p.merged_into)
    code, output = run(tmp_path, "patterns", "show", folded.name)
    assert code == 0 and "was one value of a variable discovery learned" in output

    code, output = run(tmp_path, "patterns", "literal", str(learned["name"]), "report_id")
    assert code == 0, output
    assert "keep {report_id} of finance client `GET api /reports/{report_id}` literal" in output
    assert "re-derived from files" in output
    assert {r["operation"] for r in rows(tmp_path, "finance")} == {
        f"GET api /reports/{r}" for r in reports
    }
    code, output = run(tmp_path, "patterns", "overrides")
    assert code == 0 and "sre-on-call: keep {report_id}" in output
    assert "learned: finance client `GET api /reports/{report_id}`" in output

    code, output = run(tmp_path, "patterns", "literal", str(learned["name"]), "nope")
    assert code == 1 and "has no {nope}" in output
