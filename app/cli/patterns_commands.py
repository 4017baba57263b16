"""``spanwise patterns list`` and ``spanwise patterns show``."""

from __future__ import annotations

import json

import typer

from app.cli.discover_command import patterns_table
from app.cli.state import cli_state
from app.discovery.documents import pattern_document, pattern_row
from app.discovery.run import pattern_store_path
from app.discovery.store import PatternStore

patterns_app = typer.Typer(
    name="patterns", help="Browse the discovered span patterns.", no_args_is_help=True
)


@patterns_app.command("list")
def list_patterns(
    ctx: typer.Context,
    service: str | None = typer.Option(None, "--service", help="Only this service's patterns."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """List the patterns, busiest first within each service."""
    state = cli_state(ctx)
    patterns = PatternStore(pattern_store_path(state.settings.data_dir)).load()
    if not patterns:
        state.err_console.print(
            "no patterns yet: run `spanwise discover --sample` (or --file, or a Tempo window)"
        )
        raise typer.Exit(1)
    chosen = [p for p in patterns if service is None or p.service == service]
    if as_json:
        typer.echo(json.dumps([pattern_row(p) for p in chosen], indent=2))
        return
    state.console.print(patterns_table(chosen))


@patterns_app.command("show")
def show_pattern(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The pattern's name, as `patterns list` shows it."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of text."),
) -> None:
    """Everything known of one pattern: matchers, statistics, callers, samples."""
    state = cli_state(ctx)
    patterns = PatternStore(pattern_store_path(state.settings.data_dir)).load()
    found = next((p for p in patterns if p.name == name), None)
    if found is None:
        close = sorted(p.name for p in patterns if name.lower() in p.name.lower())[:5]
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `spanwise patterns list`"
        state.err_console.print(f"[red]error:[/] no pattern named {name!r}{hint}", soft_wrap=True)
        raise typer.Exit(1)
    document = pattern_document(found, patterns)
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    stats = document["stats"]
    console = state.console
    console.print(f"[bold]{found.name}[/]  {found.service} {found.span_kind}: {found.operation}")
    for matcher in document["matchers"]:
        console.print(
            f"  match {matcher['field_type']} {matcher['field_name']} "
            f"{matcher['match_type']} {matcher['match_value']}",
            soft_wrap=True,
        )
    console.print(
        f"  {stats['count']:,} spans, {stats['rate_per_s']:.2f}/s; p50 {stats['p50_ms']} ms, "
        f"p95 {stats['p95_ms']} ms, p99 {stats['p99_ms']} ms, max {stats['max_ms']} ms; "
        f"errors {stats['error_rate']:.2%}",
        soft_wrap=True,
    )
    if stats["status_codes"]:
        console.print(f"  status codes: {stats['status_codes']}")
    if stats["exception_types"]:
        console.print(f"  exceptions: {stats['exception_types']}")
    for label in ("parents", "children"):
        if document[label]:
            linked = ", ".join(f"{p['name']} ({p['calls']})" for p in document[label])
            console.print(f"  {label}: {linked}", soft_wrap=True)
    for kind, samples in document["samples"].items():
        for sample in samples:
            console.print(
                f"  {kind} sample: trace {sample['trace_id']} span {sample['span_id']} "
                f"{sample['duration_ms']} ms {sample['status']}"
            )
