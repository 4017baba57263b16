"""The API documents itself: every route in the OpenAPI schema, with its request bodies."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.api.server import create_app
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings


def test_the_schema_lists_every_route_and_the_docs_page_serves(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(data_dir=tmp_path), SpanPipeline([]), IngestSummary()))
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/v1/traces",
        "/api/status",
        "/api/patterns",
        "/api/patterns/{name}",
        "/api/patterns/{name}/corrections",
        "/api/corrections",
        "/api/chat",
        "/api/chat/stream",
        "/api/traces/{trace_id}",
    ):
        assert path in paths, path
    chat = schema["components"]["schemas"]["ChatRequest"]
    assert chat["required"] == ["question"]
    assert "mentions" in chat["properties"]["question"]["description"]
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "cdn." not in docs.text and "/docs-assets/swagger-ui-bundle.js" in docs.text
    assert "cdn." not in client.get("/redoc").text
    script = client.get("/docs-assets/swagger-ui-bundle.js")  # shipped: works offline
    assert script.status_code == 200 and len(script.content) > 100_000
