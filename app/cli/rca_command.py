"""``spanwise rca``: which service a window's errors and latency started in, as a table."""

from __future__ import annotations

import json

import typer

from app.cli.state import cli_state, pattern_store_with_patterns


def rca(
    ctx: typer.Context,
    start: str | None = typer.Option(
        None, "--start", help="When the window starts: 15:19, 3pm, 2026-11-21T15:19Z."
    ),
    end: str | None = typer.Option(None, "--end", help="When it ends [now]."),
    reference: str | None = typer.Option(
        None,
        "--reference",
        help="What to compare with: yesterday, last week, '14:00 to 14:30' [the window before].",
    ),
    as_json: bool = typer.Option(False, "--json", help="The ranking and its evidence as JSON."),
) -> None:
    """Rank services by their own change in a window (default: the last hour), against the
    window before it or a reference: errors and latency not passed up from what they call."""
    from rich.table import Table

    from app.chat.service import ChatService

    state = cli_state(ctx)
    if end is not None and start is None:
        state.err_console.print("--end needs --start: give the window's start too.")
        raise typer.Exit(2)
    window = ""
    if start is not None:
        window = f"from {start} to {end}" if end is not None else f"since {start}"
    against = f" compared with {reference}" if reference else ""
    store = pattern_store_with_patterns(state)
    answer = ChatService(store).lookup(f"root cause {window}{against}")
    document = next((f for f in answer.facts if f.get("kind") == "root_cause"), None)
    if document is None:  # a window that cannot be read: the lookup says why
        state.err_console.print(answer.answer)
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps({"window": answer.window, **document}, indent=2))
        return
    console = state.console
    stated = answer.answer.split("\n\n", 1)[0]
    console.print(stated, soft_wrap=True, markup=False, highlight=False)
    ranked = document["ranked"]
    if not any(rank["beyond_chance"] for rank in ranked):
        console.print(
            "Nothing changed beyond chance in this window; the largest changes, weak evidence:"
            if ranked
            else "Nothing changed beyond chance in this window.",
            markup=False,
        )
    if ranked:
        table = Table(box=None, pad_edge=False)
        for column in ("#", "service", "evidence", "why (the pattern to open first)"):
            table.add_column(column, overflow="fold")
        for number, rank in enumerate(ranked, 1):
            top = rank["changes"][0]
            table.add_row(
                str(number),
                rank["service"],
                "beyond chance" if rank["beyond_chance"] else "weak",
                top["why"],
            )
        console.print(table)
    baseline = document["baseline_median_rise"]
    rises = ", ".join(f"{b['service']} {b['factor']:.2g}x" for b in baseline)
    if rises:
        console.print(f"Median server-span time, window over reference: {rises}.", markup=False)
