"""The ``spanwise`` command line."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError as PydanticSettingsError
from rich.console import Console
from rich.markup import escape

from app.cli.chat_command import chat
from app.cli.classify_command import classify
from app.cli.demo_command import demo
from app.cli.discover_command import discover
from app.cli.eval_command import eval_app
from app.cli.patterns_commands import patterns_app
from app.cli.rca_command import rca
from app.cli.serve_command import serve
from app.cli.slack_command import slack
from app.cli.state import CliState
from app.cli.tempo_commands import tempo_app
from app.cli.tokens_commands import tokens_app
from app.settings import SettingsError, describe_invalid, load_settings
from app.tenancy import DEFAULT_TENANT, check_tenant

cli = typer.Typer(
    rich_markup_mode=None,  # help texts say [env X] and [default N] literally
    name="spanwise",
    help="Turn OpenTelemetry spans into span patterns and ask questions about them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@cli.callback()
def spanwise(
    ctx: typer.Context,
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Where Spanwise keeps its data [env SPANWISE_DATA_DIR]."
    ),
    tempo: str | None = typer.Option(
        None,
        "--tempo",
        help="Grafana Tempo URL, e.g. http://localhost:3200 [env SPANWISE_TEMPO_URL].",
    ),
    tenant: str | None = typer.Option(
        None,
        "--tenant",
        help="Tenant: whose patterns to work on, and Tempo's X-Scope-OrgID; 'a|b' queries "
        "several Tempo tenants for the default one [env SPANWISE_TEMPO_TENANT].",
    ),
    config: Path | None = typer.Option(
        None, "--config", envvar="SPANWISE_CONFIG", help="A TOML file of settings."
    ),
) -> None:
    err_console = Console(stderr=True)
    try:
        settings = load_settings(config, data_dir=data_dir, tempo_url=tempo, tempo_tenant=tenant)
    except FileNotFoundError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}. Pass an existing file to --config.")
        raise typer.Exit(2) from exc
    except (SettingsError, PydanticSettingsError) as exc:  # e.g. a list variable not JSON
        err_console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from exc
    except ValidationError as exc:
        err_console.print(
            "[red]error:[/] a setting cannot be used:\n" + escape(describe_invalid(exc)),
            soft_wrap=True,
        )
        raise typer.Exit(2) from exc
    ctx.obj = CliState(
        settings=settings,
        console=Console(),
        err_console=err_console,
        tenant=_spanwise_tenant(tenant, err_console),
    )


def _spanwise_tenant(tenant: str | None, err_console: Console) -> str:
    """The tenant ``--tenant`` names; several Tempo tenants (``a|b``) read into the default."""
    if tenant is None or "|" in tenant:
        return DEFAULT_TENANT
    try:
        return check_tenant(tenant)
    except ValueError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc


cli.command()(demo)
cli.command()(serve)
cli.command()(discover)
cli.command()(classify)
cli.command()(chat)
cli.command()(rca)
cli.add_typer(patterns_app, name="patterns")
cli.add_typer(tokens_app, name="tokens")
cli.add_typer(tempo_app, name="tempo")
cli.add_typer(eval_app, name="eval")
cli.command()(slack)


def main() -> None:
    cli()
