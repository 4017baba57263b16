""" "Compare A and B": one table of the same numbers, and the differences that matter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.chat.service import ChatService
from app.classify.run import classify_patterns, live_patterns
from app.discovery.patterns import SpanPattern
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.facts.units import ms_text
from app.sample import faults_by_name

NOW = 1_796_680_800


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compare") / "patterns.sqlite"
    store = PatternStore(path)
    discover_sample(store, 5, 800, faults_by_name(["provider_5xx_burst"]))
    classify_patterns(store)
    store.close()
    return path


@pytest.fixture
def service(path: Path) -> Iterator[ChatService]:
    store = PatternStore(path)
    yield ChatService(store, clock=lambda: NOW)
    store.close()


def _patterns(path: Path) -> dict[str, SpanPattern]:
    store = PatternStore(path)
    try:
        return {p.name: p for p in live_patterns(store.load())}
    finally:
        store.close()


def test_two_patterns_compared_are_one_table_with_what_differs(
    path: Path, service: ChatService
) -> None:
    patterns = _patterns(path)
    failing = patterns["http_call_stripe_post_charges"]
    quick = min(
        (p for p in patterns.values() if p.stats.count > 100 and not p.stats.error_count),
        key=lambda p: p.stats.quantile_ms(0.99),
    )
    answer = service.ask(f"compare @{failing.name} and @{quick.name}")
    table = answer.facts[0]
    assert table["kind"] == "comparison" and table["over"] == "all spans seen"
    rows = {row["name"]: row for row in table["patterns"]}
    assert rows[failing.name]["spans"] == failing.stats.count
    assert rows[failing.name]["errors"] == failing.stats.error_count > 0
    assert rows[quick.name]["errors"] == 0
    lines = answer.answer.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("pattern "))
    assert lines[header + 1].startswith(f"@{failing.name} ")
    assert lines[header + 2].startswith(f"@{quick.name} ")
    assert lines[header + 1].split()[2] == f"{failing.stats.count:,}"
    assert f"@{failing.name} fails on {failing.stats.error_rate:.2%}" in answer.answer
    p99_ratio = failing.stats.quantile_ms(0.99) / quick.stats.quantile_ms(0.99)
    assert p99_ratio >= 2
    assert f"@{failing.name}'s p99" in answer.answer
    # one table, not two summaries: no pattern's own headline
    assert f"@{failing.name}: " not in answer.answer
    assert [f["name"] for f in answer.facts[1:]] == [failing.name, quick.name]


def test_without_asking_to_compare_two_mentions_get_their_own_answers(
    path: Path, service: ChatService
) -> None:
    question = "@http_call_stripe_post_charges @http_server_payment_post_payments errors?"
    answer = service.ask(question)
    assert all(document.get("kind") != "comparison" for document in answer.facts)
    assert "@http_call_stripe_post_charges: " in answer.answer


def test_compared_in_a_window_the_table_holds_the_windows_numbers(
    path: Path, service: ChatService
) -> None:
    patterns = _patterns(path)
    names = ["http_call_stripe_post_charges", "http_server_payment_post_payments"]
    answer = service.ask(f"@{names[0]} vs @{names[1]} between 15:19 and 15:22")
    table = answer.facts[0]
    assert table["over"] == "the window asked"
    by_name = {document["name"]: document for document in answer.facts[1:]}
    for row in table["patterns"]:
        in_window = by_name[row["name"]]["window"]["in_window"]
        assert row["spans"] == in_window["spans"] < patterns[row["name"]].stats.count
        assert ms_text(row["latency_ms"]["p99"]) in answer.answer
