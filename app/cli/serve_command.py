"""``spanwise serve``: the API, the web page and the OTLP/HTTP receiver."""

from __future__ import annotations

import socket

import typer

from app.api.authentication import is_loopback, tokens_required
from app.auth.tokens import TokenStore, auth_store_path
from app.cli.state import cli_state
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary


def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Address to bind [default 127.0.0.1]."),
    port: int | None = typer.Option(
        None, min=1, max=65535, help="Port to listen on [default 8765]."
    ),
    allow_open: bool = typer.Option(
        False,
        "--allow-open",
        help="Serve without tokens on an address other than loopback: only on a network you "
        "trust entirely [env SPANWISE_ALLOW_OPEN].",
    ),
) -> None:
    """Start the Spanwise API, web page and OTLP/HTTP receiver (POST /v1/traces).

    On loopback it runs open; bound to any other address every route needs a token
    (`spanwise tokens create`), unless --allow-open says otherwise.
    """
    state = cli_state(ctx)
    settings = state.settings.model_copy(
        update={
            "host": host or state.settings.host,
            "port": port or state.settings.port,
            "allow_open": allow_open or state.settings.allow_open,
        }
    )
    tokens = TokenStore(auth_store_path(settings.data_dir))
    required = tokens_required(
        settings.host, auth_required=settings.auth_required, allow_open=settings.allow_open
    )
    if required and tokens.active_count() == 0:
        state.err_console.print(
            f"[red]error:[/] bound to {settings.host}, every route needs a token, and there is "
            "none yet. Make one first: `spanwise tokens create --tenant default --role write`"
            " (or bind 127.0.0.1)."
        )
        raise typer.Exit(2)
    if not required and not is_loopback(settings.host):
        state.err_console.print(
            f"[yellow]warning:[/] serving {settings.host} without tokens (--allow-open): "
            "anyone who can reach it can read patterns, ask, and correct."
        )
    import uvicorn  # the server, its web app and tracing: only when serving

    from app.api.server import create_app
    from app.ingest.live_discovery import LiveDiscovery
    from app.telemetry.tracing import configure_tracing

    if configure_tracing():
        state.console.print("Exporting Spanwise's own traces over OTLP (OTEL_EXPORTER_OTLP_*).")
    summary = IngestSummary()
    problem = _cannot_bind(settings.host, settings.port)
    if problem:
        state.err_console.print(
            f"[red]error:[/] cannot listen on {settings.host}:{settings.port}: {problem}. "
            "Choose another --port, or stop what holds it.",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    live = LiveDiscovery(settings)
    app = create_app(settings, SpanPipeline([summary]), summary, tokens=tokens, live=live)
    where = f"http://{settings.host}:{settings.port}"
    access = "tokens required" if required else "open: no tokens needed on loopback"
    state.console.print(
        f"Spanwise listening on {where} ({access}; web page: {where}/; "
        f"OTLP/HTTP: POST {where}/v1/traces, folded into patterns every "
        f"{settings.live_discovery_s:g} s; API docs: {where}/docs)"
    )
    live.start()
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    finally:
        live.close()  # what arrived last is folded in before the process ends


def _cannot_bind(host: str, port: int) -> str | None:
    """Why the address cannot be listened on (in use, not an address here), or None; checked
    before anything is announced, so that the banner never names a port that failed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return str(exc)
    family, kind, protocol, _name, address = infos[0]
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None
