"""Reports: the summary's arithmetic, JSON that reads back, Markdown people read, compare."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.report import (
    CaseResult,
    CaseRun,
    Report,
    ScenarioSummary,
    Tokens,
    TurnResult,
    Versions,
    compare,
    markdown,
    nearest_rank,
    summarize,
)
from evals.scoring import CheckResult

VERSIONS = Versions(
    spanwise="0.1.0",
    answer_model="gpt-4o-mini",
    answer_prompt="abc123",
    offline_answer_code="def456",
    classify_model="gpt-4o-mini",
    classify_prompt="789abc",
)


def turn(latency_ms: float, *failed: str, tokens: int = 0) -> TurnResult:
    checks = [CheckResult(name="cites @a", status="pass")]
    checks += [
        CheckResult(name=name, status="fail", detail=f"{name} went wrong", excerpt=f"about {name}")
        for name in failed
    ]
    return TurnResult(
        question="why is @a slow?",
        answer="@a: p99 300 ms",
        mode="model",
        latency_ms=latency_ms,
        tokens=Tokens(prompt=tokens, completion=tokens // 10),
        checks=checks,
    )


def run(number: int, *turns: TurnResult, cost: float | None = 0.001) -> CaseRun:
    tokens = Tokens()
    for t in turns:
        tokens += t.tokens
    return CaseRun(
        run=number,
        passed=all(t.passed for t in turns),
        turns=list(turns),
        tokens=tokens,
        cost_usd=cost,
    )


def case(case_id: str, tags: list[str], *runs: CaseRun) -> CaseResult:
    return CaseResult(
        id=case_id,
        description=f"{case_id} case",
        tags=tags,
        file=f"{case_id}.yaml",
        scenario="sample seed=42",
        runs=list(runs),
    )


def report(*cases: CaseResult, versions: Versions = VERSIONS) -> Report:
    scenarios = [ScenarioSummary(key="sample seed=42", spans=100, patterns=10, seconds=0.5)]
    return Report(
        started_at="2026-11-21T15:00:00+00:00",
        seconds=12.5,
        repeat=2,
        cases_glob=["evals/cases/*.yaml"],
        versions=versions,
        summary=summarize(cases, scenarios),
        scenarios=scenarios,
        cases=list(cases),
    )


CASES = (
    case("slow", ["latency", "easy"], run(1, turn(10, tokens=1000)), run(2, turn(30, tokens=1000))),
    case("fails", ["errors", "hard"], run(1, turn(20, "p99 of @a")), run(2, turn(40, "p99 of @a"))),
    case("half", ["latency", "hard"], run(1, turn(50)), run(2, turn(60, "root cause @b"))),
)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([10, 20, 30, 40], 0.5, 20), ([10, 20, 30, 40], 0.95, 40), ([5], 0.95, 5), ([], 0.5, 0)],
)
def test_latency_percentiles_by_nearest_rank(
    values: list[float], q: float, expected: float
) -> None:
    assert nearest_rank(values, q) == expected


def test_the_summary_counts_runs_overall_and_per_tag() -> None:
    summary = report(*CASES).summary
    assert (summary.cases, summary.runs, summary.passed) == (3, 6, 3)
    assert summary.pass_rate == 0.5
    assert summary.by_tag["latency"].pass_rate == 0.75  # 2 + 1 of 4 runs
    assert summary.by_tag["hard"].pass_rate == 0.25
    assert summary.by_tag["errors"].passed == 0
    assert summary.latency_p50_ms == 30 and summary.latency_p95_ms == 60
    assert summary.tokens == Tokens(prompt=2000, completion=200)
    assert summary.cost_usd == pytest.approx(0.006)


def test_an_unknown_price_makes_the_cost_unknown_not_zero() -> None:
    priced = case("x", ["latency", "easy"], run(1, turn(1), cost=None))
    assert report(priced).summary.cost_usd is None
    assert "cost unknown" in markdown(report(priced))


def test_the_json_report_reads_back(tmp_path: Path) -> None:
    written = report(*CASES)
    json_path, markdown_path = written.write(tmp_path / "reports", "eval-x")
    assert json_path.name == "eval-x.json" and markdown_path.name == "eval-x.md"
    again = Report.read(json_path)
    assert again == written
    assert again.cases[1].runs[0].failed_checks[0][1].name == "p99 of @a"


def test_markdown_shows_rates_versions_and_each_failed_check_with_its_excerpt() -> None:
    text = markdown(report(*CASES))
    assert text.startswith("# Spanwise eval: 3/6 passed (50.0%)")
    assert "**gpt-4o-mini**, prompt abc123" in text and "offline answer code def456" in text
    assert "| latency | 3 | 4 | 75% |" in text
    assert (
        "| fails | errors hard | no 0/2 |" in text
        and "| half | latency hard | partly 1/2 |" in text
    )
    assert "### fails (run 1): fails case" in text
    assert "**p99 of @a** (fail): p99 of @a went wrong" in text
    assert "  > about p99 of @a" in text
    assert "asked: why is @a slow?" in text
    assert "latency of answers: p50 30 ms, p95 60 ms" in text


def test_compare_says_what_got_better_and_worse() -> None:
    old = report(*CASES)
    fixed = case("fails", ["errors", "hard"], run(1, turn(20)), run(2, turn(20)))
    broken = case("slow", ["latency", "easy"], run(1, turn(10, "cites @a")), run(2, turn(10)))
    new_case = case("new", ["noise", "easy"], run(1, turn(5)), run(2, turn(5)))
    new = report(
        broken, fixed, new_case, versions=VERSIONS.model_copy(update={"answer_prompt": "fff"})
    )
    comparison = compare(old, new)
    assert [(c.id, c.old, c.new) for c in comparison.better] == [("fails", 0.0, 1.0)]
    assert [(c.id, c.old, c.new) for c in comparison.worse] == [("slow", 1.0, 0.5)]
    assert [c.id for c in comparison.added] == ["new"]
    assert [c.id for c in comparison.removed] == ["half"]
    assert comparison.tags["errors"] == (0.0, 1.0)
    assert comparison.tags["noise"] == (None, 1.0)
    assert comparison.versions_changed["answer_prompt"] == ("abc123", "fff")
