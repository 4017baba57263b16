"""Shared checks of the normalizer tests: a family's sample spans against the contract."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import msgspec
import pytest

from app.discovery.cluster import PatternClusterer
from app.discovery.operation import Operation
from app.sample import SampleConfig, generate_traces
from connectors.spans import Span

FamilyCheck = Callable[..., None]


@pytest.fixture
def check_family_on_sample() -> FamilyCheck:
    """Run one family's normalizer over the sample's spans of that family and check that
    (a) spans of one true operation share a key, (b) spans of different true operations in
    one service and kind do not, and (c) each key's matchers (as the clusterer keeps them:
    the first span's) match exactly that key's spans among the family's spans of the same
    service and kind."""

    def check(
        is_family: Callable[[Span], bool],
        normalizer: Callable[[Span], Operation | None],
        seed: int,
        faults: tuple,
    ) -> None:
        rows: list[tuple[Span, str, Operation]] = []
        for trace in generate_traces(SampleConfig(seed=seed, traces=1500, faults=faults)):
            for span in trace.spans:
                if is_family(span):
                    operation = normalizer(span)
                    assert operation is not None, span
                    rows.append((span, trace.truth[span.span_id], operation))
        assert rows
        keys_of_label: dict[str, set[str]] = defaultdict(set)
        labels_of_key: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        for span, label, operation in rows:
            keys_of_label[label].add(operation.key)
            labels_of_key[(span.service_name, span.kind.label, operation.key)].add(label)
        assert {label: keys for label, keys in keys_of_label.items() if len(keys) > 1} == {}
        assert {key: labels for key, labels in labels_of_key.items() if len(labels) > 1} == {}

        patterns: dict[tuple[str, str], dict[tuple, Operation]] = defaultdict(dict)
        for span, _, operation in rows:
            pattern_key = (operation.key, tuple(m.field_name for m in operation.matchers))
            patterns[(span.service_name, span.kind.label)].setdefault(pattern_key, operation)
        for span, _, operation in rows:
            for (key, _), pattern in patterns[(span.service_name, span.kind.label)].items():
                matches = all(m.matches(span) for m in pattern.matchers)
                assert matches == (key == operation.key), (span.attributes, key)

    return check


def assert_each_span_is_its_patterns_alone(
    normalizer: Callable[[Span], Operation | None], spans: list[Span]
) -> None:
    """Cluster the spans (no variables learned: each key its own pattern) and check that
    every span satisfies its own pattern's matchers, most specific first (exclusions
    included), and no other pattern's: the contract that keeps TraceQL counts exact."""

    def operation_of(span: Span) -> Operation:
        operation = normalizer(span)
        assert operation is not None, span
        return operation

    unique = [
        msgspec.structs.replace(span, trace_id=f"{i + 1:032x}", span_id=f"{i + 1:016x}")
        for i, span in enumerate(spans)
    ]
    clusterer = PatternClusterer(operation_of, learning=False)
    clusterer.accept(unique)
    for span in unique:
        key = operation_of(span).key
        for pattern in clusterer.patterns:
            if (pattern.service, pattern.span_kind) != (span.service_name, span.kind.label):
                continue
            mine = pattern.operation == key
            assert pattern.matches(span) == mine, (
                f"{span.name} {dict(span.attributes)} (key {key!r}) "
                f"{'does not match' if mine else 'matches'} {pattern.operation!r}: "
                f"{[m.match_value for m in pattern.matchers]} "
                f"excluding {[[m.match_value for m in e] for e in pattern.exclusions]}"
            )
