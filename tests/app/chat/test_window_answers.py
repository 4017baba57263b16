"""Answers about a time window, on spans of a system this project did not write: three hours
of traffic ending at an odd second, nine days before the wall clock; its timelines have
two-minute buckets. The window's numbers are checked against the spans themselves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.chat.service import ChatAnswer, ChatService
from app.classify.run import live_patterns
from app.discovery.normalize import normalize
from app.discovery.patterns import SpanPattern
from app.discovery.run import DiscoveryRun
from app.discovery.store import PatternStore
from app.sample.unfamiliar.generator import UnfamiliarConfig, generate_traces
from connectors.spans import Span
from tests.pattern_spans import spans_of

END_S = 1_791_016_823  # 2026-10-03 08:40:23 UTC: early in its two-minute bucket
SPREAD_S = 3 * 3600
NOW = END_S + 9 * 86_400 + 4_321


@dataclass(frozen=True)
class World:
    path: Path
    spans: list[Span]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    path = tmp_path_factory.mktemp("windows") / "patterns.sqlite"
    store = PatternStore(path)
    run = DiscoveryRun(store, normalize)
    config = UnfamiliarConfig(
        seed=11, traces=3000, end_time_unix_nano=END_S * 10**9, spread_s=SPREAD_S
    )
    spans = [span for trace in generate_traces(config) for span in trace.spans]
    for start in range(0, len(spans), 5000):
        run.accept(spans[start : start + 5000])
    run.finish()
    store.close()
    return World(path, spans)


@pytest.fixture
def service(world: World) -> Iterator[ChatService]:
    store = PatternStore(world.path)
    yield ChatService(store, clock=lambda: NOW)
    store.close()


def _busiest(world: World) -> SpanPattern:
    store = PatternStore(world.path)
    try:
        return max(live_patterns(store.load()), key=lambda p: (p.stats.count, -p.id))
    finally:
        store.close()


def _clock(unix_s: int) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%H:%M")


def _window_of(answer: ChatAnswer) -> dict[str, dict[str, int]]:
    assert answer.facts, answer.answer
    window = answer.facts[0]["window"]
    assert isinstance(window, dict)
    return window


def test_a_window_of_clock_times_moves_to_the_latest_day_with_spans_and_counts_them_all(
    world: World, service: ChatService
) -> None:
    pattern = _busiest(world)
    start_s = END_S - 100 * 60
    question = f"@{pattern.name} how was it between {_clock(start_s)} and {_clock(start_s + 1800)}?"
    answer = service.ask(question)
    day = datetime.fromtimestamp(END_S, UTC).strftime("%Y-%m-%d")
    assert answer.window is not None
    assert f"The latest day with spans at those times is {day}" in answer.answer
    assert answer.answer.startswith("Window: ")
    asked = start_s - start_s % 60
    assert (answer.window["start_unix_s"], answer.window["end_unix_s"]) == (asked, asked + 1800)
    numbers = _window_of(answer)["in_window"]
    truth = spans_of(pattern, world.spans, numbers["start_unix_s"], numbers["end_unix_s"])
    assert numbers["spans"] == len(truth) > 0
    assert numbers["errors"] == sum(span.is_error for span in truth)
    durations = sorted(span.duration_ms for span in truth)
    exact_p95 = durations[int(0.95 * (len(durations) - 1))]
    latency = numbers["latency_ms"]
    assert isinstance(latency, dict)
    assert latency["p95"] == pytest.approx(exact_p95, rel=0.011)
    # two-minute buckets: the window is read at their edges, and the answer says how
    assert numbers["end_unix_s"] - numbers["start_unix_s"] == 1800
    assert numbers["start_unix_s"] % 120 == 0


def test_windows_side_by_side_count_every_span_once(world: World, service: ChatService) -> None:
    pattern = _busiest(world)
    first, last = END_S - SPREAD_S - 60, END_S + 60
    middle = first + (last - first) // 3
    iso = "%Y-%m-%dT%H:%M:%SZ"

    def spans_between(start: int, end: int) -> int:
        start_text = datetime.fromtimestamp(start, UTC).strftime(iso)
        end_text = datetime.fromtimestamp(end, UTC).strftime(iso)
        answer = service.ask(f"@{pattern.name} from {start_text} to {end_text}")
        return _window_of(answer)["in_window"]["spans"]

    assert spans_between(first, middle) + spans_between(middle, last) == pattern.stats.count


def test_a_relative_window_after_the_newest_span_moves_to_the_newest_stretch_and_says_so(
    world: World, service: ChatService
) -> None:
    pattern = _busiest(world)
    answer = service.ask(f"@{pattern.name} what happened in the last 30 minutes?")
    assert answer.window is not None
    newest = max(span.start_unix_nano for span in world.spans) // 10**9
    assert answer.window["end_unix_s"] - answer.window["start_unix_s"] == 1800
    assert answer.window["end_unix_s"] >= newest
    assert "The newest span seen is from" in answer.answer
    assert "9 days before" in answer.answer or "9.1 days before" in answer.answer
    assert "newest 30 minutes with spans" in answer.answer
    # the newest bucket counts whole, though its middle may lie past the window's end
    numbers = _window_of(answer)["in_window"]
    assert numbers["spans"] == len(spans_of(pattern, world.spans, numbers["start_unix_s"], NOW))


def test_yesterday_is_the_whole_day_before_the_clocks(world: World, tmp_path: Path) -> None:
    store = PatternStore(world.path)
    midnight_after = END_S - END_S % 86_400 + 86_400
    service = ChatService(store, clock=lambda: midnight_after + 3600)
    pattern = _busiest(world)
    answer = service.ask(f"@{pattern.name} how busy was it yesterday?")
    assert answer.window is not None
    assert answer.window["end_unix_s"] - answer.window["start_unix_s"] == 86_400
    assert "–24:00 UTC" in answer.answer.splitlines()[0]
    numbers = _window_of(answer)["in_window"]
    truth = spans_of(pattern, world.spans, midnight_after - 86_400, midnight_after)
    assert numbers["spans"] == len(truth)


def test_every_answer_states_its_window(world: World, service: ChatService) -> None:
    pattern = _busiest(world)
    answer = service.ask(f"@{pattern.name} why is this slow?")
    first = datetime.fromtimestamp(min(s.start_unix_nano for s in world.spans) // 10**9, UTC)
    assert answer.answer.startswith(f"Window: all spans seen, {first:%Y-%m-%d %H:%M}")
    assert answer.window is not None and answer.window["asked"] is None
    assert "window" not in answer.facts[0]


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("@{name} between 08:22 and 08:18", "ends before it starts"),
        ("@{name} from 2027-01-01T10:00Z to 2027-01-01T11:00Z", "in the future"),
        ("what changed since the deploy?", "cannot tell when"),
    ],
)
def test_a_window_that_cannot_be_answered_says_why_and_nothing_else(
    world: World, service: ChatService, question: str, said: str
) -> None:
    answer = service.ask(question.format(name=_busiest(world).name))
    assert said in answer.answer
    assert answer.facts == [] and answer.window is None
