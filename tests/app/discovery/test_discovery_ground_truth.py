"""Discovery against the sample system's ground truth: one pattern per true operation."""

from __future__ import annotations

from collections import defaultdict

import pytest

from app.discovery.cluster import PatternClusterer
from app.discovery.normalize import normalize
from app.sample import FaultName, SampleConfig, faults_by_name, generate_traces

ALL_FAULTS = faults_by_name([f.value for f in FaultName])


@pytest.mark.parametrize(
    ("seed", "faults"),
    [(42, ()), (7, ALL_FAULTS)],
    ids=["seed 42", "seed 7 with every fault"],
)
def test_every_true_operation_is_exactly_one_pattern(seed: int, faults: tuple) -> None:
    clusterer = PatternClusterer(normalize)
    labels_of_pattern: dict[int, set[str]] = defaultdict(set)
    patterns_of_label: dict[str, set[int]] = defaultdict(set)
    for trace in generate_traces(SampleConfig(seed=seed, traces=1500, faults=faults)):
        for span in trace.spans:
            pattern = clusterer.add(span)
            label = trace.truth[span.span_id]
            labels_of_pattern[pattern.id].add(label)
            patterns_of_label[label].add(pattern.id)

    merged = {
        clusterer.patterns[p].name: sorted(labels)
        for p, labels in labels_of_pattern.items()
        if len(labels) > 1
    }
    split = {
        label: sorted(clusterer.patterns[p].name for p in ids)
        for label, ids in patterns_of_label.items()
        if len(ids) > 1
    }
    assert not merged, f"patterns holding several true operations: {merged}"
    assert not split, f"true operations spread over several patterns: {split}"
    assert len(clusterer.patterns) == len(patterns_of_label)


def test_every_span_matches_its_patterns_matchers_and_no_other() -> None:
    clusterer = PatternClusterer(normalize)
    spans = [s for t in generate_traces(SampleConfig(seed=11, traces=800)) for s in t.spans]
    assigned = [clusterer.add(span).id for span in spans]
    by_scope: dict[tuple[str, str], list[int]] = defaultdict(list)
    for pattern in clusterer.patterns:
        by_scope[(pattern.service, pattern.span_kind)].append(pattern.id)
    for span, pattern_id in zip(spans, assigned, strict=True):
        for other_id in by_scope[(span.service_name, span.kind.label)]:
            other = clusterer.patterns[other_id]
            matches = all(m.matches(span) for m in other.matchers)
            assert matches == (other_id == pattern_id), (
                f"span {span.name!r} of {clusterer.patterns[pattern_id].name} "
                f"{'matches' if matches else 'does not match'} {other.name}'s matchers"
            )
