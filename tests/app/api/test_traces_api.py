"""``GET /api/traces/{id}``: a cited trace from the stored samples, or from Tempo."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import respx
from fastapi.testclient import TestClient

from app.api.server import create_app
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings

TEMPO_URL = "http://tempo.test:3200"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("traces")
    store = PatternStore(data_dir / "patterns.sqlite")
    discover_sample(store, 5, 150)
    store.close()
    return data_dir


def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, SpanPipeline([]), IngestSummary()))


def test_a_sampled_trace_comes_from_the_store_with_its_patterns(data_dir: Path) -> None:
    store = PatternStore(data_dir / "patterns.sqlite")
    slow = max(store.load(), key=lambda p: p.stats.max_duration_ns).stats.slowest_spans()[0]
    body = client(Settings(data_dir=data_dir)).get(f"/api/traces/{slow.trace_id}").json()
    assert body["source"] == "samples" and body["trace_id"] == slow.trace_id
    assert slow.span_id in {span["span_id"] for span in body["spans"]}
    assert all(span["pattern"] and span["service"] for span in body["spans"])
    starts = [span["start_unix_nano"] for span in body["spans"]]
    assert starts == sorted(starts)


def test_an_unknown_trace_without_tempo_is_a_404_that_says_why(data_dir: Path) -> None:
    response = client(Settings(data_dir=data_dir)).get("/api/traces/" + "ab" * 16)
    assert response.status_code == 404 and "no Tempo URL" in response.json()["detail"]
    assert client(Settings(data_dir=data_dir)).get("/api/traces/not-hex").status_code == 400


def test_with_tempo_the_whole_trace_is_fetched_and_redacted(
    data_dir: Path,
    no_network: respx.MockRouter,
    serve: Callable[[respx.MockRouter, str], respx.Route],
) -> None:
    serve(no_network, "trace_v2_checkout_ok.json")
    settings = Settings(data_dir=data_dir, tempo_url=TEMPO_URL)
    response = client(settings).get("/api/traces/c30f3c6921ffcf729b0fcaa7d56c478f")
    body = response.json()
    assert response.status_code == 200, body
    assert body["source"] == "tempo" and len(body["spans"]) == 28  # the recorded trace
    assert {"checkout", "frontend"} <= {span["service"] for span in body["spans"]}
    addresses = [s["attributes"].get("client.address") for s in body["spans"]]
    assert all(value in (None, "[REDACTED]") for value in addresses)
