"""A chat turn end to end, offline: mentions, conversation memory, facts, citations, surfaces."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.api.server import create_app
from app.chat.index import retriever
from app.chat.service import ChatService
from app.classify.run import classify_patterns, live_patterns
from app.classify.store import ClassificationStore
from app.cli.main import cli
from app.discovery.patterns import SpanPattern
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.sample import faults_by_name
from app.settings import Settings

FAULTS = faults_by_name(["slow_query"])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("chat")
    store = PatternStore(data_dir / "patterns.sqlite")
    discover_sample(store, 42, 1200, FAULTS)
    classify_patterns(store)
    store.close()
    return data_dir


@pytest.fixture
def store(data_dir: Path) -> PatternStore:
    return PatternStore(data_dir / "patterns.sqlite")


def named(store: PatternStore, service: str, part: str) -> SpanPattern:
    return next(
        p for p in live_patterns(store.load()) if p.service == service and part in p.operation
    )


def test_why_is_this_slow_names_the_slow_period_and_cites_the_pattern(store: PatternStore) -> None:
    query = named(store, "inventory", "WHERE category_id = ?")
    answer = ChatService(store).ask(f"@{query.name} why is this slow?")
    assert answer.mode == "offline"
    assert answer.mentions == [
        {"mention": f"@{query.name}", "kind": "exact", "pattern": query.name}
    ]
    assert "Slow from" in answer.answer and "its own time" in answer.answer
    assert [c["pattern"] for c in answer.citations] == [query.name]
    assert 'resource.service.name = "inventory"' in answer.citations[0]["traceql"]
    assert answer.citations[0]["trace_ids"]
    assert answer.facts[0]["slow_periods"][0]["factor"] > 10


def test_an_unknown_mention_gets_suggestions_and_no_facts(store: PatternStore) -> None:
    answer = ChatService(store).ask("@postgres_query_delete_everything why is this slow?")
    assert answer.facts == [] and answer.citations == []
    assert answer.mentions[0]["kind"] in ("unknown", "ambiguous")
    assert "I know no pattern named" in answer.answer


def test_a_typo_and_an_old_name_still_find_the_pattern(store: PatternStore) -> None:
    query = named(store, "inventory", "WHERE category_id = ?")
    typo = query.name.replace("select", "selcet")
    answer = ChatService(store).ask(f"@{typo} error rate?")
    assert answer.mentions[0]["kind"] == "fuzzy" and answer.mentions[0]["pattern"] == query.name

    server = named(store, "checkout", "POST /v1/checkout")
    old = server.name
    ClassificationStore(store).correct(
        server, "name", "checkout_place_order", reason="", author="t"
    )
    answer = ChatService(store).ask(f"how busy is @{old}?")
    assert answer.mentions[0] == {
        "mention": f"@{old}",
        "kind": "alias",
        "pattern": "checkout_place_order",
    }
    assert answer.citations[0]["pattern"] == "checkout_place_order"


def test_a_follow_up_question_is_about_the_same_pattern(store: PatternStore) -> None:
    service = ChatService(store)
    stripe = named(store, "payment", "api.stripe.com /v1/charges")
    first = service.ask(f"@{stripe.name} how slow is it?")
    follow = service.ask("and its error rate?", first.conversation_id)
    assert [c["pattern"] for c in follow.citations] == [stripe.name]
    assert "Errors:" in follow.answer or "No errors" in follow.answer
    fresh = service.ask("and its error rate?")
    assert fresh.citations == []  # a new conversation has nothing to refer to


def test_emails_slack_users_and_code_are_not_mentions(store: PatternStore) -> None:
    answer = ChatService(store).ask(
        "ask ana@example.com or <@U123ABC> about `@foo`: is inventory slow?"
    )
    assert answer.mentions == []
    assert answer.citations and all(c["service"] == "inventory" for c in answer.citations)


def test_the_api_and_its_stream_answer_the_same(data_dir: Path) -> None:
    app = create_app(Settings(data_dir=data_dir), SpanPipeline([]), IngestSummary())
    client = TestClient(app)
    body = client.post("/api/chat", json={"question": "why is inventory slow?"}).json()
    assert body["mode"] == "offline" and body["citations"] and body["conversation_id"]
    follow = client.post(
        "/api/chat",
        json={"question": "and what calls it?", "conversation_id": body["conversation_id"]},
    ).json()
    assert [c["pattern"] for c in follow["citations"]] == [c["pattern"] for c in body["citations"]]
    assert client.post("/api/chat", json={"question": ""}).status_code == 422
    # JSON sent without its content type (curl -d): told what to send, not a schema dump
    plain = client.post("/api/chat", content=b'{"question": "hi"}')
    assert plain.status_code == 415
    assert "Content-Type: application/json" in plain.json()["detail"]

    with client.stream(
        "POST", "/api/chat/stream", json={"question": "why is inventory slow?"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    events = [block for block in text.split("\n\n") if block]
    assert events[0].startswith("event: answer") and events[-1].startswith("event: done")
    done = json.loads(events[-1].split("data: ", 1)[1])
    assert done["answer"] == body["answer"]


def test_the_cli_answers_once_and_as_json(data_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["--data-dir", str(data_dir), "chat", "is inventory slow?"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "resource.service.name" in result.output
    result = runner.invoke(
        cli, ["--data-dir", str(data_dir), "chat", "is inventory slow?", "--json"]
    )
    assert json.loads(result.output)["citations"]
    result = runner.invoke(
        cli, ["--data-dir", str(data_dir), "chat"], input="is inventory slow?\nexit\n"
    )
    assert result.exit_code == 0 and "Latency" in result.output


def test_with_a_grafana_url_each_citation_opens_in_explore(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, grafana_url="https://grafana.example.com/")
    app = create_app(settings, SpanPipeline([]), IngestSummary())
    body = TestClient(app).post("/api/chat", json={"question": "is inventory slow?"}).json()
    link = body["citations"][0]["grafana_url"]
    assert link.startswith("https://grafana.example.com/explore?schemaVersion=1&panes=")
    panes = json.loads(parse_qs(urlsplit(link).query)["panes"][0])
    query = next(iter(panes.values()))["queries"][0]
    assert query["query"] == body["citations"][0]["traceql"]
    assert query["datasource"] == {"type": "tempo", "uid": "tempo"}


def test_a_question_naming_no_pattern_or_service_is_answered_by_meaning(
    data_dir: Path, store: PatternStore
) -> None:
    asked: list[str] = []
    search = retriever(Settings(data_dir=data_dir), store)

    def retrieve(text: str, n: int, max_distance: float = 2.0) -> list[int]:
        asked.append(text)
        return search(text, n, max_distance)

    service = ChatService(store, retrieve=retrieve)
    answer = service.ask("money movement with the card processor")
    assert asked == ["money movement with the card processor"]
    assert answer.citations and any(c["service"] == "payment" for c in answer.citations)
    service.ask("is inventory slow?")  # the words find it: no search by meaning
    assert len(asked) == 1


def test_an_unknown_mention_is_given_suggestions_by_meaning_but_no_answer(
    data_dir: Path, store: PatternStore
) -> None:
    service = ChatService(store, retrieve=retriever(Settings(data_dir=data_dir), store))
    answer = service.ask("@card_processor_payments why is this slow?")
    assert answer.facts == [] and answer.citations == []
    suggestions = answer.mentions[0]["suggestions"]
    assert suggestions and any("payment" in name or "stripe" in name for name in suggestions)
    assert "Did you mean" in answer.answer


def test_a_mention_like_nothing_gets_no_suggestion_rather_than_unrelated_ones(
    data_dir: Path, store: PatternStore
) -> None:
    service = ChatService(store, retrieve=retriever(Settings(data_dir=data_dir), store))
    answer = service.ask("@nope_nope how many spans?")
    assert answer.mentions[0]["suggestions"] == []
    assert "I know no pattern named @nope_nope" in answer.answer


def test_back_to_the_first_one_means_the_first_pattern_asked_about(store: PatternStore) -> None:
    service = ChatService(store)
    query = named(store, "inventory", "WHERE category_id = ?")
    page = named(store, "frontend", "GET /products")
    first = service.ask(f"@{query.name} what is its p99?")
    service.ask(f"and @{page.name}?", first.conversation_id)
    back = service.ask("back to the first one: what calls it?", first.conversation_id)
    assert [c["pattern"] for c in back.citations] == [query.name]
    assert "Called by inventory" in back.answer


def test_what_made_that_slow_goes_down_to_the_pattern_that_spent_the_time(
    store: PatternStore,
) -> None:
    service = ChatService(store)
    query = named(store, "inventory", "WHERE category_id = ?")
    page = named(store, "frontend", "GET /category")
    first = service.ask(f"why is @{page.name} slow?")
    follow = service.ask("and what made that slow?", first.conversation_id)
    assert [c["pattern"] for c in follow.citations] == [query.name]
    assert f"Down the call chain from @{page.name}" in follow.answer
    again = service.ask("and its error rate?", follow.conversation_id)
    assert [c["pattern"] for c in again.citations] == [query.name]


def test_that_query_is_the_one_the_last_answer_named(store: PatternStore) -> None:
    service = ChatService(store)
    query = named(store, "inventory", "WHERE category_id = ?")
    first = service.ask("why is inventory slow?")
    assert f"@{query.name}" in first.answer
    follow = service.ask("how many times did that query run?", first.conversation_id)
    assert [c["pattern"] for c in follow.citations] == [query.name]
    assert f"{query.stats.count:,} spans" in follow.answer


def test_a_ranking_question_answers_with_the_first_and_lists_the_runners_up(
    store: PatternStore,
) -> None:
    live = live_patterns(store.load())
    busiest = sorted(live, key=lambda p: (-p.stats.count, p.id))[:3]
    answer = ChatService(store).ask("which pattern is the busiest?")
    assert [c["pattern"] for c in answer.citations] == [busiest[0].name]
    window, ranking = answer.answer.split("\n\n")[:2]
    assert window.startswith("Window: all spans seen, ")
    assert ranking.startswith(f"Ranked by spans: 1. @{busiest[0].name}")
    assert all(f"@{p.name}" in ranking.split("\n")[0] for p in busiest)


def test_which_services_call_a_service_counts_every_one_of_its_patterns(
    store: PatternStore,
) -> None:
    live = live_patterns(store.load())
    by_id = {p.id: p for p in live}
    callers = {
        by_id[parent].service
        for p in live
        if p.service == "inventory"
        for parent in p.parents
        if parent in by_id and by_id[parent].service != "inventory"
    }
    assert len(callers) >= 2
    answer = ChatService(store).ask("which services call inventory?")
    line = next(x for x in answer.answer.split("\n") if x.startswith("Services that call"))
    assert all(f"{service} (" in line for service in callers)
