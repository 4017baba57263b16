"""``spanwise eval``: run the answer eval suite, and compare two of its reports."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from app.cli.state import cli_state
from evals.cases import CaseError, load_cases, packaged_cases_glob, select_cases

if TYPE_CHECKING:  # the runner brings the chat, LangChain and the judge: loaded when run
    from evals.report import Comparison, Report

eval_app = typer.Typer(
    rich_markup_mode=None,  # help texts say [env X] and [default N] literally
    help="Score Spanwise's answers against ground truth computed from the spans.",
    no_args_is_help=True,
)


@eval_app.command("run")
def run(
    ctx: typer.Context,
    cases: list[str] = typer.Option(
        [],
        "--cases",
        help="Glob of case files, repeatable (default: the shipped evals/cases/*.yaml).",
    ),
    tags: list[str] = typer.Option(
        [],
        "--tags",
        help="Only cases with these tags: a comma means any of (latency,errors), a repeated "
        "--tags all of.",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="Chat model to evaluate (default: SPANWISE_MODEL_NAME when a model is configured).",
    ),
    offline: bool = typer.Option(
        False, "--offline", help="Answer offline (the facts written out) even with a model set."
    ),
    judge_model: str | None = typer.Option(
        None,
        "--judge-model",
        help="LLM judge model (default: SPANWISE_JUDGE_MODEL; none: no judge).",
    ),
    repeat: int = typer.Option(1, "--repeat", min=1, help="Runs of each case."),
    out: Path | None = typer.Option(
        None, "--out", help="Directory for the JSON and Markdown reports (default: DATA_DIR/evals)."
    ),
    min_pass_rate: float | None = typer.Option(
        None,
        "--min-pass-rate",
        min=0.0,
        max=1.0,
        help="Exit 1 when the pass rate (0 to 1) is below this.",
    ),
    price_in: float | None = typer.Option(
        None, "--price-in", min=0.0, help="USD per million prompt tokens of --model."
    ),
    price_out: float | None = typer.Option(
        None, "--price-out", min=0.0, help="USD per million completion tokens of --model."
    ),
) -> None:
    """Build each case's scenario, ask its questions as a user would, and score the answers."""
    from evals.judge import judge_from_settings
    from evals.pricing import Price
    from evals.runner import OFFLINE, RunOptions, prices, run_cases

    state = cli_state(ctx)
    settings = state.settings
    globs = cases or [packaged_cases_glob()]
    try:
        selected = select_cases(load_cases(globs), tags)
    except CaseError as exc:
        state.err_console.print("[red]error:[/] broken case files:")
        state.err_console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    if not selected:
        state.err_console.print(f"[red]error:[/] no case has the tags {' '.join(tags)}")
        raise typer.Exit(2)
    if (model or judge_model) and not offline and not settings.model_configured:
        state.err_console.print(
            "[red]error:[/] no model configured: set OPENAI_API_KEY, or SPANWISE_MODEL_BASE_URL "
            "for an OpenAI-compatible server"
        )
        raise typer.Exit(2)
    chosen = None if offline or not settings.model_configured else (model or settings.model_name)
    if (price_in is None) != (price_out is None):
        state.err_console.print("[red]error:[/] give both --price-in and --price-out")
        raise typer.Exit(2)
    override = (
        Price(price_in, price_out) if price_in is not None and price_out is not None else None
    )
    judge = judge_from_settings(settings, model=judge_model)
    answer_price, judge_price = prices(chosen, judge, override)
    options = RunOptions(
        model=chosen,
        judge=judge,
        repeat=repeat,
        answer_price=answer_price,
        judge_price=judge_price,
    )
    state.console.print(
        f"{len(selected)} cases x {repeat}, answers by {chosen or 'offline facts'}, judge "
        f"{judge.model if judge else 'none'}",
        soft_wrap=True,
    )
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=state.console,
    ) as progress:
        task = progress.add_task("starting", total=len(selected) * repeat)

        def advance(what: str, done: int, total: int) -> None:
            progress.update(task, description=what, completed=done, total=total)

        report = run_cases(
            selected, settings, options, cases_glob=globs, tags=tags, on_progress=advance
        )
    directory = out or settings.data_dir / "evals"
    stem = "eval-" + re.sub(r"[^A-Za-z0-9.\-]+", "-", chosen or OFFLINE) + "-"
    stem += re.sub(r"[^0-9T]", "", report.started_at)[:15]
    json_path, markdown_path = report.write(directory, stem)
    _print_summary(state.console, report)
    state.console.print(f"reports: {json_path} and {markdown_path}", soft_wrap=True)
    if min_pass_rate is not None and report.summary.pass_rate < min_pass_rate:
        state.err_console.print(
            f"[red]pass rate {report.summary.pass_rate:.1%} is below --min-pass-rate "
            f"{min_pass_rate:.1%}[/]"
        )
        raise typer.Exit(1)


@eval_app.command("compare")
def compare_command(
    ctx: typer.Context,
    old: Path = typer.Argument(..., exists=True, dir_okay=False, help="The earlier report JSON."),
    new: Path = typer.Argument(..., exists=True, dir_okay=False, help="The later report JSON."),
    fail_on_worse: bool = typer.Option(
        False, "--fail-on-worse", help="Exit 1 when any case passes less often than before."
    ),
) -> None:
    """What got better and what got worse between two eval reports."""
    from evals.report import Report, compare

    state = cli_state(ctx)
    try:
        comparison = compare(Report.read(old), Report.read(new))
    except ValueError as exc:
        state.err_console.print("[red]error:[/] not an eval report:")
        state.err_console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    _print_comparison(state.console, comparison)
    if fail_on_worse and comparison.worse:
        raise typer.Exit(1)


def _print_summary(console: Console, report: Report) -> None:
    summary = report.summary
    table = Table(title=f"Pass rate {summary.passed}/{summary.runs} ({summary.pass_rate:.1%})")
    for column in ("tag", "passed", "runs", "pass rate"):
        table.add_column(column, justify="left" if column == "tag" else "right")
    for tag, found in summary.by_tag.items():
        table.add_row(tag, str(found.passed), str(found.runs), f"{found.pass_rate:.0%}")
    console.print(table)
    cost = "unknown" if summary.cost_usd is None else f"${summary.cost_usd:.4f}"
    console.print(
        f"latency p50 {summary.latency_p50_ms:,.0f} ms, p95 {summary.latency_p95_ms:,.0f} ms; "
        f"{summary.tokens.total + summary.judge_tokens.total + summary.classify_tokens.total:,} "
        f"tokens, cost {cost}; {report.seconds:.1f} s"
        + (f"; {summary.errors} runs could not be checked" if summary.errors else ""),
        soft_wrap=True,
    )
    failed = [case for case in report.cases if case.passes < len(case.runs)]
    if failed:
        console.print(
            "failed: " + ", ".join(f"{c.id} ({c.passes}/{len(c.runs)})" for c in failed),
            soft_wrap=True,
            markup=False,
        )


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _print_comparison(console: Console, comparison: Comparison) -> None:
    old, new = comparison.old.summary, comparison.new.summary
    console.print(
        f"pass rate {old.pass_rate:.1%} -> {new.pass_rate:.1%} "
        f"({(new.pass_rate - old.pass_rate) * 100:+.1f} points); latency p50 "
        f"{old.latency_p50_ms:,.0f} -> {new.latency_p50_ms:,.0f} ms, p95 "
        f"{old.latency_p95_ms:,.0f} -> {new.latency_p95_ms:,.0f} ms",
        soft_wrap=True,
    )
    for key, (was, now) in comparison.versions_changed.items():
        console.print(f"  {key}: {was} -> {now}", soft_wrap=True, markup=False)
    table = Table(title="Pass rate by tag")
    for column in ("tag", "old", "new"):
        table.add_column(column, justify="left" if column == "tag" else "right")
    for tag, (was_rate, now_rate) in comparison.tags.items():
        table.add_row(tag, _rate(was_rate), _rate(now_rate))
    console.print(table)
    for title, changes in (
        ("better", comparison.better),
        ("worse", comparison.worse),
        ("new", comparison.added),
        ("gone", comparison.removed),
    ):
        if changes:
            listed = ", ".join(f"{c.id} ({_rate(c.old)} -> {_rate(c.new)})" for c in changes)
            console.print(f"{title}: {listed}", soft_wrap=True, markup=False)
    if not (comparison.better or comparison.worse or comparison.added or comparison.removed):
        console.print("no case changed")
