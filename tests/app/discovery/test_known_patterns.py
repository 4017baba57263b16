"""A second run recognises spans of known patterns by their matchers, skipping normalization."""

from __future__ import annotations

from pathlib import Path

import msgspec

from app.discovery.cluster import PatternClusterer
from app.discovery.known import ExactMatcherIndex
from app.discovery.normalize import normalize
from app.discovery.operation import MatchType, Operation
from app.discovery.run import sample_batches
from app.discovery.store import PatternStore
from connectors.spans import Span


class CountingNormalizer:
    def __init__(self) -> None:
        self.spans: list[Span] = []

    def __call__(self, span: Span) -> Operation:
        self.spans.append(span)
        return normalize(span)


def test_known_exact_patterns_skip_normalization_and_keep_counting(tmp_path: Path) -> None:
    batches = list(sample_batches(seed=3, traces=300))
    first = PatternClusterer(normalize)
    for batch in batches:
        first.accept(batch)
    store = PatternStore(tmp_path / "patterns.sqlite")
    store.save(first.patterns)

    counting = CountingNormalizer()
    second = PatternClusterer(counting, known=store.load())
    for batch in batches:
        second.accept(batch)

    assert len(second.patterns) == len(first.patterns)  # nothing new on the same spans
    for before, after in zip(first.patterns, second.patterns, strict=True):
        assert after.stats.count == 2 * before.stats.count
    exact = {
        p.id
        for p in first.patterns
        if all(m.match_type is MatchType.EXACT for m in p.matchers)
        and any(m.field_type.value == "span_attribute" for m in p.matchers)
    }
    assert exact, "the sample system has routes, RPC methods and destinations"
    spans_of_exact = sum(first.patterns[i].stats.count for i in exact)
    total = sum(p.stats.count for p in first.patterns)
    assert second.spans_recognised == spans_of_exact
    assert len(counting.spans) == total - spans_of_exact
    normalized_ids = {second._by_key[_key(s)].id for s in counting.spans[:2000]}
    assert not normalized_ids & exact


def _key(span: Span) -> tuple[str, str, str, tuple[str, ...]]:
    operation = normalize(span)
    return (span.service_name, span.kind.label, operation.key, operation.matcher_fields)


def test_a_pattern_with_a_regex_or_only_a_name_matcher_is_not_indexed() -> None:
    batches = sample_batches(seed=3, traces=100)
    clusterer = PatternClusterer(normalize)
    for batch in batches:
        clusterer.accept(batch)
    index = ExactMatcherIndex()
    for pattern in clusterer.patterns:
        indexed = index.add(pattern)
        types = {m.match_type for m in pattern.matchers}
        reads_attributes = any(m.field_type.value == "span_attribute" for m in pattern.matchers)
        assert indexed == (types == {MatchType.EXACT} and reads_attributes), pattern.name


def test_an_unknown_value_is_normalized_into_a_new_pattern() -> None:
    batches = list(sample_batches(seed=3, traces=100))
    clusterer = PatternClusterer(normalize)
    clusterer.accept(batches[0])
    route_span = next(
        s for s in batches[0] if s.kind.label == "server" and "http.route" in s.attributes
    )
    before = len(clusterer.patterns)
    attributes = {**route_span.attributes, "http.route": "/a/route/nobody/has"}
    clusterer.accept([_with(route_span, attributes, span_id="f" * 16)])
    assert len(clusterer.patterns) == before + 1
    assert clusterer.patterns[-1].operation.endswith("/a/route/nobody/has")


def _with(span: Span, attributes: dict[str, object], span_id: str) -> Span:
    return msgspec.structs.replace(span, attributes=attributes, span_id=span_id)
