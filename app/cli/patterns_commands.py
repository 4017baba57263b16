"""``spanwise patterns``: list and show patterns; split, merge and placeholder overrides."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import typer

from app.cli.discover_command import patterns_table
from app.cli.state import cli_state
from app.discovery.documents import pattern_document, pattern_row
from app.discovery.normalize import normalize
from app.discovery.overrides import OverrideError, describe
from app.discovery.patterns import SpanPattern
from app.discovery.rederive import Applied, add_placeholder, find_pattern, merge, split
from app.discovery.run import describe_source, pattern_store_path, replay_batches
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
    chosen = [
        p
        for p in patterns
        if p.merged_into is None and p.stats.count and (service is None or p.service == service)
    ]
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
    try:
        found = find_pattern(patterns, name)
    except OverrideError as exc:
        state.err_console.print(f"[red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(1) from exc
    if found.name != name:
        state.err_console.print(f"{name} was merged into {found.name}")
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


def _author(given: str | None) -> str:
    return given or os.environ.get("USER") or "cli"


def _apply(
    ctx: typer.Context, change: Callable[[PatternStore, list[SpanPattern]], Applied], author: str
) -> None:
    """Load, apply one override, save it with the re-derived patterns in one transaction."""
    state = cli_state(ctx)
    store = PatternStore(pattern_store_path(state.settings.data_dir))
    patterns = store.load()
    if not patterns:
        state.err_console.print("no patterns yet: run `spanwise discover` first")
        raise typer.Exit(1)
    try:
        applied = change(store, patterns)
    except OverrideError as exc:
        state.err_console.print(f"[red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(1) from exc
    store.save_with_override(applied.patterns, applied.override, author)
    console = state.console
    console.print(f"{describe(applied.override)}; by {author}", soft_wrap=True)
    for source in applied.replayed:
        console.print(f"  re-derived from {describe_source(source)}", soft_wrap=True)
    for source in applied.not_replayed:
        console.print(
            f"  [yellow]not replayed:[/] {describe_source(source)}; "
            "the next discovery run over it adds its spans",
            soft_wrap=True,
        )
    live = [p for p in applied.patterns if p.name in applied.changed and p.merged_into is None]
    console.print(patterns_table(live))


@patterns_app.command("split")
def split_pattern(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The pattern to split."),
    by: str = typer.Option(..., "--by", help="The attribute whose values make the patterns."),
    resource: bool = typer.Option(False, "--resource", help="A resource attribute."),
    author: str | None = typer.Option(None, "--author", help="Who made it [default: $USER]."),
) -> None:
    """Split a pattern into one pattern per value of an attribute, re-deriving statistics."""

    def change(store: PatternStore, patterns: list[SpanPattern]) -> Applied:
        return split(
            patterns,
            name,
            by,
            resource=resource,
            overrides=[stored.override for stored in store.overrides()],
            normalizer=normalize,
            runs=[source for source, _ in store.runs()],
            replay=lambda source: replay_batches(source, lambda _problem: None),
        )

    _apply(ctx, change, _author(author))


@patterns_app.command("merge")
def merge_patterns(
    ctx: typer.Context,
    names: list[str] = typer.Argument(..., help="Patterns to merge into the --into one."),
    into: str = typer.Option(..., "--into", help="The pattern that stays."),
    author: str | None = typer.Option(None, "--author", help="Who made it [default: $USER]."),
) -> None:
    """Merge patterns into one; their names keep resolving to it."""
    _apply(ctx, lambda _store, patterns: merge(patterns, names, into), _author(author))


@patterns_app.command("placeholder")
def placeholder_rule(
    ctx: typer.Context,
    regex: str = typer.Argument(..., help="Text of operations to replace, e.g. 'tenant-[a-z]+'."),
    placeholder: str = typer.Argument(..., help="The placeholder's name, e.g. tenant."),
    service: str | None = typer.Option(None, "--service", help="Only this service."),
    author: str | None = typer.Option(None, "--author", help="Who made it [default: $USER]."),
) -> None:
    """Add a placeholder rule: operations that differ only there become one pattern."""
    _apply(
        ctx,
        lambda _store, patterns: add_placeholder(patterns, regex, placeholder, service),
        _author(author),
    )


@patterns_app.command("overrides")
def list_overrides(ctx: typer.Context) -> None:
    """The overrides made so far, oldest first, with who made them and when."""
    state = cli_state(ctx)
    store = PatternStore(pattern_store_path(state.settings.data_dir))
    stored = store.overrides()
    if not stored:
        state.console.print("no overrides yet")
        return
    for each in stored:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(each.created_unix_s))
        state.console.print(f"{each.id}. {when} {each.author}: {describe(each.override)}")
