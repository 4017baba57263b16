"""Live facts from Tempo's TraceQL metrics, against responses recorded from Tempo 2.10.8."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from app.chat.service import ChatService
from app.classify.run import classify_patterns, live_patterns
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.facts.live import live_source
from app.settings import Settings

TEMPO_URL = "http://tempo.test:3200"
NOW = 1796680800  # 2026-12-07 22:00 UTC
FIXTURES = Path(__file__).parents[2] / "fixtures" / "tempo" / "2.10.8"


def recorded(name: str) -> dict[str, object]:
    return json.loads((FIXTURES / name).read_text())


def tempo_metrics(router: respx.MockRouter, errors: bool = True) -> list[str]:
    """Answer instant queries as Tempo did: a rate, a rate of errors, duration quantiles.

    The bodies are the recorded ones, cut to one series (the pattern's queries have no
    ``by``): the service rate of checkout, and the p99 series of one route.
    """
    asked: list[str] = []
    rate = recorded("metrics_query_instant_rate_by_service.json")
    quantiles = recorded("metrics_query_instant_p99_by_name.json")

    def answer(request: httpx.Request) -> httpx.Response:
        query = parse_qs(urlsplit(str(request.url)).query)["q"][0]
        asked.append(query)
        if "quantile_over_time" in query:
            return httpx.Response(200, json={**quantiles, "series": quantiles["series"][:1]})  # type: ignore[index]
        if "status = error" in query and not errors:
            return httpx.Response(200, json={"series": [], "metrics": {}})
        return httpx.Response(200, json={**rate, "series": rate["series"][1:2]})  # type: ignore[index]

    router.get(f"{TEMPO_URL}/api/metrics/query").mock(side_effect=answer)
    return asked


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("live")
    store = PatternStore(data_dir / "patterns.sqlite")
    discover_sample(store, 3, 200)
    classify_patterns(store)
    store.close()
    return data_dir


def test_answers_add_tempo_numbers_for_the_window(
    data_dir: Path, no_network: respx.MockRouter
) -> None:
    asked = tempo_metrics(no_network, errors=False)
    settings = Settings(data_dir=data_dir, tempo_url=TEMPO_URL, chat_window_s=3600)
    store = PatternStore(data_dir / "patterns.sqlite")
    target = next(p for p in live_patterns(store.load()) if p.service == "checkout")
    service = ChatService(store, live=live_source(settings), clock=lambda: NOW)
    answer = service.ask(f"@{target.name} how busy?")
    live = answer.facts[0]["live"]
    assert live["rate_per_s"] == pytest.approx(1.1005747126436782)  # checkout's recorded rate
    assert live["error_rate"] == 0.0 or live["error_rate"] is None
    assert live["latency_ms"] == {"p99": pytest.approx(16.777, abs=0.001)}
    assert (live["start_unix_s"], live["end_unix_s"]) == (NOW - 3600, NOW)
    assert (
        "Live from Tempo over 2026-12-07 21:00–22:00 UTC (all spans): 3,962 spans/h"
        in answer.answer
    )
    assert len(asked) == 3 and all('resource.service.name = "checkout"' in q for q in asked)
    assert any(q.endswith("| rate()") and "status = error" in q for q in asked)


def test_a_tempo_that_fails_leaves_the_stored_facts(
    data_dir: Path, no_network: respx.MockRouter
) -> None:
    no_network.get(f"{TEMPO_URL}/api/metrics/query").mock(
        return_value=httpx.Response(400, text="invalid TraceQL query: parse error")
    )
    settings = Settings(data_dir=data_dir, tempo_url=TEMPO_URL, tempo_max_retries=0)
    store = PatternStore(data_dir / "patterns.sqlite")
    target = live_patterns(store.load())[0]
    answer = ChatService(store, live=live_source(settings)).ask(f"@{target.name} how busy?")
    assert "error" in answer.facts[0]["live"]
    assert "Tempo could not give live numbers" in answer.answer
    assert "Latency over" in answer.answer or "spans from" in answer.answer


def test_a_window_in_the_question_is_the_window_tempo_is_asked_about(
    data_dir: Path, no_network: respx.MockRouter
) -> None:
    tempo_metrics(no_network, errors=False)
    settings = Settings(data_dir=data_dir, tempo_url=TEMPO_URL, chat_window_s=3600)
    store = PatternStore(data_dir / "patterns.sqlite")
    target = next(p for p in live_patterns(store.load()) if p.service == "checkout")
    service = ChatService(store, live=live_source(settings), clock=lambda: NOW)
    answer = service.ask(f"@{target.name} how busy was it in the last 5 minutes?")
    window = answer.window
    assert window is not None and window["asked"] == "in the last 5 minutes"
    assert window["end_unix_s"] - window["start_unix_s"] == 300
    live = answer.facts[0]["live"]
    assert (live["start_unix_s"], live["end_unix_s"]) == (
        window["start_unix_s"],
        window["end_unix_s"],
    )
    sent = [parse_qs(urlsplit(str(call.request.url)).query) for call in no_network.calls]
    assert {(q["start"][0], q["end"][0]) for q in sent} == {
        (str(window["start_unix_s"]), str(window["end_unix_s"]))
    }
