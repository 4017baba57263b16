"""``spanwise demo``: the main job on the built-in sample system, no key, no network."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from app.classify.run import live_patterns
from app.cli.chat_command import chat_loop, chat_service
from app.cli.classify_command import classify_and_report, index_and_report
from app.cli.discover_command import patterns_table
from app.cli.state import CliState, cli_state
from app.discovery.counted import counted_before
from app.discovery.run import pattern_store_path, sample_source
from app.discovery.store import PatternStore
from app.facts.pattern_facts import pattern_facts
from app.sample import faults_by_name

if TYPE_CHECKING:  # the server and its web app load when the demo runs
    from app.demo import DemoReport

BUSIEST_SHOWN = 12


def demo(
    ctx: typer.Context,
    traces: int = typer.Option(2000, min=1, help="How many traces the sample system sends."),
    seed: int = typer.Option(42, help="Seed of the sample system; the same seed, the same spans."),
    fault: list[str] = typer.Option(
        ["slow_query"],
        "--fault",
        help="Inject a named fault, e.g. cache_timeout_storm (repeatable) [slow_query].",
    ),
    no_faults: bool = typer.Option(False, "--no-faults", help="A healthy shop: no fault."),
    chat: bool | None = typer.Option(
        None, "--chat/--no-chat", help="Ask questions at the end [when a terminal is attached]."
    ),
) -> None:
    """Send the sample system through Spanwise's OTLP receiver and show what arrived."""
    state = cli_state(ctx)
    try:
        faults = () if no_faults else faults_by_name(fault)
    except ValueError as exc:
        state.err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc

    store = PatternStore(pattern_store_path(state.settings.data_dir))
    counted = [source for source, _ in store.runs()]
    if counted_before(counted, sample_source(seed, traces, faults)):
        state.console.print(
            f"[yellow]{escape(str(state.settings.data_dir))} already holds the sample of seed "
            f"{seed}[/]: sending it again would count every span twice, so these are the "
            "patterns as they are. `--seed N` sends other traces; `--data-dir DIR` starts "
            "afresh.",
            soft_wrap=True,
        )
        _show(state, store, chat)
        return
    store.close()
    state.console.print(
        f"[bold]Spanwise demo[/]: {traces} traces of the sample shop (seed {seed}"
        + (f", faults: {', '.join(str(f.name) for f in faults)}" if faults else ", no faults")
        + ") sent as OTLP/HTTP to a receiver on 127.0.0.1."
    )
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn(
            "{task.fields[traces]} traces, {task.fields[spans]} spans, {task.fields[rate]} spans/s"
        ),
        TimeElapsedColumn(),
        console=state.console,
        transient=False,
    ) as progress:
        task = progress.add_task("sending", total=1.0, traces=0, spans=0, rate="-")

        def on_progress(share: float, traces_sent: int, spans_sent: int) -> None:
            elapsed = progress.tasks[task].elapsed or 0.0
            rate = f"{spans_sent / elapsed:,.0f}" if elapsed > 0 else "-"
            progress.update(
                task,
                completed=share,
                traces=f"{traces_sent:,}",
                spans=f"{spans_sent:,}",
                rate=rate,
            )

        with httpx.Client(timeout=60.0) as http:
            from app.demo import run_demo

            report = run_demo(
                state.settings,
                http,
                traces=traces,
                seed=seed,
                faults=faults,
                on_progress=on_progress,
            )
    _print_report(state.console, report)
    store = PatternStore(pattern_store_path(state.settings.data_dir))
    classify_and_report(state, store, model=None)
    index_and_report(state, store)
    _show(state, store, chat)


def _show(state: CliState, store: PatternStore, chat: bool | None) -> None:
    """The busiest patterns, what to do next, a question worth asking, and the chat."""
    busiest = sorted(live_patterns(store.load(timelines=False)), key=lambda p: -p.stats.count)[
        :BUSIEST_SHOWN
    ]
    state.console.print(patterns_table(busiest, state.console.width))
    state.console.print(
        "Next: `spanwise serve` and open http://127.0.0.1:8765/ to browse these patterns, "
        "their sample traces and ask about them (it also receives your own OTLP at "
        "http://127.0.0.1:8765/v1/traces); `spanwise patterns list`; or "
        "`spanwise --tempo http://localhost:3200 discover --since 1h`."
    )
    question = suggested_question(store)
    state.console.print(f'Ask: spanwise chat "{question}"', soft_wrap=True, markup=False)
    if chat if chat is not None else sys.stdin.isatty():
        chat_loop(state, chat_service(state.settings, store, model=None), first=question)


def suggested_question(store: PatternStore) -> str:
    """A question worth asking of this data: about its most slowed-down pattern, if any."""
    patterns = live_patterns(store.load())
    graph = {p.id: p for p in patterns}
    slowed = []
    for pattern in patterns:
        periods = pattern_facts(pattern, graph).slow
        if periods and not pattern.children:
            slowed.append((max(c.period.factor for c in periods), pattern.name))
    if slowed:
        return f"@{max(slowed)[1]} why is this slow?"
    busiest = max(patterns, key=lambda p: p.stats.count)
    return f"@{busiest.name} what calls it, and how often does it fail?"


def _print_report(console: Console, report: DemoReport) -> None:
    summary = report.summary
    console.print(
        f"\nSent {report.spans_sent:,} spans in {report.traces_sent:,} traces in "
        f"{report.seconds:.1f} s ({report.spans_sent / report.seconds:,.0f} spans/s end to end); "
        f"the receiver kept {report.spans_accepted:,} and rejected {report.spans_rejected:,}."
    )
    table = Table(title=f"What arrived at {report.receiver_url}")
    for column in ("service", "spans", "traces started", "errors", "kinds", "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column in ("service", "kinds") else "right")
    for row in summary["services"]:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(row["kinds"].items()))
        table.add_row(
            row["service"],
            f"{row['spans']:,}",
            f"{row['traces']:,}",
            f"{row['error_rate']:.1%}",
            kinds,
            f"{row['p50_ms']:.1f}",
            f"{row['p99_ms']:.1f}",
        )
    console.print(table)
    found = report.discovery
    console.print(
        f"\nDiscovery: {len(report.patterns)} span patterns ({found.new_patterns} new) from "
        f"{found.spans:,} spans, saved to {report.store_path}."
    )
