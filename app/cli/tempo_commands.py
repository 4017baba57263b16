"""``spanwise tempo``: check the connection to Grafana Tempo, and pull traces out of it."""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import aclosing
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
)
from rich.text import Text

from app.cli.state import CliState, cli_state
from app.factory import NotConfigured, build_tempo_client
from app.time_options import now_s, resolve_window
from connectors.otlp import encode_otlp_json
from connectors.tempo import TempoClient
from connectors.tempo_errors import (
    TempoConnectionError,
    TempoEndpointNotFound,
    TempoError,
    TempoQueryError,
    TempoTimeout,
)
from connectors.tempo_models import TagScope
from connectors.tempo_window import PullProgress

tempo_app = typer.Typer(
    rich_markup_mode=None,  # help texts say [env X] and [default N] literally
    name="tempo",
    help="Grafana Tempo: check the connection and pull traces.",
    no_args_is_help=True,
)

_TRACEQL_HINT = (
    "hint: check the TraceQL in --query; '{}' matches every trace "
    "(https://grafana.com/docs/tempo/latest/traceql/)"
)


# --- commands ------------------------------------------------------------------------


@tempo_app.command()
def status(ctx: typer.Context) -> None:
    """Show whether Tempo answers, its version, the tenant and how many tag names it has."""
    state = cli_state(ctx)
    client = _client(state)
    raise typer.Exit(asyncio.run(_status(client, state)))


@tempo_app.command()
def pull(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", "-o", help="File to write, one OTLP JSON trace a line."),
    since: str | None = typer.Option(None, "--since", help="Window up to now: 90s, 15m, 1h, 2d."),
    start: str | None = typer.Option(None, "--start", help="Unix seconds or RFC 3339."),
    end: str | None = typer.Option(None, "--end", help="Unix seconds or RFC 3339 [default now]."),
    query: str = typer.Option("{}", "--query", "-q", help="TraceQL; '{}' pulls every trace."),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Traces per search [env SPANWISE_TEMPO_SEARCH_LIMIT]."
    ),
) -> None:
    """Pull every trace of a time window from Tempo into a file of OTLP JSON lines."""
    state = cli_state(ctx)
    try:
        window = resolve_window(since=since, start=start, end=end, now=now_s())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not out.parent.is_dir():
        raise typer.BadParameter(f"the directory {out.parent} does not exist", param_hint="--out")
    client = _client(state)
    raise typer.Exit(asyncio.run(_pull(client, state, window, query, limit, out)))


# --- what the commands do ------------------------------------------------------------


def _client(state: CliState) -> TempoClient:
    try:
        return build_tempo_client(state.settings)
    except NotConfigured as exc:
        _error(state.err_console, str(exc))
        raise typer.Exit(2) from exc


async def _status(client: TempoClient, state: CliState) -> int:
    console = state.console
    async with client:
        _line(console, "Tempo", client.base_url)
        try:
            info = await client.build_info()
        except (TempoConnectionError, TempoTimeout) as exc:
            _line(console, "reachable", "no")
            _error(state.err_console, str(exc))
            return 1
        except TempoError as exc:
            _line(console, "reachable", "yes, but it does not answer like Tempo")
            _error(state.err_console, str(exc))
            return 1
        _line(console, "reachable", await _readiness(client))
        revision = f" (revision {info.revision})" if info.revision else ""
        _line(console, "version", f"{info.version}{revision}")
        _line(console, "tenant", state.settings.tempo_tenant or "none")
        try:
            _line(console, "tag names", _describe_tags(await _tag_scopes(client)))
        except TempoError as exc:  # TempoTenantRequired's message says how to name a tenant
            _line(console, "tag names", "not readable")
            _error(state.err_console, str(exc))
            return 1
    return 0


async def _readiness(client: TempoClient) -> str:
    try:
        readiness = await client.ready()
    except TempoEndpointNotFound:
        return "yes (no /ready here, as behind some gateways)"
    except TempoError as exc:
        return f"yes, but /ready failed: {exc}"
    return "yes, ready" if readiness.is_ready else f"yes, but not ready: {readiness.detail}"


async def _tag_scopes(client: TempoClient) -> list[TagScope]:
    try:
        return await client.tag_scopes()
    except TempoEndpointNotFound:
        return [TagScope("attributes", await client.tag_names())]


def _describe_tags(scopes: list[TagScope]) -> str:
    attributes = [s for s in scopes if s.name != "intrinsic"]
    distinct = {tag for s in attributes for tag in s.tags}
    intrinsic = sum(len(s.tags) for s in scopes if s.name == "intrinsic")
    per_scope = ", ".join(f"{s.name} {len(s.tags)}" for s in attributes)
    text = f"{len(distinct)} ({per_scope})" if len(attributes) > 1 else str(len(distinct))
    return f"{text} and {intrinsic} intrinsics" if intrinsic else text


async def _pull(
    client: TempoClient,
    state: CliState,
    window: tuple[int, int],
    query: str,
    limit: int | None,
    out: Path,
) -> int:
    partial = out.with_name(out.name + ".partial")
    written = 0
    spans = 0
    started = time.monotonic()
    progress = _progress_bar(state.err_console)
    task = progress.add_task("searching", total=None, spans=0)
    last = PullProgress()

    def show(counts: PullProgress) -> None:
        nonlocal last
        last = counts
        progress.update(
            task,
            description="searching" if counts.searching else "fetching",
            completed=counts.traces_done,
            total=counts.traces_found if not counts.searching else None,
            spans=counts.spans_done,
        )

    try:
        async with client:
            with progress, partial.open("wb") as sink:
                traces = client.pull(
                    query, start=window[0], end=window[1], limit=limit, on_progress=show
                )
                async with aclosing(traces):
                    async for _trace_id, trace_spans in traces:
                        sink.write(encode_otlp_json(trace_spans) + b"\n")
                        written += 1
                        spans += len(trace_spans)
    except TempoError as exc:
        if not written:
            partial.unlink(missing_ok=True)
        _report_failure(state.err_console, exc, written, partial)
        return 1
    if last.traces_failed:  # the file lacks these: it stays partial, and says which
        trace_id, why = last.traces_failed[0]
        _error(
            state.err_console,
            f"{len(last.traces_failed)} traces could not be fetched after retries (first: "
            f"{trace_id}: {why})",
        )
        _hint(state.err_console, f"{written} traces were written to {partial} without them")
        return 1
    os.replace(partial, out)
    seconds = time.monotonic() - started
    summary = f"pulled {written} traces ({spans} spans) in {seconds:.1f} s into {out}"
    if last.traces_missing:
        summary += f"; {last.traces_missing} found traces were gone when fetched"
    if last.spans_rejected:
        summary += f"; {last.spans_rejected} unreadable spans were left out"
    state.console.print(Text(summary), soft_wrap=True)
    return 0


def _report_failure(console: Console, exc: TempoError, written: int, partial: Path) -> None:
    if isinstance(exc, TempoQueryError):
        _error(console, f"Tempo rejected the request: {exc}")
        _hint(console, _TRACEQL_HINT)
    else:
        _error(console, str(exc))
    if written:
        _hint(console, f"{written} traces were written to {partial} before the pull stopped")


class _CountsColumn(ProgressColumn):
    """Spans so far, and traces and spans per second since the pull started."""

    def render(self, task: Task) -> Text:
        spans = task.fields.get("spans", 0)
        elapsed = task.elapsed or 0.0
        rates = ""
        if elapsed > 0:
            rates = f" {task.completed / elapsed:,.0f} traces/s {spans / elapsed:,.0f} spans/s"
        return Text(f"traces {spans:,} spans{rates}", no_wrap=True, overflow="ellipsis")


def _progress_bar(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=12),
        MofNCompleteColumn(),
        _CountsColumn(),
        console=console,
    )


def _line(console: Console, label: str, value: str) -> None:
    console.print(Text(f"{label:<11}{value}"), soft_wrap=True)


def _error(console: Console, message: str) -> None:
    """Print text from Tempo as it is: no markup, no wrapping."""
    console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)


def _hint(console: Console, message: str) -> None:
    console.print(Text(message), soft_wrap=True)
