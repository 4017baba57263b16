"""Limits: big bodies 413, too many questions 429 with Retry-After, model calls capped."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from app.api.limits import TokenBuckets
from app.api.server import create_app
from app.classify.run import classify_patterns
from app.discovery.normalize import normalize
from app.discovery.run import DiscoveryRun, pattern_store_path, sample_batches, sample_source
from app.discovery.store import PatternStore
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.model_gate import ModelGate, Overloaded
from app.settings import Settings
from tests.openai_replies import chat_completion

MODEL = "http://model.test/v1"


def build(data_dir: Path, **settings: Any) -> TestClient:
    summary = IngestSummary()
    options: dict[str, Any] = {"data_dir": data_dir, **settings}
    return TestClient(create_app(Settings(**options), SpanPipeline([summary]), summary))


def test_a_body_over_the_limit_is_413_whether_announced_or_streamed(tmp_path: Path) -> None:
    with build(tmp_path, api_max_body_bytes=2048) as client:
        big = {"question": "x" * 3000}
        answer = client.post("/api/chat", json=big)
        assert answer.status_code == 413 and "2,048 bytes" in answer.json()["detail"]

        def chunks() -> Any:  # no Content-Length: counted while it streams in
            for _ in range(4):
                yield b"x" * 1024

        streamed = client.post(
            "/api/chat", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert client.post("/api/chat", json={"question": "hello"}).status_code == 200


def test_questions_beyond_the_rate_are_429_with_retry_after(tmp_path: Path) -> None:
    with build(tmp_path, chat_requests_per_minute=3) as client:
        codes = [client.post("/api/chat", json={"question": "hi"}).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        refused = client.post("/api/chat", json={"question": "hi"})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 20
        assert client.get("/api/patterns").status_code == 200  # browsing is not limited


def test_buckets_refill_evenly_and_keep_callers_apart() -> None:
    buckets = TokenBuckets(rate=2, per_s=60.0)
    assert buckets.take("a", now=0.0) == 0 and buckets.take("a", now=0.0) == 0
    assert buckets.take("a", now=0.0) == pytest.approx(30.0)
    assert buckets.take("b", now=0.0) == 0  # another caller has its own bucket
    assert buckets.take("a", now=30.0) == 0  # one question back after 30 s


def test_the_gate_lets_some_run_some_wait_and_refuses_the_rest() -> None:
    gate = ModelGate(concurrency=1, queue=1, wait_s=0.2)
    with gate.slot():
        finished: list[str] = []

        def waiter() -> None:
            try:
                with gate.slot():
                    finished.append("ran")
            except Overloaded:
                finished.append("refused")

        thread = threading.Thread(target=waiter)
        thread.start()
        while gate.admitted < 2:
            pass
        with pytest.raises(Overloaded) as refused, gate.slot():
            pass
        assert refused.value.retry_after_s >= 1
        thread.join()
        assert finished == ["refused"]  # it waited 0.2 s for the one slot, then gave up
    with gate.slot():
        assert gate.admitted == 1
    assert gate.admitted == 0


@pytest.fixture
def classified(tmp_path: Path) -> str:
    store = PatternStore(pattern_store_path(tmp_path))
    run = DiscoveryRun(store, normalize, source=sample_source(3, 100))
    for batch in sample_batches(3, 100):
        run.accept(batch)
    run.finish()
    classify_patterns(store)
    name = max((p for p in store.load() if p.stats.count), key=lambda p: p.stats.count).name
    store.close()
    return name


def test_model_calls_over_the_cap_answer_429_not_a_hang(
    tmp_path: Path, classified: str, no_network: respx.MockRouter
) -> None:
    release = threading.Event()
    arrived = threading.Event()

    def slow_model(request: httpx.Request) -> httpx.Response:
        arrived.set()
        release.wait(10)
        return chat_completion("It is fine.", prompt_tokens=10, completion_tokens=3, model="m")

    no_network.post(f"{MODEL}/chat/completions").mock(side_effect=slow_model)
    settings = {"model_base_url": MODEL, "model_max_concurrency": 1, "model_max_queue": 0}
    with build(tmp_path, **settings) as client:
        first: list[httpx.Response] = []
        question = {"question": f"@{classified} how is it?"}
        thread = threading.Thread(
            target=lambda: first.append(client.post("/api/chat", json=question))
        )
        thread.start()
        assert arrived.wait(10)
        refused = client.post("/api/chat", json=question)
        release.set()
        thread.join()
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "busy" in refused.json()["detail"]
    assert first[0].status_code == 200 and first[0].json()["mode"] == "model"
