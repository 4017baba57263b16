"""``spanwise patterns``: list and show patterns; split, merge and placeholder overrides;
corrections to their classification (reclassify, describe, categorize, rename)."""

from __future__ import annotations

import difflib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.markup import escape

from app.classify.run import live_patterns
from app.classify.store import (
    ClassificationStore,
    Correction,
    CorrectionError,
    StoredClassification,
)
from app.classify.verdict import Category
from app.cli.classify_command import classify_and_report
from app.cli.discover_command import patterns_table
from app.cli.state import CliState, cli_state
from app.discovery.documents import pattern_document, pattern_row, pattern_selection
from app.discovery.normalize import normalize
from app.discovery.overrides import OverrideError, describe
from app.discovery.patterns import SpanPattern
from app.discovery.rederive import (
    Applied,
    add_placeholder,
    keep_literal,
    merge,
    merged_by_a_person,
    split,
    split_parts,
)
from app.discovery.run import describe_source, replay_batches
from app.discovery.store import PatternStore

patterns_app = typer.Typer(
    rich_markup_mode=None,  # help texts say [env X] and [default N] literally
    name="patterns",
    help="Browse the discovered span patterns.",
    no_args_is_help=True,
)


@patterns_app.command("list")
def list_patterns(
    ctx: typer.Context,
    service: str | None = typer.Option(None, "--service", help="Only this service's patterns."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """List the patterns, busiest first within each service."""
    state = cli_state(ctx)
    store = PatternStore(state.store_path)
    patterns = store.load(timelines=False)
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
        current = ClassificationStore(store).current(chosen)
        rows = [
            {**_classified_row(pattern_row(p), current.get(p.id)), **pattern_selection(p)}
            for p in chosen
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    state.console.print(patterns_table(chosen, state.console.width))


def _matcher_text(matcher: dict[str, str]) -> str:
    """``span_attribute url.full regex https?://...``: its four fields, in order."""
    return " ".join(
        matcher[key] for key in ("field_type", "field_name", "match_type", "match_value")
    )


def _classified_row(row: dict[str, Any], stored: StoredClassification | None) -> dict[str, Any]:
    """The row with its classification; null fields for a pattern not classified yet, so
    that every row has the same keys."""
    classification = stored.classification if stored is not None else None
    row["category"] = classification.category.value if classification else None
    row["verdict"] = classification.verdict.value if classification else None
    row["description"] = classification.description if classification else None
    return row


@patterns_app.command("show")
def show_pattern(
    ctx: typer.Context,
    names: list[str] = typer.Argument(
        None, help="Pattern names, as `patterns list` shows them (one or several)."
    ),
    every: bool = typer.Option(False, "--all", help="Every live pattern."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of text."),
) -> None:
    """Everything known of one pattern, or several: classification, matchers, statistics,
    callers, samples. An old name (an alias) shows the pattern that has it now. Several
    names, or --all, are one JSON list in one process, for scripts."""
    state = cli_state(ctx)
    if every and names:
        _fail(state, "give pattern names or --all, not both")
    if not every and not names:
        _fail(state, "give a pattern name (`spanwise patterns list` shows them), or --all")
    documents: list[tuple[SpanPattern, dict[str, Any]]] = []
    with _classification_store(state) as (classifications, patterns):
        wanted = [p.name for p in live_patterns(patterns)] if every else names
        for name in wanted:
            documents.append(_show_document(state, classifications, patterns, name))
    if as_json:
        shown = [document for _, document in documents]
        typer.echo(json.dumps(shown[0] if len(names or []) == 1 else shown, indent=2))
        return
    for number, (found, document) in enumerate(documents):
        if number:
            state.console.print()
        _print_pattern(state, found, document)


def _show_document(
    state: CliState, classifications: ClassificationStore, patterns: Any, name: str
) -> tuple[SpanPattern, dict[str, Any]]:
    """One pattern's document, as `patterns show` gives it, saying on stderr when the name
    is an old one."""
    found = _resolved(state, classifications, patterns, name)
    parts = split_parts(patterns).get(found.id)
    if parts and len(parts) == 1:  # split, then merged back into one part: that one
        state.err_console.print(
            f"{escape(found.name)} was split; its spans are all in "
            f"{escape(patterns[parts[0]].name)} now"
        )
        found = patterns[parts[0]]
        name = found.name  # said: no "old name" line below
    elif parts:
        names = ", ".join(patterns[i].name for i in parts[:10])
        _fail(
            state,
            f"{found.name} was split, and its spans are in its parts now: {names}. "
            "`spanwise patterns show` one of them, or `spanwise patterns overrides` for "
            "the split",
        )
    if found.name != name:
        old = next((p for p in patterns if p.name == name), None)
        if old is not None and merged_by_a_person(classifications.patterns.overrides(), old):
            state.err_console.print(f"{name} was merged into {found.name}")
        elif old is not None:
            state.err_console.print(
                f"{name} was one value of a variable discovery learned, and is part of "
                f"{found.name} now ({found.operation})",
                soft_wrap=True,
            )
        else:
            state.err_console.print(f"{name} is an old name of {found.name}")
    stored = classifications.current([found]).get(found.id)
    document = pattern_document(found, patterns)
    document["classification"] = _classification_document(stored)
    document["aliases"] = classifications.aliases(found.id)
    return found, document


def _print_pattern(state: CliState, found: SpanPattern, document: dict[str, Any]) -> None:
    stats = document["stats"]
    console = state.console
    # Span data is printed as text: brackets in a route or a name are not markup.
    console.print(
        f"[bold]{escape(found.name)}[/]  "
        + escape(f"{found.service} {found.span_kind}: {found.operation}"),
        soft_wrap=True,
    )
    _print_classification(state, document["classification"], document["aliases"])
    for matcher in document["matchers"]:
        console.print(escape(f"  match {_matcher_text(matcher)}"), soft_wrap=True)
    for excluded in document["exclusions"]:  # a more specific sibling's spans
        unless = " and ".join(_matcher_text(matcher) for matcher in excluded)
        console.print(escape(f"  unless {unless}"), soft_wrap=True)
    console.print(escape(f"  traceql {document['traceql']}"), soft_wrap=True)
    console.print(
        f"  {stats['count']:,} spans, {stats['rate_per_s']:.2f}/s; p50 {stats['p50_ms']} ms, "
        f"p95 {stats['p95_ms']} ms, p99 {stats['p99_ms']} ms, max {stats['max_ms']} ms; "
        f"errors {stats['error_rate']:.2%}",
        soft_wrap=True,
    )
    if stats["status_codes"]:
        console.print(escape(f"  status codes: {stats['status_codes']}"), soft_wrap=True)
    if stats["exception_types"]:
        console.print(escape(f"  exceptions: {stats['exception_types']}"), soft_wrap=True)
    for label in ("parents", "children"):
        if document[label]:
            linked = ", ".join(f"{p['name']} ({p['calls']})" for p in document[label])
            console.print(escape(f"  {label}: {linked}"), soft_wrap=True)
    for kind, samples in document["samples"].items():
        for sample in samples:
            console.print(
                escape(
                    f"  {kind} sample: trace {sample['trace_id']} span {sample['span_id']} "
                    f"{sample['duration_ms']} ms {sample['status']}"
                ),
                soft_wrap=True,
            )


def _classification_document(stored: StoredClassification | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    return {
        **stored.classification.model_dump(mode="json"),
        "person_fields": sorted(stored.person_fields),
    }


def _print_classification(
    state: CliState, classification: dict[str, Any] | None, aliases: list[str]
) -> None:
    console = state.console
    if classification is None:
        console.print("  not classified yet: run `spanwise classify`")
    else:
        person = set(classification["person_fields"])

        def shown(field: str) -> str:
            return escape(str(classification[field])) + (" (person)" if field in person else "")

        console.print(f"  {shown('description')}", soft_wrap=True)
        console.print(f"  category: {shown('category')}")
        console.print(f"  verdict: {shown('verdict')}; {shown('reasoning')}", soft_wrap=True)
        by_person = f"; set by a person: {', '.join(sorted(person))}" if person else ""
        console.print(f"  source: {classification['source']}{by_person}")
    if aliases:
        console.print(f"  old names: {escape(', '.join(aliases))}", soft_wrap=True)


def _author(given: str | None) -> str:
    return given or os.environ.get("USER") or "cli"


def _apply(
    ctx: typer.Context, change: Callable[[PatternStore, list[SpanPattern]], Applied], author: str
) -> None:
    """Load, apply one override, save it with the re-derived patterns in one transaction."""
    state = cli_state(ctx)
    store = PatternStore(state.store_path)
    patterns = store.load()
    if not patterns:
        state.err_console.print("no patterns yet: run `spanwise discover` first")
        raise typer.Exit(1)
    try:
        applied = change(store, patterns)
    except OverrideError as exc:
        state.err_console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from exc
    store.save_with_override(applied.patterns, applied.override, author)
    console = state.console
    console.print(escape(f"{describe(applied.override)}; by {author}"), soft_wrap=True)
    for source in applied.replayed:
        console.print(f"  re-derived from {describe_source(source)}", soft_wrap=True)
    for source in applied.not_replayed:
        console.print(
            f"  [yellow]not replayed:[/] {describe_source(source)}; only later spans fill "
            "the parts",
            soft_wrap=True,
        )
    # New parts get names and descriptions, changed ones descriptions with their new numbers.
    classify_and_report(state, store, model=None)
    changed = {p.id for p in applied.patterns if p.name in applied.changed}
    live = [p for p in store.load(timelines=False) if p.id in changed and p.merged_into is None]
    console.print(patterns_table([p for p in live if p.stats.count], console.width))


@patterns_app.command("split")
def split_pattern(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The pattern to split."),
    by: str = typer.Option(..., "--by", help="The attribute whose values make the patterns."),
    resource: bool = typer.Option(False, "--resource", help="A resource attribute."),
    author: str | None = typer.Option(None, "--author", help="Who made it [default: $USER]."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Split even when some spans cannot be read again (Tempo windows, pushed "
        "spans): their statistics leave the pattern, and later spans fill the parts.",
    ),
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
            retired_names=store.retired_names(),
            force=force,
            variables=store.learned_variables(),
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


@patterns_app.command("literal")
def literal_placeholder(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The pattern whose placeholder was learned."),
    placeholder: str = typer.Argument(..., help="The learned placeholder, e.g. report_id."),
    author: str | None = typer.Option(None, "--author", help="Who made it [default: $USER]."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Even when some spans cannot be read again (Tempo windows, pushed spans): "
        "their statistics leave the pattern, and later spans fill the patterns of the values.",
    ),
) -> None:
    """Remove a placeholder discovery learned: its values become patterns of their own
    again (re-derived from the recorded runs), and it is never learned there again."""

    def change(store: PatternStore, patterns: list[SpanPattern]) -> Applied:
        return keep_literal(
            patterns,
            name,
            placeholder,
            overrides=[stored.override for stored in store.overrides()],
            normalizer=normalize,
            runs=[source for source, _ in store.runs()],
            replay=lambda source: replay_batches(source, lambda _problem: None),
            variables=store.learned_variables(),
            retired_names=store.retired_names(),
            force=force,
        )

    _apply(ctx, change, _author(author))


@patterns_app.command("overrides")
def list_overrides(ctx: typer.Context) -> None:
    """The overrides made so far, oldest first, with who made them and when; then the
    variables discovery learned (`spanwise patterns literal` undoes one)."""
    state = cli_state(ctx)
    store = PatternStore(state.store_path)
    stored = store.overrides()
    learned = store.learned_variables()
    if not stored and not learned:
        state.console.print("no overrides yet")
        return
    for each in stored:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(each.created_unix_s))
        state.console.print(
            escape(f"{each.id}. {when} {each.author}: {describe(each.override)}"), soft_wrap=True
        )
    for variable in learned:
        state.console.print(escape(f"learned: {variable.describe()}"), soft_wrap=True)


# --- corrections -----------------------------------------------------------------------


def _fail(state: CliState, message: str) -> NoReturn:
    state.err_console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def _classification_store(
    state: CliState,
) -> Iterator[tuple[ClassificationStore, list[SpanPattern]]]:
    store = PatternStore(state.store_path)
    try:
        patterns = store.load(timelines=False)
        if not patterns:
            _fail(state, "no patterns yet: run `spanwise discover` first")
        yield ClassificationStore(store), patterns
    finally:
        store.close()


def _resolved(
    state: CliState, classifications: ClassificationStore, patterns: list[SpanPattern], name: str
) -> SpanPattern:
    """The live pattern a name or an old name means, following merges."""
    by_id = {p.id: p for p in patterns}
    pattern_id = classifications.resolve(name)
    if pattern_id is None or pattern_id not in by_id:
        known = [p.name for p in patterns if p.merged_into is None]
        known += [alias for p in patterns for alias in classifications.aliases(p.id)]
        close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
        close += sorted(k for k in known if name.lower() in k.lower() and k not in close)
        hint = f"; did you mean {', '.join(close[:5])}?" if close else ""
        _fail(state, f"no pattern named {name!r}{hint}; see `spanwise patterns list`")
    found = by_id[pattern_id]
    while found.merged_into is not None:
        found = by_id[found.merged_into]
    return found


def _correct(
    ctx: typer.Context, name: str, field: str, value: str, reason: str, author: str
) -> tuple[SpanPattern, Correction]:
    """Resolve ``name`` and set one field of its classification, or fail changing nothing."""
    state = cli_state(ctx)
    with _classification_store(state) as (classifications, patterns):
        pattern = _resolved(state, classifications, patterns, name)
        try:
            correction = classifications.correct(
                pattern, field, value, reason=reason.strip(), author=author
            )
        except CorrectionError as exc:
            _fail(state, str(exc))
    return pattern, correction


def _done(ctx: typer.Context, pattern: SpanPattern, correction: Correction) -> None:
    because = f"; {correction.reason}" if correction.reason else ""
    cli_state(ctx).console.print(
        escape(
            f"{_change(correction.field, correction.value, pattern.name)} "
            f"by {correction.author}{because}"
        ),
        soft_wrap=True,
    )


def _change(field: str, value: str, pattern: str) -> str:
    """What a correction did, in words; ``pattern`` is the pattern's current name."""
    if field == "name":
        return f"renamed to {value}" + (f" (now {pattern})" if pattern != value else "")
    return f"{field} of {pattern} set to {value}"


_NAME = typer.Argument(..., help="The pattern's name or one of its old names.")
_REASON = typer.Option("", "--reason", help="Why; kept with the correction.")
_AUTHOR = typer.Option(None, "--author", help="Who made it [default: $USER].")


@patterns_app.command("reclassify")
def reclassify_pattern(
    ctx: typer.Context,
    name: str = _NAME,
    verdict: str = typer.Argument(..., metavar="keep|noise", help="The pattern's verdict."),
    reason: str = typer.Option(..., "--reason", help="Why; kept with the correction."),
    author: str | None = _AUTHOR,
) -> None:
    """Set a pattern's verdict; later classifications keep it."""
    if not reason.strip():
        _fail(cli_state(ctx), "say why with --reason: it is kept with the correction")
    _done(ctx, *_correct(ctx, name, "verdict", verdict, reason, _author(author)))


@patterns_app.command("describe")
def describe_pattern(
    ctx: typer.Context,
    name: str = _NAME,
    description: str = typer.Argument(..., help="One or two sentences: what it does, for whom."),
    reason: str = _REASON,
    author: str | None = _AUTHOR,
) -> None:
    """Set a pattern's description; later classifications keep it."""
    _done(ctx, *_correct(ctx, name, "description", description, reason, _author(author)))


@patterns_app.command("categorize")
def categorize_pattern(
    ctx: typer.Context,
    name: str = _NAME,
    category: str = typer.Argument(..., help=f"One of {', '.join(c.value for c in Category)}."),
    reason: str = _REASON,
    author: str | None = _AUTHOR,
) -> None:
    """Set a pattern's category; later classifications keep it."""
    _done(ctx, *_correct(ctx, name, "category", category, reason, _author(author)))


@patterns_app.command("rename")
def rename_pattern(
    ctx: typer.Context,
    old: str = typer.Argument(..., help="The pattern's name or one of its old names."),
    new: str = typer.Argument(..., help="snake_case, e.g. postgres_query_select_orders."),
    reason: str = _REASON,
    author: str | None = _AUTHOR,
) -> None:
    """Rename a pattern; its old names keep resolving to it."""
    pattern, correction = _correct(ctx, old, "name", new, reason, _author(author))
    _done(ctx, pattern, correction)
    cli_state(ctx).console.print(f"  {escape(old)} keeps meaning {escape(pattern.name)}")


@patterns_app.command("corrections")
def list_corrections(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="JSON instead of text."),
) -> None:
    """The corrections made so far, oldest first: when, who, to which pattern, and why."""
    state = cli_state(ctx)
    with _classification_store(state) as (classifications, patterns):
        corrections = classifications.corrections()
    names = {p.id: p.name for p in patterns}
    rows = [_correction_row(c, names.get(c.pattern_id, f"#{c.pattern_id}")) for c in corrections]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        state.console.print("no corrections yet")
        return
    for row in rows:
        because = f"; {row['reason']}" if row["reason"] else ""
        change = _change(row["field"], row["value"], row["pattern"])
        state.console.print(
            escape(f"{row['id']}. {row['time']} {row['author']}: {change}{because}"),
            soft_wrap=True,
        )


def _correction_row(correction: Correction, pattern: str) -> dict[str, Any]:
    return {
        "id": correction.id,
        "time": time.strftime("%Y-%m-%d %H:%M", time.localtime(correction.created_unix_s)),
        "created_unix_s": correction.created_unix_s,
        "author": correction.author,
        "pattern": pattern,
        "field": correction.field,
        "value": correction.value,
        "reason": correction.reason,
    }
