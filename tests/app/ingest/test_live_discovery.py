"""Spans pushed to the receiver become patterns while the server runs.

Driven through FastAPI's real request handling and a real SQLite store: spans go in as
OTLP/HTTP, are folded into patterns, classified, and read back through the API.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.server import create_app
from app.auth.tokens import Role, TokenStore, auth_store_path
from app.discovery.normalize import normalize
from app.discovery.run import DiscoveryRun, sample_batches
from app.discovery.store import PatternStore
from app.ingest.live_discovery import LiveDiscovery
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings
from app.tenancy import tenant_store_path
from connectors.otlp import encode_otlp_json
from connectors.spans import Span

SEED, TRACES = 11, 150
JSON = {"content-type": "application/json"}


def sample_spans() -> list[Span]:
    return [span for batch in sample_batches(SEED, TRACES) for span in batch]


@pytest.fixture(scope="module")
def spans() -> list[Span]:
    return sample_spans()


def served(data_dir: Path, **options: Any) -> tuple[TestClient, LiveDiscovery]:
    settings = Settings(data_dir=data_dir, **options)
    live = LiveDiscovery(settings, embed=False)
    summary = IngestSummary()
    app = create_app(settings, SpanPipeline([summary]), summary, live=live)
    return TestClient(app), live


def push(client: TestClient, spans: list[Span], per_request: int = 500, **headers: str) -> None:
    for start in range(0, len(spans), per_request):
        body = encode_otlp_json(spans[start : start + per_request])
        answer = client.post("/v1/traces", content=body, headers={**JSON, **headers})
        assert answer.status_code == 200, answer.text


def counts_by_operation(path: Path) -> Counter[tuple[str, str, str]]:
    store = PatternStore(path)
    try:
        return Counter(
            {
                (p.service, p.span_kind, p.operation): p.stats.count
                for p in store.load(timelines=False)
                if p.merged_into is None and p.stats.count
            }
        )
    finally:
        store.close()


def edges_by_operation(path: Path) -> dict[tuple[str, str, str], tuple[int, int]]:
    """Calls to and from each pattern, as stored."""
    store = PatternStore(path)
    try:
        return {
            (p.service, p.span_kind, p.operation): (
                sum(p.parents.values()),
                sum(p.children.values()),
            )
            for p in store.load(timelines=False)
            if p.merged_into is None and p.stats.count
        }
    finally:
        store.close()


def discovered_once(path: Path, spans: list[Span]) -> Path:
    """The store of one discovery run over ``spans``, to hold folds against."""
    run = DiscoveryRun(PatternStore(path), normalize)
    run.accept(spans)
    run.finish()
    run.store.close()
    return path


@pytest.fixture
def app_and_live(tmp_path: Path) -> Iterator[tuple[TestClient, LiveDiscovery]]:
    client, live = served(tmp_path)
    with client:
        yield client, live
    live.close()


def test_pushed_spans_become_named_patterns(
    app_and_live: tuple[TestClient, LiveDiscovery], spans: list[Span]
) -> None:
    client, live = app_and_live
    push(client, spans)
    assert client.get("/api/patterns").json() == []  # nothing folded yet
    (report,) = live.fold()
    assert report.spans == len(spans) and report.new_patterns == report.patterns > 20
    assert report.classified

    rows = client.get("/api/patterns", params={"limit": 500}).json()
    assert len(rows) == report.patterns
    assert sum(row["count"] for row in rows) == len(spans)
    names = {row["name"] for row in rows}
    assert "http_server_frontend_get_products" in names  # classified, not provisional
    assert all(row.get("verdict") in ("keep", "noise") for row in rows)


def test_folds_add_up_to_one_run_over_the_same_spans(
    tmp_path: Path, app_and_live: tuple[TestClient, LiveDiscovery], spans: list[Span]
) -> None:
    client, live = app_and_live
    half = len(spans) // 2
    push(client, spans[:half])
    live.fold()
    push(client, spans[half:])
    live.fold()

    once = discovered_once(tmp_path / "once" / "patterns.sqlite", spans)
    stored = tenant_store_path(Settings(data_dir=tmp_path), "default")
    assert counts_by_operation(stored) == counts_by_operation(once)
    # Folds save only what changed; what they saved holds every edge one run finds too.
    assert edges_by_operation(stored) == edges_by_operation(once)


def test_a_merge_made_between_folds_is_not_undone(
    tmp_path: Path, app_and_live: tuple[TestClient, LiveDiscovery], spans: list[Span]
) -> None:
    client, live = app_and_live
    half = len(spans) // 2
    push(client, spans[:half])
    live.fold()
    rows = {row["name"]: row for row in client.get("/api/patterns", params={"limit": 500}).json()}
    source, target = "http_server_frontend_get_readyz", "http_server_frontend_get_healthz"
    merged = client.post(f"/api/patterns/{source}/merge", json={"into": target})
    assert merged.status_code == 201, merged.text

    push(client, spans[half:])
    live.fold()
    after = {row["name"]: row for row in client.get("/api/patterns", params={"limit": 500}).json()}
    assert source not in after  # still merged away
    probes = sum(
        1
        for span in spans
        if span.resource.get("service.name") == "frontend"
        and span.attributes.get("http.route") in ("/readyz", "/healthz")
    )
    assert after[target]["count"] == probes
    assert after[target]["count"] > rows[target]["count"]


def test_a_full_buffer_answers_503_and_keeps_what_it_took(
    tmp_path: Path, spans: list[Span]
) -> None:
    client, live = served(tmp_path, live_buffer_spans=300, live_discovery_s=7)
    with client:
        first = client.post("/v1/traces", content=encode_otlp_json(spans[:250]), headers=JSON)
        assert first.status_code == 200
        refused = client.post("/v1/traces", content=encode_otlp_json(spans[250:350]), headers=JSON)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "7"
        assert refused.json()["code"] == 14 and "retry later" in refused.json()["message"]
        # The summary counts what was taken, not what was refused (the exporter resends it).
        assert sum(s["spans"] for s in client.get("/api/ingest/summary").json()["services"]) == 250
        (report,) = live.fold()
        assert report.spans == 250
        again = client.post("/v1/traces", content=encode_otlp_json(spans[250:350]), headers=JSON)
        assert again.status_code == 200
    live.close()  # folds what is still waiting
    assert sum(counts_by_operation(tmp_path / "patterns.sqlite").values()) == 350


def test_an_ingest_token_pushes_into_its_own_tenant(tmp_path: Path, spans: list[Span]) -> None:
    tokens = TokenStore(auth_store_path(tmp_path))
    token = tokens.create("acme", Role.INGEST)[1]
    tokens.close()
    client, live = served(tmp_path, host="10.1.2.3")
    with client:
        push(client, spans[:400], Authorization=f"Bearer {token}")
    live.close()
    settings = Settings(data_dir=tmp_path)
    assert sum(counts_by_operation(tenant_store_path(settings, "acme")).values()) == 400
    assert not tenant_store_path(settings, "default").exists()


def test_folding_in_the_background(tmp_path: Path, spans: list[Span]) -> None:
    client, live = served(tmp_path, live_discovery_s=0.05)
    live.start()
    with client:
        push(client, spans[:300])
        for _ in range(200):
            if live.totals.spans == 300:
                break
            time.sleep(0.05)
        assert live.totals.spans == 300 and live.totals.problems == []
    live.close()


def test_a_fold_that_fails_keeps_its_spans_for_the_next(tmp_path: Path, spans: list[Span]) -> None:
    client, live = served(tmp_path)
    with client:
        push(client, spans[:300])
        live.fold()
        push(client, spans[300:600])
        blocker = sqlite3.connect(tmp_path / "patterns.sqlite", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the store
        try:
            assert live.fold() == []
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert live.buffered == 300 and "kept for the next fold" in live.totals.problems[-1]
        (report,) = live.fold()
        assert report.spans == 300
    live.close()
    assert sum(counts_by_operation(tmp_path / "patterns.sqlite").values()) == 600


def test_patterns_another_process_saved_between_folds_are_kept(
    tmp_path: Path, app_and_live: tuple[TestClient, LiveDiscovery], spans: list[Span]
) -> None:
    client, live = app_and_live
    third = len(spans) // 3
    push(client, spans[:third])
    live.fold()
    path = tmp_path / "patterns.sqlite"
    other = DiscoveryRun(PatternStore(path), normalize)  # `spanwise discover` elsewhere
    other.accept(spans[third : 2 * third])
    other.finish()
    other.store.close()
    push(client, spans[2 * third :])
    live.fold()

    once = discovered_once(tmp_path / "once" / "patterns.sqlite", spans)
    assert counts_by_operation(path) == counts_by_operation(once)


def test_a_split_names_the_pushed_spans_it_cannot_replay(
    app_and_live: tuple[TestClient, LiveDiscovery], spans: list[Span]
) -> None:
    client, live = app_and_live
    half = len(spans) // 2
    for part in (spans[:half], spans[half:]):  # a pattern is profiled from its 20th span on
        push(client, part)
        live.fold()
    url = "/api/patterns/http_server_frontend_get_products/split"
    one_value = client.post(url, json={"by": "url.scheme"})
    assert one_value.status_code == 400  # known from the attribute profile, pushed or not
    assert (
        "spans have url.scheme=https: a split would only rename it" in (one_value.json()["detail"])
    )
    refused = client.post(url, json={"by": "user_agent.original"})
    assert refused.status_code == 400  # their statistics would be gone for good
    assert "spans pushed to the receiver" in refused.json()["detail"]
    answer = client.post(url, json={"by": "user_agent.original", "force": True})
    assert answer.status_code == 201, answer.text
    assert answer.json()["not_replayed"] == ["spans pushed to the receiver"]


def test_a_batch_sent_again_is_counted_once(
    tmp_path: Path, app_and_live: tuple[TestClient, LiveDiscovery], spans: list[Span]
) -> None:
    client, live = app_and_live
    for _ in range(3):  # an exporter that did not get the answer sends the batch again
        push(client, spans[:200])
    live.fold()
    assert sum(counts_by_operation(tmp_path / "patterns.sqlite").values()) == 200
