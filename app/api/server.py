"""The Spanwise HTTP server: one FastAPI app for the OTLP receiver and the API."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI

from app.api.chat_api import chat_router
from app.api.otlp_receiver import otlp_router
from app.api.patterns_api import patterns_router
from app.api.traces_api import traces_router
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings
from app.tenancy import ChatServices


def status_document(settings: Settings) -> dict[str, object]:
    """Whether a model is configured; with none, names and answers come from the facts."""
    if not settings.model_configured:
        return {
            "mode": "offline",
            "model": None,
            "note": "no model configured: classification and answers are computed offline; "
            "set OPENAI_API_KEY or SPANWISE_MODEL_BASE_URL for a model",
        }
    endpoint = urlsplit(settings.model_base_url).netloc if settings.model_base_url else "openai"
    return {"mode": "model", "model": settings.model_name, "endpoint": endpoint}


def create_app(settings: Settings, pipeline: SpanPipeline, summary: IngestSummary) -> FastAPI:
    app = FastAPI(
        title="Spanwise",
        summary="Span patterns from OpenTelemetry traces, and answers about them.",
        version="0.1.0",
    )
    chat_services = ChatServices(settings)
    app.state.chat_services = chat_services
    app.include_router(otlp_router(pipeline, settings.max_request_bytes))
    app.include_router(patterns_router(settings))
    app.include_router(chat_router(chat_services))
    app.include_router(traces_router(settings))

    @app.get("/api/ingest/summary", tags=["ingest"], summary="What has arrived, per service")
    def ingest_summary() -> dict[str, object]:
        return summary.as_dict()

    @app.get("/api/status", tags=["status"], summary="How this Spanwise classifies and answers")
    def status() -> dict[str, object]:
        return status_document(settings)

    return app
