"""``GET /api/patterns`` filters: service, kind, verdict, words, and meaning."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.api.server import create_app
from app.classify.run import classify_patterns
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    data_dir = tmp_path_factory.mktemp("filters")
    store = PatternStore(data_dir / "patterns.sqlite")
    discover_sample(store, 6, 300)
    classify_patterns(store)
    store.close()
    return TestClient(create_app(Settings(data_dir=data_dir), SpanPipeline([]), IngestSummary()))


def test_kind_and_verdict_narrow_the_list_and_percentiles_are_there(client: TestClient) -> None:
    every = client.get("/api/patterns").json()
    servers = client.get("/api/patterns", params={"kind": "server"}).json()
    assert servers and {row["span_kind"] for row in servers} == {"server"}
    assert len(servers) < len(every)
    noise = client.get("/api/patterns", params={"verdict": "noise"}).json()
    assert noise and {row["verdict"] for row in noise} == {"noise"}
    assert all(row["p99_ms"] > 0 for row in every)
    assert client.get("/api/patterns", params={"verdict": "maybe"}).status_code == 422


def test_words_and_meaning_find_the_stripe_charge(client: TestClient) -> None:
    found = client.get("/api/patterns", params={"q": "stripe charges"}).json()
    assert "http_call_stripe_post_charges" in {row["name"] for row in found}
    for row in found:  # each names both words: in its name, operation or description
        text = f"{row['name']} {row['operation']} {row['description']}".lower()
        assert "stripe" in text and "charges" in text
    by_meaning = client.get(
        "/api/patterns", params={"q": "payment provider charges the card", "semantic": "true"}
    ).json()
    assert any("stripe" in row["name"] for row in by_meaning[:3])
