"""What the global CLI options leave for every command."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.console import Console

from app.settings import Settings


@dataclass
class CliState:
    settings: Settings
    console: Console
    err_console: Console


def cli_state(ctx: typer.Context) -> CliState:
    """The state the ``spanwise`` callback stored; commands receive settings through it."""
    state = ctx.find_root().obj
    if not isinstance(state, CliState):
        raise RuntimeError("the spanwise callback did not run")
    return state
