"""``spanwise serve``: the API and the OTLP/HTTP receiver."""

from __future__ import annotations

import typer
import uvicorn

from app.api.server import create_app
from app.cli.state import cli_state
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary


def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Address to bind [default 127.0.0.1]."),
    port: int | None = typer.Option(None, help="Port to listen on [default 8765]."),
) -> None:
    """Start the Spanwise API and OTLP/HTTP receiver (POST /v1/traces)."""
    state = cli_state(ctx)
    settings = state.settings
    bind_host = host or settings.host
    bind_port = port or settings.port
    summary = IngestSummary()
    app = create_app(settings, SpanPipeline([summary]), summary)
    state.console.print(
        f"Spanwise listening on http://{bind_host}:{bind_port} "
        f"(OTLP/HTTP: POST http://{bind_host}:{bind_port}/v1/traces; API docs: /docs)"
    )
    uvicorn.run(app, host=bind_host, port=bind_port, log_level="info")
