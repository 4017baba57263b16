"""``spanwise classify``: name, describe and judge every pattern, by a model or offline."""

from __future__ import annotations

from collections.abc import Sequence

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.classify.run import ClassifyReport, classify_patterns
from app.classify.store import ClassificationStore
from app.cli.state import CliState, cli_state, pattern_store_with_patterns
from app.discovery.store import PatternStore

OFFLINE_NOTE = (
    "no model configured: classified offline from semantic conventions and statistics "
    "(set OPENAI_API_KEY, or SPANWISE_MODEL_BASE_URL for vLLM, Ollama, llama.cpp server)"
)


def classify(
    ctx: typer.Context,
    model: str | None = typer.Option(
        None, "--model", help="Model name [env SPANWISE_MODEL_NAME, gpt-4o-mini]."
    ),
) -> None:
    """Name, describe and judge (keep or noise) every pattern; corrections are kept."""
    state = cli_state(ctx)
    store = pattern_store_with_patterns(state)
    report = classify_and_report(state, store, model=model)
    index_and_report(state, store)
    state.console.print(classification_table(store, report.changed))


def index_and_report(state: CliState, store: PatternStore) -> None:
    """Embed what changed for retrieval; a failure here does not undo the classification."""
    from app.chat.index import sync_index

    try:
        with state.console.status("embedding pattern descriptions for retrieval"):
            report = sync_index(state.settings, store, state.tenant)
    except Exception as exc:  # the index only helps chat find patterns by meaning
        state.err_console.print(
            f"[yellow]retrieval index not updated:[/] {type(exc).__name__}: {exc}; chat still "
            "finds patterns by @name and by the services and words a question uses",
            soft_wrap=True,
        )
        return
    state.console.print(
        f"retrieval index: {report.embedded} embedded, {report.unchanged} unchanged, "
        f"{report.removed} removed",
        soft_wrap=True,
    )


def classify_and_report(
    state: CliState, store: PatternStore, *, model: str | None
) -> ClassifyReport:
    """Classify with a progress bar and print what it cost and what changed."""
    from app.classify.build import model_classifier  # LangChain: only when classifying

    classifier = model_classifier(state.settings, store, model=model)
    with _progress(state.console) as progress:
        task = progress.add_task("classifying", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = classify_patterns(store, model=classifier, on_progress=advance)
    problems = classifier.problems if classifier is not None else []
    print_report(state.console, report, problems)
    return report


def print_report(console: Console, report: ClassifyReport, problems: list[str]) -> None:
    usage = report.usage
    if report.offline:
        console.print(f"[yellow]{OFFLINE_NOTE}[/]", soft_wrap=True)
    else:
        asked = usage.patterns - usage.cached
        per_pattern = f" ({usage.total_tokens / asked:,.0f} per pattern asked)" if asked else ""
        calls = f"{usage.calls} call" + ("" if usage.calls == 1 else "s")
        console.print(
            f"{usage.model}: {calls}, {usage.prompt_tokens:,} prompt + "
            f"{usage.completion_tokens:,} completion tokens{per_pattern}; {usage.cached} "
            f"from the cache; {usage.fallbacks} classified offline after the model failed "
            "on them (asked again next run)",
            soft_wrap=True,
        )
        for problem in problems[:5]:
            console.print(f"  [yellow]model:[/] {problem}", soft_wrap=True)
    changed = ", ".join(report.changed[:8]) + (" ..." if len(report.changed) > 8 else "")
    console.print(
        f"{report.classified} patterns classified, {len(report.changed)} new or changed"
        + (f": {changed}" if report.changed else ""),
        soft_wrap=True,
    )


TABLE_ROWS = 30


def classification_table(store: PatternStore, changed: Sequence[str] = ()) -> Table:
    """The patterns this run named or changed first, then the busiest: at most
    ``TABLE_ROWS``; `spanwise patterns list` shows them all."""
    patterns = [p for p in store.load(sketches=False) if p.merged_into is None and p.stats.count]
    current = ClassificationStore(store).current(patterns)
    named = set(changed)
    ordered = sorted(patterns, key=lambda p: (p.name not in named, -p.stats.count))
    shown = [p for p in ordered if p.id in current][:TABLE_ROWS]
    table = Table(title="Classified span patterns")
    for column in ("service", "name", "verdict", "description"):
        table.add_column(column, overflow="fold")
    for pattern in sorted(shown, key=lambda p: (p.service, -p.stats.count)):
        classification = current[pattern.id].classification
        verdict = classification.verdict.value
        table.add_row(
            escape(pattern.service),
            escape(pattern.name),
            f"[dim]{verdict}[/]" if verdict == "noise" else verdict,
            escape(classification.description),
        )
    hidden = len(current) - len(shown)
    if hidden > 0:
        table.caption = f"and {hidden:,} more: `spanwise patterns list` shows every one"
    return table


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("patterns"),
        TimeElapsedColumn(),
        console=console,
    )
