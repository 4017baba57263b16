"""``spanwise tokens create|list|revoke``: who may use a Spanwise served beyond loopback."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.markup import escape
from rich.table import Table

from app.auth.tokens import Role, TokenStore, auth_store_path
from app.cli.state import cli_state

tokens_app = typer.Typer(
    rich_markup_mode=None,  # help texts say [env X] and [default N] literally
    help="API tokens: each belongs to one tenant, with the role read, write or ingest.",
    no_args_is_help=True,
)


def _store(ctx: typer.Context) -> TokenStore:
    return TokenStore(auth_store_path(cli_state(ctx).settings.data_dir))


@tokens_app.command("create")
def create(
    ctx: typer.Context,
    tenant: str = typer.Option("default", help="The tenant whose patterns the token reaches."),
    role: Role = typer.Option(
        Role.READ,
        help="read: browse and ask; write: also correct and discover; ingest: push spans.",
    ),
    name: str = typer.Option("", help="Whose or what the token is, for the list."),
) -> None:
    """Make a token. It is shown once: only its hash is stored."""
    state = cli_state(ctx)
    try:
        info, token = _store(ctx).create(tenant, role, name)
    except ValueError as exc:
        state.err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    state.err_console.print(
        f"Token {info.token_id} for tenant {info.tenant!r}, role {info.role.value}. "
        "It is shown only now: keep it in a secret store."
    )
    state.console.print(token, soft_wrap=True)


@tokens_app.command("list")
def list_tokens(ctx: typer.Context) -> None:
    """Every token ever made, revoked ones too (never the tokens themselves)."""
    state = cli_state(ctx)
    found = _store(ctx).tokens()
    if not found:
        state.console.print("No tokens yet: `spanwise tokens create --tenant T --role read`.")
        return
    table = Table("id", "tenant", "role", "name", "created", "revoked")
    for info in found:
        table.add_row(
            info.token_id,
            info.tenant,
            info.role.value,
            info.name,
            _when(info.created_unix),
            _when(info.revoked_unix) if info.revoked_unix else "",
        )
    state.console.print(table)


@tokens_app.command("revoke")
def revoke(
    ctx: typer.Context, token_id: str = typer.Argument(..., help="The id `list` shows.")
) -> None:
    """Revoke a token at once: it never authenticates again."""
    state = cli_state(ctx)
    if not _store(ctx).revoke(token_id):
        state.err_console.print(
            f"[red]error:[/] no active token {token_id!r}: `spanwise tokens list` shows them."
        )
        raise typer.Exit(1)
    state.console.print(f"Revoked {token_id}.")


def _when(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M UTC")
