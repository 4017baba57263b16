"""Eval reports: what ran, with which model and prompts, and how each case did.

A report is JSON (``Report``, read back by ``compare``) and Markdown for people: the pass
rate overall and per tag, latency p50/p95 of the answers, tokens and cost per case, every
failed check with the part of the answer it read, and the versions that produced it (model,
prompts, the code that writes offline answers), so that two reports can be compared.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from evals.scoring import CheckResult

REPORT_FORMAT = 1


class Tokens(BaseModel):
    prompt: int = 0
    completion: int = 0

    @property
    def total(self) -> int:
        return self.prompt + self.completion

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            prompt=self.prompt + other.prompt, completion=self.completion + other.completion
        )


class TurnResult(BaseModel):
    question: str
    answer: str
    mode: str
    """``offline`` (the facts written out) or ``model``."""
    latency_ms: float
    cited: list[str] = Field(default_factory=list)
    tokens: Tokens = Field(default_factory=Tokens)
    judge_tokens: Tokens = Field(default_factory=Tokens)
    checks: list[CheckResult] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


class CaseRun(BaseModel):
    run: int
    passed: bool
    error: str | None = None
    """Why the case could not be run or checked (a broken case, a crash)."""
    turns: list[TurnResult] = Field(default_factory=list)
    tokens: Tokens = Field(default_factory=Tokens)
    judge_tokens: Tokens = Field(default_factory=Tokens)
    cost_usd: float | None = None
    """Answer and judge tokens at list price; None when a price is unknown."""

    @property
    def failed_checks(self) -> list[tuple[int, CheckResult]]:
        return [
            (index, check)
            for index, turn in enumerate(self.turns, start=1)
            for check in turn.checks
            if not check.passed
        ]


class CaseResult(BaseModel):
    id: str
    description: str
    tags: list[str]
    file: str
    scenario: str
    runs: list[CaseRun]

    @property
    def passes(self) -> int:
        return sum(1 for run in self.runs if run.passed)

    @property
    def pass_rate(self) -> float:
        return self.passes / len(self.runs) if self.runs else 0.0


class TagSummary(BaseModel):
    runs: int
    passed: int

    @property
    def pass_rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0


class Versions(BaseModel):
    spanwise: str
    answer_model: str
    """The chat model, or ``offline``."""
    answer_prompt: str
    """The answer template's version, or the offline answer code's for ``offline``."""
    offline_answer_code: str
    """A hash of the code that computes and writes facts (what answers offline)."""
    classify_model: str
    classify_prompt: str
    judge_model: str | None = None
    judge_prompt: str | None = None
    cases: str = ""
    """A hash of the case files that ran."""


class ScenarioSummary(BaseModel):
    key: str
    spans: int
    patterns: int
    seconds: float
    classify_tokens: Tokens = Field(default_factory=Tokens)
    classify_cost_usd: float | None = 0.0
    """None when classification used tokens of a model whose price is unknown."""
    problems: list[str] = Field(default_factory=list)
    """What went wrong building it without stopping the run (unreadable spans, no index)."""


class Summary(BaseModel):
    cases: int
    runs: int
    passed: int
    errors: int
    """Runs that could not be checked (a broken case, a crash, a judge that failed)."""
    by_tag: dict[str, TagSummary]
    latency_p50_ms: float
    latency_p95_ms: float
    tokens: Tokens = Field(default_factory=Tokens)
    judge_tokens: Tokens = Field(default_factory=Tokens)
    classify_tokens: Tokens = Field(default_factory=Tokens)
    cost_usd: float | None = None
    """Answers, judge and classification at list price; None when a price is unknown."""

    @property
    def pass_rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0


class Report(BaseModel):
    format: int = REPORT_FORMAT
    started_at: str
    seconds: float
    repeat: int
    cases_glob: list[str]
    tags: list[str] = Field(default_factory=list)
    versions: Versions
    summary: Summary
    scenarios: list[ScenarioSummary] = Field(default_factory=list)
    cases: list[CaseResult]

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """``stem.json`` and ``stem.md`` in ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        json_path = directory / f"{stem}.json"
        markdown_path = directory / f"{stem}.md"
        json_path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        markdown_path.write_text(markdown(self), encoding="utf-8")
        return json_path, markdown_path

    @classmethod
    def read(cls, path: Path) -> Report:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by nearest rank (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def _sum_costs(costs: Sequence[float | None]) -> float | None:
    return None if any(cost is None for cost in costs) else sum(c for c in costs if c)


def summarize(cases: Sequence[CaseResult], scenarios: Sequence[ScenarioSummary]) -> Summary:
    runs = [run for case in cases for run in case.runs]
    by_tag: dict[str, TagSummary] = {}
    for case in cases:
        for tag in case.tags:
            found = by_tag.get(tag, TagSummary(runs=0, passed=0))
            by_tag[tag] = TagSummary(
                runs=found.runs + len(case.runs), passed=found.passed + case.passes
            )
    latencies = [turn.latency_ms for run in runs for turn in run.turns]
    tokens, judge_tokens, classify_tokens = Tokens(), Tokens(), Tokens()
    for run in runs:
        tokens += run.tokens
        judge_tokens += run.judge_tokens
    for scenario in scenarios:
        classify_tokens += scenario.classify_tokens
    errors = sum(
        1
        for run in runs
        if run.error or any(check.status == "error" for _, check in run.failed_checks)
    )
    return Summary(
        cases=len(cases),
        runs=len(runs),
        passed=sum(1 for run in runs if run.passed),
        errors=errors,
        by_tag=dict(sorted(by_tag.items())),
        latency_p50_ms=nearest_rank(latencies, 0.5),
        latency_p95_ms=nearest_rank(latencies, 0.95),
        tokens=tokens,
        judge_tokens=judge_tokens,
        classify_tokens=classify_tokens,
        cost_usd=_sum_costs(
            [run.cost_usd for run in runs] + [s.classify_cost_usd for s in scenarios]
        ),
    )


# --- Markdown ---------------------------------------------------------------------------------


def _cost(cost: float | None) -> str:
    return "unknown" if cost is None else f"${cost:.4f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    summary, versions = report.summary, report.versions
    lines = [
        f"# Spanwise eval: {summary.passed}/{summary.runs} passed ({summary.pass_rate:.1%})",
        "",
        f"- started {report.started_at}, {report.seconds:.1f} s; {summary.cases} cases x "
        f"{report.repeat}; cases {', '.join(report.cases_glob)}"
        + (f"; tags {' '.join(report.tags)}" if report.tags else ""),
        f"- answers: **{versions.answer_model}**, prompt {versions.answer_prompt}; offline answer "
        f"code {versions.offline_answer_code}",
        f"- classification: {versions.classify_model}, prompt {versions.classify_prompt}",
        "- judge: "
        + (
            f"{versions.judge_model}, prompt {versions.judge_prompt}"
            if versions.judge_model
            else "none (deterministic checks only)"
        ),
        f"- spanwise {versions.spanwise}; cases {versions.cases}",
        f"- latency of answers: p50 {summary.latency_p50_ms:,.0f} ms, p95 "
        f"{summary.latency_p95_ms:,.0f} ms",
        f"- tokens: answers {summary.tokens.prompt:,} + {summary.tokens.completion:,}, judge "
        f"{summary.judge_tokens.prompt:,} + {summary.judge_tokens.completion:,}, classification "
        f"{summary.classify_tokens.prompt:,} + {summary.classify_tokens.completion:,}; cost "
        f"{_cost(summary.cost_usd)}",
    ]
    if summary.errors:
        lines.append(f"- **{summary.errors} runs could not be checked** (see below)")
    for scenario in report.scenarios:
        for problem in scenario.problems:
            lines.append(f"- scenario {scenario.key}: {problem}")
    lines += [
        "",
        "## By tag",
        "",
        "| tag | passed | runs | pass rate |",
        "| --- | ---: | ---: | ---: |",
    ]
    for tag, found in summary.by_tag.items():
        lines.append(f"| {tag} | {found.passed} | {found.runs} | {found.pass_rate:.0%} |")
    lines += [
        "",
        "## Cases",
        "",
        "| case | tags | passed | latency ms | tokens | cost |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for case in report.cases:
        latency = nearest_rank([t.latency_ms for r in case.runs for t in r.turns], 0.5)
        tokens = sum(r.tokens.total + r.judge_tokens.total for r in case.runs)
        cost = _sum_costs([r.cost_usd for r in case.runs])
        mark = "yes" if case.pass_rate == 1 else ("no" if case.passes == 0 else "partly")
        lines.append(
            f"| {case.id} | {' '.join(case.tags)} | {mark} {case.passes}/{len(case.runs)} | "
            f"{latency:,.0f} | {tokens:,} | {_cost(cost)} |"
        )
    failed = [(case, run) for case in report.cases for run in case.runs if not run.passed]
    if failed:
        lines += ["", "## Failed checks"]
    for case, run in failed:
        lines += ["", f"### {case.id} (run {run.run}): {case.description}", ""]
        lines.append(f"Tags: {' '.join(case.tags)}. Scenario: {case.scenario}.")
        if run.error:
            lines += ["", f"**Could not run:** {run.error}"]
        for index, check in run.failed_checks:
            turn = run.turns[index - 1]
            lines += [
                "",
                f"- turn {index}, **{check.name}** ({check.status}): {check.detail}",
                f"  - asked: {turn.question}",
            ]
            shown = check.excerpt or turn.answer[:400]
            if shown:
                quoted = "\n".join(f"  > {line}" for line in shown.splitlines() if line.strip())
                lines.append(quoted)
    return "\n".join(lines) + "\n"


# --- compare ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseChange:
    id: str
    old: float | None
    """Pass rate in the old report; None when the case is new."""
    new: float | None
    """Pass rate in the new report; None when the case is gone."""


@dataclass(frozen=True)
class Comparison:
    old: Report
    new: Report
    better: list[CaseChange]
    worse: list[CaseChange]
    added: list[CaseChange]
    removed: list[CaseChange]
    tags: dict[str, tuple[float | None, float | None]]
    """Pass rate per tag, old and new."""

    @property
    def versions_changed(self) -> dict[str, tuple[str | None, str | None]]:
        old, new = self.old.versions.model_dump(), self.new.versions.model_dump()
        return {key: (old.get(key), new.get(key)) for key in new if old.get(key) != new.get(key)}


def compare(old: Report, new: Report) -> Comparison:
    """What got better and worse from ``old`` to ``new``, case by case and per tag."""
    before = {case.id: case for case in old.cases}
    after = {case.id: case for case in new.cases}
    better, worse, added, removed = [], [], [], []
    for case_id in sorted(before.keys() | after.keys()):
        was = before.get(case_id)
        now = after.get(case_id)
        change = CaseChange(case_id, was.pass_rate if was else None, now.pass_rate if now else None)
        if was is None:
            added.append(change)
        elif now is None:
            removed.append(change)
        elif now.pass_rate > was.pass_rate:
            better.append(change)
        elif now.pass_rate < was.pass_rate:
            worse.append(change)
    tags: dict[str, tuple[float | None, float | None]] = {}
    for tag in sorted(old.summary.by_tag.keys() | new.summary.by_tag.keys()):
        was_tag = old.summary.by_tag.get(tag)
        now_tag = new.summary.by_tag.get(tag)
        tags[tag] = (
            was_tag.pass_rate if was_tag else None,
            now_tag.pass_rate if now_tag else None,
        )
    return Comparison(old, new, better, worse, added, removed, tags)
