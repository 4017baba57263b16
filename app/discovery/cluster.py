"""Spans into span patterns, batch by batch, with the pattern graph between them.

A span's pattern is found from its service, its kind and its normalized operation. Edges of
the pattern graph come from parent span ids and, for messaging, from a consumer span's links
to its producer span. Spans of one trace may arrive in different batches and in any order
(OTLP pushes them as SDKs flush), so the span-to-pattern map of recent spans and the edges
still waiting for their other end are kept across batches, in bounded maps that drop their
oldest entries first: memory depends on those bounds and on the number of patterns, never
on the number of spans.

Spans of known patterns whose matchers are all exact are recognised by those matchers and
skip normalization (``app.discovery.known``); statistics are added per pattern once per
batch, which is what keeps them cheap.
"""

from __future__ import annotations

import random
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice

from app.discovery.known import ExactMatcherIndex
from app.discovery.operation import Operation
from app.discovery.patterns import PatternKey, SpanPattern
from connectors.spans import Span, SpanKind

Normalizer = Callable[[Span], Operation]

RECENT_SPANS = 500_000
"""Spans remembered for resolving edges: enough for the traces in flight of a busy system."""
WAITING_EDGES = 100_000

SpanRef = tuple[str, str]  # (trace id, span id)
_KIND_LABELS = tuple(kind.label for kind in SpanKind)


class _RecentSpans(dict[SpanRef, int]):
    """Pattern ids of the latest spans; the oldest tenth goes once ``capacity`` is passed.

    Evicting in chunks keeps the per-span cost to one dict insert (an ``OrderedDict`` LRU
    costs twice that); a span is written once, so insertion order is age order.
    """

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def evict_oldest(self) -> None:
        drop = len(self) - self.capacity + max(self.capacity // 10, 1)
        for ref in list(islice(self, drop)):
            del self[ref]


_OUTSIDE_SCOPE = -1


@dataclass
class ReplayScope:
    """What a replay of spans already counted may change (``app.discovery.rederive``).

    Only the ``affected`` patterns get statistics, only edges touching them are counted,
    and a new pattern is made only for a key ``admits`` accepts; every other span is still
    placed, so that edges between it and affected spans resolve.
    """

    affected: set[int]
    admits: Callable[[PatternKey], bool]

    def counts_edge(self, parent_id: int, child_id: int) -> bool:
        if parent_id == _OUTSIDE_SCOPE or child_id == _OUTSIDE_SCOPE:
            return False
        return parent_id in self.affected or child_id in self.affected


class PatternClusterer:
    """Groups spans into patterns; feed it with ``accept`` (a ``SpanSink``).

    ``known`` are the patterns of earlier runs (from the store): their statistics go on
    growing, and new spans of their operations join them rather than making new patterns.

    ``normalizer`` is ``app.discovery.normalize.normalize`` in use; tests hand in simpler ones.
    """

    def __init__(
        self,
        normalizer: Normalizer,
        *,
        known: Sequence[SpanPattern] = (),
        seed: int = 0,
        recent_spans: int = RECENT_SPANS,
        waiting_edges: int = WAITING_EDGES,
        unindexed: Iterable[PatternKey] = (),
        scope: ReplayScope | None = None,
        retired_names: Iterable[str] = (),
    ) -> None:
        self._normalize = normalizer
        self._rng = random.Random(seed)
        self.patterns: list[SpanPattern] = []
        self._by_key: dict[PatternKey, SpanPattern] = {}
        self._names: set[str] = set(retired_names)  # old names resolve to their patterns
        self._known = ExactMatcherIndex()
        self._unindexed = set(unindexed)
        self._scope = scope
        self.spans_recognised = 0
        """Spans found by the matchers of a known pattern, without normalization."""
        self._recent = _RecentSpans(recent_spans)
        # Children (or consumers) whose parent (or producer) span has not arrived yet.
        self._waiting: OrderedDict[SpanRef, list[int]] = OrderedDict()
        self._waiting_capacity = waiting_edges
        self.spans_seen = 0
        for index, pattern in enumerate(known):
            if pattern.id != index:
                raise ValueError(f"known patterns must be numbered 0..n-1, found {pattern.id}")
            self.patterns.append(pattern)
            self._by_key[pattern.key] = pattern
            self._names.add(pattern.name)
            self._index(pattern)

    def accept(self, spans: Sequence[Span]) -> None:
        """Cluster a batch; statistics are added per pattern at the end of the batch."""
        by_pattern: dict[int, list[Span]] = {}
        recent = self._recent
        waiting = self._waiting
        for span in spans:
            pattern_id = self._pattern_id(span)
            members = by_pattern.get(pattern_id)
            if members is None:
                by_pattern[pattern_id] = [span]
            else:
                members.append(span)
            # The pattern graph: inline, as it runs for every span.
            trace_id = span.trace_id
            ref = (trace_id, span.span_id)
            recent[ref] = pattern_id
            parent_span_id = span.parent_span_id
            if parent_span_id is not None:
                parent_ref = (trace_id, parent_span_id)
                parent_id = recent.get(parent_ref)
                if parent_id is None:
                    self._wait(parent_ref, pattern_id)
                else:
                    self._edge(parent_id, pattern_id)
            if span.links:
                for link in span.links:
                    producer_ref = (link.trace_id, link.span_id)
                    producer_id = recent.get(producer_ref)
                    if producer_id is None:
                        self._wait(producer_ref, pattern_id)
                    else:
                        self._edge(producer_id, pattern_id)
            if waiting:
                waiting_children = waiting.pop(ref, None)
                if waiting_children:
                    for child_id in waiting_children:
                        self._edge(pattern_id, child_id)
        if len(recent) > recent.capacity:
            recent.evict_oldest()
        patterns = self.patterns
        rng = self._rng
        scope = self._scope
        for pattern_id, members in by_pattern.items():
            if scope is None or pattern_id in scope.affected:
                patterns[pattern_id].stats.add_many(members, rng)
        self.spans_seen += len(spans)

    def add(self, span: Span) -> SpanPattern:
        """Cluster one span (``accept`` is faster for many)."""
        self.accept((span,))
        return self.patterns[self._recent[(span.trace_id, span.span_id)]]

    def _pattern_id(self, span: Span) -> int:
        service = span.service_name
        kind = _KIND_LABELS[span.kind]
        known_id = self._known.find(span, service, kind)
        if known_id is not None:
            self.spans_recognised += 1
            return known_id
        operation = self._normalize(span)
        key = (service, kind, operation.key, operation.matcher_fields)
        pattern = self._by_key.get(key)
        if pattern is None:
            if self._scope is not None and not self._scope.admits(key):
                return _OUTSIDE_SCOPE
            pattern = self._new_pattern(service, kind, operation)
            self._by_key[key] = pattern
            if self._scope is not None:
                self._scope.affected.add(pattern.id)
        return pattern.id

    def _new_pattern(self, service: str, kind: str, operation: Operation) -> SpanPattern:
        name = self._unique_name(provisional_name(service, kind, operation))
        pattern = SpanPattern(
            id=len(self.patterns),
            service=service,
            span_kind=kind,
            family=operation.family,
            operation=operation.key,
            matchers=operation.matchers,
            hints=dict(operation.hints),
            name=name,
        )
        self.patterns.append(pattern)
        self._index(pattern)
        return pattern

    def _index(self, pattern: SpanPattern) -> None:
        # Merged-away patterns and patterns being split must go through normalization.
        if pattern.merged_into is None and pattern.key not in self._unindexed:
            self._known.add(pattern)

    def _unique_name(self, name: str) -> str:
        candidate, number = name, 2
        while candidate in self._names:
            candidate = f"{name}_{number}"
            number += 1
        self._names.add(candidate)
        return candidate

    def _wait(self, parent_ref: SpanRef, child_id: int) -> None:
        children = self._waiting.get(parent_ref)
        if children is None:
            self._waiting[parent_ref] = [child_id]
            if len(self._waiting) > self._waiting_capacity:
                self._waiting.popitem(last=False)
        else:
            children.append(child_id)

    def _edge(self, parent_id: int, child_id: int) -> None:
        if self._scope is not None and not self._scope.counts_edge(parent_id, child_id):
            return
        self.patterns[parent_id].children[child_id] += 1
        self.patterns[child_id].parents[parent_id] += 1

    def callers(self, pattern: SpanPattern) -> list[str]:
        """Services whose spans call (or, through links, produce for) this pattern."""
        return sorted({self.patterns[p].service for p in pattern.parents})

    def by_name(self) -> dict[str, SpanPattern]:
        return {p.name: p for p in self.patterns}


_NOT_WORD = re.compile(r"[^a-z0-9]+")


def provisional_name(service: str, kind: str, operation: Operation) -> str:
    """A deterministic snake_case name from the operation, until the classifier names it."""
    words = [service, kind, *_meaningful_words(operation)]
    text = _NOT_WORD.sub("_", " ".join(words).lower()).strip("_")
    return text[:80].rstrip("_") or "span"


def _meaningful_words(operation: Operation) -> Iterable[str]:
    hints = operation.hints
    chosen: list[str] = []
    for key in ("system", "method", "operation", "peer", "target", "route"):
        value = hints.get(key)
        if value and value not in chosen:  # a route is often the target too
            chosen.append(value)
    if chosen:
        return chosen
    return [operation.key.replace("{id}", "").replace("{email}", "").replace("{date}", "")]
