"""What the global CLI options leave for every command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from app.discovery.store import PatternStore
from app.settings import Settings
from app.tenancy import DEFAULT_TENANT, tenant_store_path


@dataclass
class CliState:
    settings: Settings
    console: Console
    err_console: Console
    tenant: str = DEFAULT_TENANT
    """The Spanwise tenant whose patterns the command works on (``--tenant``)."""

    @property
    def store_path(self) -> Path:
        path = tenant_store_path(self.settings, self.tenant)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def cli_state(ctx: typer.Context) -> CliState:
    """The state the ``spanwise`` callback stored; commands receive settings through it."""
    state = ctx.find_root().obj
    if not isinstance(state, CliState):
        raise RuntimeError("the spanwise callback did not run")
    return state


NO_PATTERNS = "no patterns yet: run `spanwise discover --sample` (or --file, or a Tempo window)"


def pattern_store_with_patterns(state: CliState) -> PatternStore:
    """The data directory's pattern store; exits with what to do when it holds none."""
    store = PatternStore(state.store_path)
    if store.count() == 0:
        state.err_console.print(NO_PATTERNS)
        raise typer.Exit(1)
    return store
