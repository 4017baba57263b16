"""Discovery on systems it never saw (``app.sample.unfamiliar``): the invariants hold.

The sample system was written beside the discovery code; these systems were not. Their ids
have shapes no rule knows (lower-case letters, base36, slugs, shards, nanoids, user names),
their services name things their own way and mix legacy and current conventions. On them:

- every span is its own pattern's, by that pattern's matchers, and no other's;
- no pattern holds spans of two true operations;
- every true operation with the spans the learned-variable thresholds ask for is one
  pattern (an operation with fewer may still be split: README, "Variables learned");
- matchers and queries stay short enough to read and to paste;
- time profiles account for every nanosecond of the calls they profiled, on children the
  pattern graph knows.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from app.discovery.cluster import PatternClusterer
from app.discovery.normalize import normalize
from app.discovery.patterns import SpanPattern
from app.discovery.traceql import traceql_for
from app.sample.unfamiliar import UnfamiliarConfig, generate_traces
from connectors.spans import Span

ENOUGH_SPANS = 300
"""An operation with this many spans has given every position of it the evidence
``app.discovery.variables`` asks for, whatever its siblings and id pools."""


Discovered = tuple[list[SpanPattern], dict[int, set[str]], set[str]]
"""The live patterns, the true operations of each one's spans, and the ids the spans held."""


def _discover(seed: int, traces: int) -> tuple[PatternClusterer, list[tuple[Span, str]], set[str]]:
    clusterer = PatternClusterer(normalize)
    labelled: list[tuple[Span, str]] = []
    ids: set[str] = set()
    batch: list[Span] = []
    for trace in generate_traces(UnfamiliarConfig(seed=seed, traces=traces)):
        batch.extend(trace.spans)
        labelled.extend((span, trace.truth[span.span_id]) for span in trace.spans)
        ids.update(value for values in trace.values.values() for value in values.values())
        if len(batch) >= 5000:
            clusterer.accept(batch)
            batch = []
    clusterer.accept(batch)
    clusterer.finish()
    return clusterer, labelled, ids


@pytest.fixture(scope="module", params=[3, 8], ids=lambda seed: f"seed {seed}")
def discovered(request: pytest.FixtureRequest) -> Discovered:
    clusterer, labelled, ids = _discover(request.param, 4000)
    live = [p for p in clusterer.patterns if p.merged_into is None and p.stats.count]
    by_scope: dict[tuple[str, str], list[SpanPattern]] = defaultdict(list)
    for pattern in live:
        by_scope[(pattern.service, pattern.span_kind)].append(pattern)
    labels: dict[int, set[str]] = defaultdict(set)
    unmatched: list[str] = []
    for span, label in labelled:
        matching = [p for p in by_scope[(span.service_name, span.kind.label)] if p.matches(span)]
        if len(matching) == 1:
            labels[matching[0].id].add(label)
        else:
            unmatched.append(f"{label}: {span.name} matches {[p.name for p in matching]}")
    assert not unmatched, f"{len(unmatched)} spans:\n" + "\n".join(unmatched[:10])
    spans_of = Counter(label for _, label in labelled)
    assert sum(p.stats.count for p in live) == sum(spans_of.values())
    return live, labels, ids


def test_no_pattern_holds_two_true_operations(discovered: Discovered) -> None:
    live, labels, _ = discovered
    mixed = {p.operation: sorted(labels[p.id]) for p in live if len(labels[p.id]) > 1}
    assert not mixed


def test_every_busy_true_operation_is_one_pattern(discovered: Discovered) -> None:
    live, labels, _ = discovered
    patterns_of: dict[str, list[SpanPattern]] = defaultdict(list)
    for pattern in live:
        for label in labels[pattern.id]:
            patterns_of[label].append(pattern)
    busy_and_split = {
        label: [p.operation for p in patterns][:5]
        for label, patterns in patterns_of.items()
        if len(patterns) > 1 and sum(p.stats.count for p in patterns) >= ENOUGH_SPANS
    }
    assert not busy_and_split
    # the quiet ones are few: the patterns number little more than the true operations
    assert len(live) <= 1.25 * len(patterns_of), (len(live), len(patterns_of))


def test_matchers_and_queries_stay_short(discovered: Discovered) -> None:
    live, _, _ = discovered
    assert max(len(m.match_value) for p in live for m in p.matchers) <= 300
    assert max(len(traceql_for(p)) for p in live) <= 1000


def test_names_of_busy_patterns_hold_no_id(discovered: Discovered) -> None:
    live, _, ids = discovered
    words = {value.lower().replace("-", "_").replace(".", "_") for value in ids if len(value) > 5}
    busy = [p for p in live if p.stats.count >= ENOUGH_SPANS]
    assert busy
    assert not [p.name for p in busy if any(word in p.name for word in words)]


def test_time_profiles_add_up_to_the_calls_they_profiled(discovered: Discovered) -> None:
    live, _, _ = discovered
    profiled = [p for p in live if p.stats.time_profile.spans]
    assert profiled
    for pattern in profiled:
        profile = pattern.stats.time_profile
        assert profile.spans <= pattern.stats.count, pattern.name
        for band in profile.bands:
            on_path = sum(child.path_ns for child in band.children.values())
            assert band.self_ns + on_path == band.total_ns, pattern.name
            assert set(band.children) <= set(pattern.children), pattern.name
