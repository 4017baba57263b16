"""The Spanwise HTTP server: one FastAPI app for the OTLP receiver and the API."""

from __future__ import annotations

from fastapi import FastAPI

from app.api.otlp_receiver import otlp_router
from app.api.patterns_api import patterns_router
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings


def create_app(settings: Settings, pipeline: SpanPipeline, summary: IngestSummary) -> FastAPI:
    app = FastAPI(
        title="Spanwise",
        summary="Span patterns from OpenTelemetry traces, and answers about them.",
        version="0.1.0",
    )
    app.include_router(otlp_router(pipeline, settings.max_request_bytes))
    app.include_router(patterns_router(settings.data_dir))

    @app.get("/api/ingest/summary", tags=["ingest"], summary="What has arrived, per service")
    def ingest_summary() -> dict[str, object]:
        return summary.as_dict()

    return app
