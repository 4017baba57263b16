"""``spanwise discover``: spans from the sample system, OTLP files or Tempo into patterns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.classify.run import live_patterns
from app.cli.classify_command import classify_and_report
from app.cli.state import CliState, cli_state
from app.discovery.counted import Piece, counted_before, uncounted_files, uncounted_pieces
from app.discovery.failed_traces import read_failed, replace_failed, write_failed
from app.discovery.normalize import normalize
from app.discovery.patterns import SpanPattern
from app.discovery.run import (
    DiscoveryRun,
    RunReport,
    file_batches,
    file_digest,
    files_source,
    sample_batches,
    sample_source,
    tempo_source,
)
from app.discovery.store import PatternStore
from app.factory import NotConfigured, build_tempo_client
from app.sample import faults_by_name
from app.time_options import now_s, parse_duration_s, resolve_window
from connectors.spans import Span
from connectors.tempo_errors import TempoError, TempoUnavailable, TraceNotFound
from connectors.tempo_sample import SamplePlan
from connectors.tempo_window import PullProgress


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
    traces_per_slice: int | None = typer.Option(
        None,
        "--traces-per-slice",
        min=1,
        help="Tempo: traces sampled from each slice [env SPANWISE_DISCOVERY_TRACES_PER_SLICE, 20].",
    ),
    slice_length: str | None = typer.Option(
        None,
        "--slice",
        help="Tempo: sampling slice, such as 30s or 1m [env SPANWISE_DISCOVERY_SLICE_S, 60].",
    ),
    all_traces: bool = typer.Option(
        False, "--all-traces", help="Tempo: pull every trace of the window, not a sample."
    ),
    no_classify: bool = typer.Option(
        False, "--no-classify", help="Leave classification (`spanwise classify`) for later."
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Tempo: fetch the traces an earlier run could not (failed-traces.json), only those.",
    ),
    again: bool = typer.Option(
        False,
        "--again",
        help="Count spans this store counted before once more (a sample, the same files, "
        "a Tempo window already pulled): every count then includes them twice.",
    ),
) -> None:
    """Find span patterns in spans and add them to the pattern store.

    From Tempo, discovery samples: at most --traces-per-slice traces from each --slice of the
    window. Pattern counts are then those of the sample; --all-traces pulls every trace.
    """
    state = cli_state(ctx)
    if resume:
        _resume(state, no_classify)
        return
    if all_traces and (traces_per_slice is not None or slice_length is not None):
        _fail(
            state,
            "--all-traces pulls every trace of the window; leave out --traces-per-slice and "
            "--slice, or leave out --all-traces to sample",
        )
    tempo = since is not None or start is not None
    chosen = sum([sample, bool(file), tempo])
    if chosen != 1:
        _fail(
            state,
            "choose one source: --sample, --file FILE, or a Tempo window "
            "(--since 2h, or --start/--end, with --tempo URL)",
        )
    store = PatternStore(state.store_path)
    counted = [source for source, _ in store.runs()]
    pieces: list[Piece] = []
    pulled_from: dict[str, object] = {}
    plan: SamplePlan | None = None
    if sample:
        try:
            faults = faults_by_name(fault)
        except ValueError as exc:
            _fail(state, str(exc))
        source = sample_source(seed, traces, faults)
    elif file:
        source = files_source(file)
        given = list(file)
        to_read = (
            [(index, 0) for index in range(len(given))]
            if again
            else uncounted_files(
                counted, source, lambda index, size: file_digest(given[index], size)
            )
        )
        starts = dict(to_read)
        for index, path in enumerate(given):
            if index not in starts:
                state.console.print(
                    f"[yellow]skipping {escape(str(path))}:[/] its content was counted before "
                    "(--again counts it once more)",
                    soft_wrap=True,
                )
            elif starts[index]:
                state.console.print(
                    f"{escape(str(path))} grew since it was counted: reading from byte "
                    f"{starts[index]:,} on",
                    soft_wrap=True,
                )
        if not to_read:
            raise typer.Exit(0)
        file = [given[index] for index, _ in to_read]
        source = {
            "kind": "files",
            "paths": [source["paths"][index] for index, _ in to_read],
            "sha256": [source["sha256"][index] for index, _ in to_read],
            "sizes": [source["sizes"][index] for index, _ in to_read],
            "starts": [start for _, start in to_read],
        }
    else:
        try:
            window = resolve_window(since=since, start=start, end=end, now=now_s())
            plan = None if all_traces else _sample_plan(state, traces_per_slice, slice_length)
        except ValueError as exc:
            _fail(state, str(exc))
        pulled_from = tempo_source(state.settings, query, plan)
        whole = [Piece(window[0], window[1] + 1, before=True)]
        pieces = whole if again else uncounted_pieces(counted, pulled_from, window)
        if pieces != whole:
            _say_counted(state, window, pieces)
        if not pieces:
            raise typer.Exit(0)
        source = pieces[0].record(pulled_from)
    if not again and counted_before(counted, source):
        state.console.print(
            f"[yellow]already counted:[/] this store counted the sample of seed {seed} in an "
            "earlier run (a sample of one seed has the same traces whatever its size and "
            "faults), so nothing is new. Another --seed sends other traces; --again counts "
            "these once more, doubling every count.",
            soft_wrap=True,
        )
        raise typer.Exit(0)

    run = DiscoveryRun(store, normalize, source=source)
    problems: list[str] = []
    pulled = PullProgress()
    failed: list[tuple[str, str]] = []
    with _progress(state.console) as progress:
        task = progress.add_task("discovering", total=None, spans="0", rate="-")

        def advance(spans: list[Span]) -> None:
            run.accept(spans)
            elapsed = progress.tasks[task].elapsed or 0.0
            rate = f"{run.report.spans / elapsed:,.0f}" if elapsed > 0 else "-"
            progress.update(task, spans=f"{run.report.spans:,}", rate=rate)

        if sample:
            for batch in sample_batches(seed, traces, faults):
                advance(batch)
        elif file:
            for batch in file_batches(file, problems.append, source["starts"]):
                advance(batch)
        else:

            def fetched(counts: PullProgress) -> None:
                progress.update(task, description=f"{counts.traces_done:,} traces fetched")

            for piece in pieces:
                pulled = asyncio.run(_from_tempo(state, piece, query, plan, advance, fetched))
                failed += pulled.traces_failed
    if file and run.report.spans == 0:
        for problem in problems[:10]:
            state.err_console.print(f"[yellow]skipped[/] {escape(problem)}", soft_wrap=True)
        _fail(
            state,
            "no span could be read from "
            + ", ".join(str(path) for path in file)
            + ": give OTLP traces as JSON (one document, or one per line, as the Collector's "
            "file exporter writes), or protobuf, optionally gzipped",
        )
    report = run.finish()
    for piece in pieces[1:]:  # the other parts of the window this run pulled
        store.record_run(piece.record(pulled_from), 0)
    report.problems = problems
    patterns = run.patterns
    if not no_classify:
        classify_and_report(state, store, model=None)
        patterns = store.load(timelines=False)  # with the names classification gave them
    _print_report(state.console, report, live_patterns(patterns), store.path)
    if plan is not None:
        state.console.print(_describe_sample(plan, pulled), soft_wrap=True)
    if failed:
        _say_failed(state, store.path, failed, query)


def _say_counted(state: CliState, window: tuple[int, int], pieces: list[Piece]) -> None:
    """Say which part of the asked window earlier runs counted, and what is pulled."""
    asked = f"{_clock(window[0])} to {_clock(window[1])}"
    if not pieces:
        state.console.print(
            f"[yellow]already counted:[/] earlier runs pulled all of {asked} from this Tempo "
            "with this query, so nothing is new. Counting it again would double every "
            "count; --again does it anyway.",
            soft_wrap=True,
        )
        return
    pulled = ", ".join(f"{_clock(p.start)} to {_clock(p.end)}" for p in pieces)
    state.console.print(
        f"Earlier runs counted part of {asked}: pulling only {pulled} (--again pulls all).",
        soft_wrap=True,
    )


def _clock(unix_s: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(unix_s))


def _sample_plan(
    state: CliState, traces_per_slice: int | None, slice_length: str | None
) -> SamplePlan:
    """The sampling plan of the settings, with the command's options taking precedence."""
    slice_s = state.settings.discovery_slice_s
    if slice_length is not None:
        try:
            seconds = parse_duration_s(slice_length)
        except ValueError as exc:
            raise ValueError(f"--slice: {exc}") from exc
        if seconds < 1 or not seconds.is_integer():
            raise ValueError(
                f"--slice {slice_length!r}: a slice is whole seconds, at least 1s, "
                "such as 30s, 1m or 5m"
            )
        slice_s = int(seconds)
    return SamplePlan(
        slice_s=slice_s,
        traces_per_slice=state.settings.discovery_traces_per_slice
        if traces_per_slice is None
        else traces_per_slice,
    )


def _say_failed(
    state: CliState, store_path: Path, failed: list[tuple[str, str]], query: str
) -> NoReturn:
    """The patterns of what was fetched are saved; say what is missing, keep it for
    ``--resume``, and end with status 3."""
    path = write_failed(store_path, failed, query)
    first = failed[0]
    state.err_console.print(
        f"[yellow]{len(failed):,} trace{'' if len(failed) == 1 else 's'} could not be fetched"
        f"[/] after retries (first: {first[0]}: {escape(first[1])}). The patterns of the "
        f"rest are saved; the missing ones are listed in {path}. Run `spanwise discover "
        "--resume` to fetch only them.",
        soft_wrap=True,
    )
    raise typer.Exit(3)


def _resume(state: CliState, no_classify: bool) -> None:
    """Fetch the traces an earlier Tempo run could not, into the same store."""
    store = PatternStore(state.store_path)
    wanted = read_failed(store.path)
    if not wanted:
        state.console.print("Nothing to resume: no earlier run left traces unfetched.")
        return
    try:
        client = build_tempo_client(state.settings)
    except NotConfigured as exc:
        _fail(state, str(exc))
    run = DiscoveryRun(
        store, normalize, source={"kind": "tempo-resume", "traces": [t for t, _ in wanted]}
    )

    async def fetch_all() -> list[tuple[str, str]]:
        still: list[tuple[str, str]] = []
        async with client:
            for trace_id, _ in wanted:
                try:
                    batch = await client.trace(trace_id)
                except TraceNotFound as exc:
                    still.append((trace_id, f"gone from Tempo: {exc}"))
                except TempoError as exc:
                    still.append((trace_id, str(exc)))
                else:
                    run.accept(batch.spans)
        return still

    still = asyncio.run(fetch_all())
    report = run.finish()
    replace_failed(store.path, still)
    if not no_classify:
        classify_and_report(state, store, model=None)
    fetched = len(wanted) - len(still)
    state.console.print(
        f"Resumed: {fetched:,} of {len(wanted):,} traces fetched, {report.spans:,} spans added."
    )
    if still:
        state.err_console.print(
            f"[yellow]{len(still):,} still could not be fetched[/] "
            f"(first: {still[0][0]}: {escape(still[0][1])}); `--resume` again later.",
            soft_wrap=True,
        )
        raise typer.Exit(3)


async def _from_tempo(
    state: CliState,
    piece: Piece,
    query: str,
    plan: SamplePlan | None,
    advance: Callable[[list[Span]], None],
    on_progress: Callable[[PullProgress], None],
) -> PullProgress:
    """Pull the piece's traces (every one, or the sample of ``plan``) into ``advance``."""
    try:
        client = build_tempo_client(state.settings)
    except NotConfigured as exc:
        _fail(state, str(exc))
    last = PullProgress()

    def remember(counts: PullProgress) -> None:
        nonlocal last
        last = counts
        on_progress(counts)

    try:
        async with client:
            start, end, at_end = piece.pull_window()
            traces = client.pull(
                query,
                start=start,
                end=end,
                sample=plan,
                on_progress=remember,
                before=piece.before,
                at_end=at_end,
            )
            async with aclosing(traces):
                async for _trace_id, spans in traces:
                    advance(spans)
    except TempoUnavailable as exc:
        _fail(
            state,
            f"Tempo: {exc}\nhint: try again later, or ask less of Tempo at once: a lower "
            "SPANWISE_TEMPO_CONCURRENCY, fewer --traces-per-slice, or a narrower window",
        )
    except TempoError as exc:
        _fail(state, f"Tempo: {exc}")
    return last


def _describe_sample(plan: SamplePlan, pulled: PullProgress) -> str:
    """Say that the patterns come from a sample, and how much of the window it saw."""
    head = (
        f"sampled {plan.traces_per_slice:,} {_plural(plan.traces_per_slice, 'trace')} per "
        f"{_duration(plan.slice_s)} slice: {pulled.traces_done:,} "
        f"{_plural(pulled.traces_done, 'trace')} from {pulled.slices:,} "
        f"{_plural(pulled.slices, 'slice')}"
    )
    if not pulled.slices_full:
        return f"{head}, every trace of the window: no slice had more"
    had = "slice had" if pulled.slices_full == 1 else "slices had"
    return (
        f"{head} ({pulled.slices_full:,} {had} more traces than were taken); "
        "pattern counts are from the sample, not exact"
    )


def _duration(seconds: int) -> str:
    """Seconds as the largest whole unit that ``--slice`` reads back: 60 is 1m, 90 is 90s."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else f"{noun}s"


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
        console.print(f"[yellow]skipped[/] {escape(problem)}", soft_wrap=True)
    if len(report.problems) > 10:
        console.print(f"[yellow]... and {len(report.problems) - 10} more unreadable parts[/]")
    console.print(
        f"{report.spans:,} spans in {report.seconds:.1f} s ({report.spans_per_s:,.0f} spans/s): "
        f"{len(patterns)} patterns, {report.new_patterns} new, saved to {path}",
        soft_wrap=True,
    )
    console.print(patterns_table(patterns, console.width))


NUMBER_COLUMNS = ("spans", "p50 ms", "p99 ms", "errors")
MIN_NAME_ROOM = 16
OPERATION_ROOM = 30
"""Columns an operation needs to say something; with less, the table leaves it out."""


def patterns_table(patterns: list[SpanPattern], width: int = 200) -> Table:
    """Names whole, on one line: they are what a person copies into an @mention. In a
    terminal ``width`` columns wide the operation gives way first (cut with an ellipsis,
    then left out, with the kind); ``spanwise patterns show`` has everything."""
    table = Table(title="Span patterns by service")
    name_width = max((len(p.name) for p in patterns), default=10)
    service_width = max((len(p.service) for p in patterns), default=7)
    # borders and padding: 3 columns a column, plus one
    fixed = service_width + name_width + 8 + 7 + 7 + 7 + 3 * 6 + 1
    full = width >= fixed + 8 + 3 + OPERATION_ROOM + 3
    # too narrow for whole names: each is shortened in its middle, never split across lines
    room = name_width if width >= fixed else max(width - (fixed - name_width), MIN_NAME_ROOM)
    table.add_column("service", no_wrap=True)
    table.add_column("pattern", no_wrap=True, min_width=min(name_width, room))
    if full:
        table.add_column("kind", no_wrap=True)
        room = width - fixed - (8 + 3) - 3
        table.add_column("operation", no_wrap=True, overflow="ellipsis", max_width=room)
    for column in NUMBER_COLUMNS:
        table.add_column(column, justify="right", no_wrap=True)
    for pattern in _ordered(patterns):
        stats = pattern.stats
        # span data as text: "[http.response.status_code=404]" in an operation is not markup
        described = [pattern.span_kind, escape(pattern.operation)] if full else []
        table.add_row(
            escape(pattern.service),
            escape(shortened_name(pattern.name, room)),
            *described,
            f"{stats.count:,}",
            f"{stats.quantile_ms(0.5):.1f}",
            f"{stats.quantile_ms(0.99):.1f}",
            f"{stats.error_rate:.1%}",
        )
    return table


def shortened_name(name: str, room: int) -> str:
    """``name`` within ``room`` characters: whole when it fits, else its start and its end
    around an ellipsis, cut at ``_`` where one is near (the full name: ``--json``, or a
    wider terminal)."""
    if len(name) <= room:
        return name
    keep = room - 1
    tail = name[-(keep // 2) :]
    cut = tail.find("_")
    if 0 <= cut < len(tail) // 2:
        tail = tail[cut:]
    head = name[: keep - len(tail)]
    return f"{head}…{tail}"


def _ordered(patterns: list[SpanPattern]) -> Iterator[SpanPattern]:
    return iter(sorted(patterns, key=lambda p: (p.service, -p.stats.count)))


def _fail(state: CliState, message: str) -> NoReturn:
    state.err_console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(2)
