"""``spanwise discover``: spans from the sample system, OTLP files or Tempo into patterns."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.cli.state import CliState, cli_state
from app.cli.time_window import now_s, resolve_window
from app.discovery.normalize import normalize
from app.discovery.patterns import SpanPattern
from app.discovery.run import (
    DiscoveryRun,
    RunReport,
    file_batches,
    pattern_store_path,
    sample_batches,
)
from app.discovery.store import PatternStore
from app.factory import NotConfigured, build_tempo_client
from app.sample import faults_by_name
from connectors.spans import Span
from connectors.tempo_errors import TempoError


def discover(
    ctx: typer.Context,
    sample: bool = typer.Option(False, "--sample", help="Use the built-in sample system."),
    seed: int = typer.Option(42, help="Sample system seed (with --sample)."),
    traces: int = typer.Option(2000, min=1, help="Sample system traces (with --sample)."),
    fault: list[str] = typer.Option([], "--fault", help="Sample system fault (repeatable)."),
    file: list[Path] = typer.Option(
        [], "--file", exists=True, dir_okay=False, help="OTLP file: .jsonl, .json, .pb, .gz."
    ),
    since: str | None = typer.Option(None, "--since", help="Tempo window up to now: 15m, 2h."),
    start: str | None = typer.Option(None, "--start", help="Tempo window start."),
    end: str | None = typer.Option(None, "--end", help="Tempo window end [default now]."),
    query: str = typer.Option("{}", "--query", "-q", help="TraceQL filter for Tempo."),
) -> None:
    """Find span patterns in spans and add them to the pattern store."""
    state = cli_state(ctx)
    tempo = since is not None or start is not None
    chosen = sum([sample, bool(file), tempo])
    if chosen != 1:
        _fail(
            state,
            "choose one source: --sample, --file FILE, or a Tempo window "
            "(--since 2h, or --start/--end, with --tempo URL)",
        )
    store = PatternStore(pattern_store_path(state.settings.data_dir))
    run = DiscoveryRun(store, normalize)
    problems: list[str] = []
    with _progress(state.console) as progress:
        task = progress.add_task("discovering", total=None, spans="0", rate="-")

        def advance(spans: list[Span]) -> None:
            run.accept(spans)
            elapsed = progress.tasks[task].elapsed or 0.0
            rate = f"{run.report.spans / elapsed:,.0f}" if elapsed > 0 else "-"
            progress.update(task, spans=f"{run.report.spans:,}", rate=rate)

        if sample:
            try:
                faults = faults_by_name(fault)
            except ValueError as exc:
                _fail(state, str(exc))
            for batch in sample_batches(seed, traces, faults):
                advance(batch)
        elif file:
            for batch in file_batches(file, problems.append):
                advance(batch)
        else:
            try:
                window = resolve_window(since=since, start=start, end=end, now=now_s())
            except ValueError as exc:
                _fail(state, str(exc))
            asyncio.run(_from_tempo(state, window, query, advance))
    report = run.finish()
    report.problems = problems
    _print_report(state.console, report, run.patterns, store.path)


async def _from_tempo(
    state: CliState, window: tuple[int, int], query: str, advance: Callable[[list[Span]], None]
) -> None:
    try:
        client = build_tempo_client(state.settings)
    except NotConfigured as exc:
        _fail(state, str(exc))
    try:
        async with client:
            traces = client.pull(query, start=window[0], end=window[1])
            async with aclosing(traces):
                async for _trace_id, spans in traces:
                    advance(spans)
    except TempoError as exc:
        _fail(state, f"Tempo: {exc}")


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[spans]} spans, {task.fields[rate]} spans/s"),
        TimeElapsedColumn(),
        console=console,
    )


def _print_report(
    console: Console, report: RunReport, patterns: list[SpanPattern], path: Path
) -> None:
    for problem in report.problems[:10]:
        console.print(f"[yellow]skipped[/] {problem}", soft_wrap=True)
    if len(report.problems) > 10:
        console.print(f"[yellow]... and {len(report.problems) - 10} more unreadable parts[/]")
    console.print(
        f"{report.spans:,} spans in {report.seconds:.1f} s ({report.spans_per_s:,.0f} spans/s): "
        f"{len(patterns)} patterns, {report.new_patterns} new, saved to {path}",
        soft_wrap=True,
    )
    console.print(patterns_table(patterns))


def patterns_table(patterns: list[SpanPattern]) -> Table:
    table = Table(title="Span patterns by service")
    for column in (
        "service",
        "pattern",
        "kind",
        "operation",
        "spans",
        "p50 ms",
        "p99 ms",
        "errors",
    ):
        table.add_column(
            column,
            justify="right" if column in ("spans", "p50 ms", "p99 ms", "errors") else "left",
            overflow="fold",
        )
    for pattern in _ordered(patterns):
        stats = pattern.stats
        table.add_row(
            pattern.service,
            pattern.name,
            pattern.span_kind,
            pattern.operation,
            f"{stats.count:,}",
            f"{stats.quantile_ms(0.5):.1f}",
            f"{stats.quantile_ms(0.99):.1f}",
            f"{stats.error_rate:.1%}",
        )
    return table


def _ordered(patterns: list[SpanPattern]) -> Iterator[SpanPattern]:
    return iter(sorted(patterns, key=lambda p: (p.service, -p.stats.count)))


def _fail(state: CliState, message: str) -> NoReturn:
    state.err_console.print(f"[red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(2)
