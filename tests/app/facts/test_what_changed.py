""" "What changed": on the sample system with a burst of provider errors, a deploy that
slows a route and a new health check starting mid-way, the changes are found and their
numbers are the spans' own; on steady traffic of a system this project did not write,
nothing is reported changed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.chat.service import ChatAnswer, ChatService
from app.classify.run import classify_patterns, live_patterns
from app.discovery.normalize import normalize
from app.discovery.patterns import SpanPattern
from app.discovery.run import DiscoveryRun, sample_batches, sample_source
from app.discovery.store import PatternStore
from app.facts.activity import WindowNumbers
from app.facts.window_facts import changes
from app.sample import faults_by_name
from app.sample.unfamiliar.generator import UnfamiliarConfig, generate_traces
from connectors.spans import Span
from tests.pattern_spans import spans_of

FAULTS = faults_by_name(["provider_5xx_burst", "deploy_latency_shift", "noisy_health_check"])
NOW = 1_796_680_800  # 2026-12-07 22:00 UTC, two weeks after the sample's spans
BURST = "between 2026-11-21T15:19Z and 2026-11-21T15:22Z"
"""The burst runs from 15:19:15 to 15:21:30 (0.6 to 0.75 of the sample's 15 minutes); the
deploy and the health check start within it too."""


@dataclass(frozen=True)
class World:
    path: Path
    spans: list[Span]


def _discovered(
    path: Path, batches: Iterator[list[Span]], source: dict[str, object] | None = None
) -> World:
    store = PatternStore(path)
    run = DiscoveryRun(store, normalize, source=source)
    spans: list[Span] = []
    for batch in batches:
        spans.extend(batch)
        run.accept(batch)
    run.finish()
    classify_patterns(store)
    store.close()
    return World(path, spans)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> World:
    path = tmp_path_factory.mktemp("changed") / "patterns.sqlite"
    return _discovered(path, sample_batches(7, 3000, FAULTS), sample_source(7, 3000, FAULTS))


@pytest.fixture
def service(faulty: World) -> Iterator[ChatService]:
    store = PatternStore(faulty.path)
    yield ChatService(store, clock=lambda: NOW)
    store.close()


def _pattern(world: World, name: str) -> SpanPattern:
    store = PatternStore(world.path)
    try:
        return next(p for p in live_patterns(store.load()) if p.name == name)
    finally:
        store.close()


def _changed(answer: ChatAnswer) -> dict[str, dict]:
    document = answer.facts[0]
    assert document["kind"] == "what_changed"
    return {entry["name"]: entry for entry in document["changed"]}


def test_a_burst_of_errors_leads_and_its_counts_are_the_spans_own(
    faulty: World, service: ChatService
) -> None:
    answer = service.ask(f"what changed {BURST}?")
    changed = _changed(answer)
    first = next(iter(changed))
    assert first == "http_call_stripe_post_charges", answer.answer
    assert answer.answer.splitlines()[0] == "Window: 2026-11-21 15:19–15:22 UTC."
    assert "1. @http_call_stripe_post_charges (payment): error rate" in answer.answer
    pattern = _pattern(faulty, first)
    window = changed[first]["in_window"]
    before = changed[first]["window_before"]
    now_spans = spans_of(pattern, faulty.spans, window["start_unix_s"], window["end_unix_s"])
    before_spans = spans_of(pattern, faulty.spans, before["start_unix_s"], before["end_unix_s"])
    error_change = next(c for c in changed[first]["changes"] if c["measure"] == "error rate")
    assert error_change["errors_after"] == sum(s.is_error for s in now_spans)
    assert error_change["spans_after"] == len(now_spans)
    assert error_change["errors_before"] == sum(s.is_error for s in before_spans)
    assert error_change["spans_before"] == len(before_spans)
    assert answer.citations[0]["pattern"] == first


def test_a_deploy_that_slows_a_route_shows_as_its_p95(faulty: World, service: ChatService) -> None:
    name = "http_server_checkout_get_orders"
    across = service.ask(f"what changed {BURST}?")
    assert across.facts[0]["more_changed"] > 0  # past the eight listed
    answer = service.ask(f"@{name} what changed {BURST}?")
    facts = answer.facts[0]["window"]
    p95 = next(c for c in facts["changes"] if c["measure"] == "p95")
    assert "Changed: p95 " in answer.answer
    pattern = _pattern(faulty, name)
    window = facts["in_window"]
    durations = sorted(
        s.duration_ms
        for s in spans_of(pattern, faulty.spans, window["start_unix_s"], window["end_unix_s"])
    )
    assert p95["after"] == pytest.approx(durations[int(0.95 * (len(durations) - 1))], rel=0.011)
    assert p95["after"] >= 1.5 * p95["before"]


def test_noise_is_left_out_and_counted_unless_asked_for(
    faulty: World, service: ChatService
) -> None:
    plain = service.ask(f"what changed {BURST}?")
    assert plain.facts[0]["noise_left_out"] > 0
    assert 'ask with "including noise"' in plain.answer
    assert all(
        c["name"] != "http_server_frontend_get_api_healthz" for c in plain.facts[0]["changed"]
    )
    # what appeared is news though, listed apart
    assert "New in the window, judged noise: @http_server_frontend_get_api_healthz" in plain.answer
    noisy = service.ask(f"what changed {BURST}, including noise?")
    new = {entry["name"]: entry["spans"] for entry in noisy.facts[0]["new"]}
    healthz = _pattern(faulty, "http_server_frontend_get_api_healthz")
    window = noisy.window
    assert window is not None
    truth = spans_of(healthz, faulty.spans, window["start_unix_s"], window["end_unix_s"])
    assert new["http_server_frontend_get_api_healthz"] == len(truth) > 0
    assert "New in the window: " in noisy.answer


def test_once_the_burst_is_over_its_end_is_the_change(service: ChatService) -> None:
    answer = service.ask("what changed between 2026-11-21T15:22Z and 2026-11-21T15:25Z?")
    stripe = _changed(answer)["http_call_stripe_post_charges"]
    error_change = next(c for c in stripe["changes"] if c["measure"] == "error rate")
    assert error_change["after"] < error_change["before"]


@pytest.mark.parametrize("seed", [4, 19])
def test_steady_traffic_of_another_system_reports_no_change(tmp_path: Path, seed: int) -> None:
    end_s = 1_790_000_000
    config = UnfamiliarConfig(
        seed=seed, traces=4000, end_time_unix_nano=end_s * 10**9, spread_s=1800.0
    )

    def batches() -> Iterator[list[Span]]:
        batch: list[Span] = []
        for trace in generate_traces(config):
            batch.extend(trace.spans)
            if len(batch) >= 5000:
                yield batch
                batch = []
        yield batch

    world = _discovered(tmp_path / "patterns.sqlite", batches())
    store = PatternStore(world.path)
    service = ChatService(store, clock=lambda: end_s + 7 * 86_400)
    reported = []
    for minutes in (5, 10, 15):
        answer = service.ask(f"what changed in the last {minutes} minutes, including noise?")
        reported.extend(entry["name"] for entry in answer.facts[0]["changed"])
        assert answer.facts[0]["patterns_compared"] > 10
    store.close()
    assert reported == []


@pytest.mark.parametrize(
    ("before", "after", "measures"),
    [
        ((90, 3), (91, 7), []),  # 3.3% to 7.7% of about 90 calls: within chance
        ((46, 0), (41, 11), ["error rate"]),
        ((600, 0), (620, 0), []),
        ((300, 0), (800, 0), ["rate"]),
        ((30, 0), (42, 0), []),  # 1.4x: not enough of a change
    ],
)
def test_a_change_is_large_and_unlikely_by_chance(
    before: tuple[int, int], after: tuple[int, int], measures: list[str]
) -> None:
    found = changes(WindowNumbers(0, 600, *before), WindowNumbers(600, 1200, *after))
    assert sorted(change.measure for change in found) == sorted(measures)
