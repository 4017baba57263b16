"""``/healthz``, ``/readyz`` naming each dependency, and Prometheus metrics at ``/metrics``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import respx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.api.server import create_app
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings
from tests.openai_replies import chat_completion

TEMPO = "http://tempo.test:3200"
MODEL = "http://model.test/v1"


def build(data_dir: Path, **settings: Any) -> TestClient:
    summary = IngestSummary()
    return TestClient(
        create_app(Settings(data_dir=data_dir, **settings), SpanPipeline([summary]), summary)
    )


def samples(client: TestClient, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_healthz_answers_and_readyz_is_ready_offline(tmp_path: Path) -> None:
    with build(tmp_path) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks["store"]["ok"] and checks["chroma"]["ok"]
    assert checks["tempo"] == {"ok": False, "configured": False, "detail": "not configured"}
    assert checks["model"]["configured"] is False


def test_readyz_names_what_is_down(tmp_path: Path, no_network: respx.MockRouter) -> None:
    no_network.get(f"{TEMPO}/ready").mock(return_value=httpx.Response(503, text="Ingester 1/2"))
    no_network.get(f"{MODEL}/models").mock(return_value=httpx.Response(401, json={}))
    with build(tmp_path, tempo_url=TEMPO, model_base_url=MODEL) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["ready"] is False
    checks = ready.json()["checks"]
    assert checks["tempo"]["ok"] is False and "starting" in checks["tempo"]["detail"]
    assert checks["model"] == {
        "ok": False,
        "configured": True,
        "detail": "the endpoint refuses the API key",
    }
    assert checks["store"]["ok"] is True
    assert MODEL not in ready.text and TEMPO not in ready.text


def test_readyz_is_ready_when_tempo_and_model_answer(
    tmp_path: Path, no_network: respx.MockRouter
) -> None:
    no_network.get(f"{TEMPO}/ready").mock(return_value=httpx.Response(200, text="ready"))
    no_network.get(f"{MODEL}/models").mock(return_value=httpx.Response(200, json={"data": []}))
    with build(tmp_path, tempo_url=TEMPO, model_base_url=MODEL) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 200
    assert all(check["ok"] for check in ready.json()["checks"].values())


def test_requests_are_counted_by_route_template_not_raw_path(tmp_path: Path) -> None:
    with build(tmp_path) as client:
        before = samples(client, "spanwise_http_requests_total")
        for name in ("one", "two", "three"):
            assert client.get(f"/api/patterns/{name}").status_code == 404
        after = samples(client, "spanwise_http_requests_total")
    key = (("method", "GET"), ("route", "/api/patterns/{name}"), ("status", "404"))
    assert after[key] - before.get(key, 0.0) == 3
    assert not any("one" in str(labels) for labels in after)


def test_model_calls_tokens_and_cost_are_counted(
    tmp_path: Path, no_network: respx.MockRouter
) -> None:
    from app.chat.model_answer import answerer_from_settings

    no_network.post(f"{MODEL}/chat/completions").mock(
        return_value=chat_completion("Fine.", prompt_tokens=1000, completion_tokens=100, model="m")
    )
    settings = Settings(data_dir=tmp_path, model_base_url=MODEL)
    answerer = answerer_from_settings(settings)
    assert answerer is not None
    with build(tmp_path) as client:
        tokens_before = samples(client, "spanwise_model_tokens_total")
        cost_before = samples(client, "spanwise_model_cost_usd_total")
        answerer.answer("how is it?", [], [{"pattern": "x"}], [])
        tokens = samples(client, "spanwise_model_tokens_total")
        cost = samples(client, "spanwise_model_cost_usd_total")
    prompt = (("kind", "prompt"), ("purpose", "answer"))
    assert tokens[prompt] - tokens_before.get(prompt, 0.0) == 1000
    spent = cost[(("purpose", "answer"),)] - cost_before.get((("purpose", "answer"),), 0.0)
    assert abs(spent - (1000 * 0.15 + 100 * 0.60) / 1e6) < 1e-9
    assert json.loads(no_network.calls.last.request.content)["model"] == settings.model_name


def test_tempo_errors_are_counted_by_kind(tmp_path: Path, no_network: respx.MockRouter) -> None:
    import asyncio

    from app.factory import build_tempo_client
    from connectors.tempo_errors import TempoError

    no_network.get(f"{TEMPO}/api/echo").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "0"}), httpx.ConnectTimeout("x")]
    )
    settings = Settings(data_dir=tmp_path, tempo_url=TEMPO, tempo_max_retries=1)

    async def echo() -> None:
        async with build_tempo_client(settings) as client:
            await client.echo()

    with build(tmp_path) as client:
        before = samples(client, "spanwise_tempo_errors_total")
        try:
            asyncio.run(echo())
        except TempoError:
            pass
        after = samples(client, "spanwise_tempo_errors_total")
    for kind in ("http_429", "ConnectTimeout"):
        assert after[(("kind", kind),)] - before.get((("kind", kind),), 0.0) == 1


def test_chat_answers_are_counted_by_mode(tmp_path: Path) -> None:
    with build(tmp_path) as client:
        before = samples(client, "spanwise_chat_answers_total").get((("mode", "offline"),), 0.0)
        assert client.post("/api/chat", json={"question": "why is checkout slow?"}).status_code
        after = samples(client, "spanwise_chat_answers_total")[(("mode", "offline"),)]
    assert after - before == 1
