"""Spans into span patterns, batch by batch, with the pattern graph between them.

A span's pattern is found from its service, its kind and its normalized operation. Edges of
the pattern graph come from parent span ids and, for messaging, from a consumer span's links
to its producer span. Spans of one trace may arrive in different batches and in any order
(OTLP pushes them as SDKs flush), so the span-to-pattern map of recent spans and the edges
still waiting for their other end are kept across batches, in bounded LRU maps: memory
depends on those bounds and on the number of patterns, never on the number of spans.
"""

from __future__ import annotations

import random
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

from app.discovery.operation import Operation
from app.discovery.patterns import PatternKey, SpanPattern
from connectors.spans import Span, SpanKind

Normalizer = Callable[[Span], Operation]

RECENT_SPANS = 500_000
"""Spans remembered for resolving edges: enough for the traces in flight of a busy system."""
WAITING_EDGES = 100_000

SpanRef = tuple[str, str]  # (trace id, span id)
_KIND_LABELS = tuple(kind.label for kind in SpanKind)


class _Lru(OrderedDict[SpanRef, int]):
    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def put(self, key: SpanRef, value: int) -> None:
        self[key] = value
        if len(self) > self.capacity:
            self.popitem(last=False)


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
    ) -> None:
        self._normalize = normalizer
        self._rng = random.Random(seed)
        self.patterns: list[SpanPattern] = []
        self._by_key: dict[PatternKey, SpanPattern] = {}
        self._names: set[str] = set()
        self._recent = _Lru(recent_spans)
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

    def accept(self, spans: Sequence[Span]) -> None:
        for span in spans:
            self.add(span)

    def add(self, span: Span) -> SpanPattern:
        operation = self._normalize(span)
        kind = _KIND_LABELS[span.kind]
        service = span.service_name
        key = (
            service,
            kind,
            operation.key,
            tuple(m.field_name for m in operation.matchers),
        )
        pattern = self._by_key.get(key)
        if pattern is None:
            pattern = self._new_pattern(service, kind, operation)
            self._by_key[key] = pattern
        pattern.stats.add(span, self._rng)
        self.spans_seen += 1
        self._link(span, pattern.id)
        return pattern

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
        return pattern

    def _unique_name(self, name: str) -> str:
        candidate, number = name, 2
        while candidate in self._names:
            candidate = f"{name}_{number}"
            number += 1
        self._names.add(candidate)
        return candidate

    def _link(self, span: Span, pattern_id: int) -> None:
        ref = (span.trace_id, span.span_id)
        self._recent.put(ref, pattern_id)
        upstream: list[SpanRef] = []
        if span.parent_span_id is not None:
            upstream.append((span.trace_id, span.parent_span_id))
        for link in span.links:
            upstream.append((link.trace_id, link.span_id))
        for parent_ref in upstream:
            parent_id = self._recent.get(parent_ref)
            if parent_id is not None:
                self._edge(parent_id, pattern_id)
            else:
                self._wait(parent_ref, pattern_id)
        waiting_children = self._waiting.pop(ref, None)
        if waiting_children:
            for child_id in waiting_children:
                self._edge(pattern_id, child_id)

    def _wait(self, parent_ref: SpanRef, child_id: int) -> None:
        children = self._waiting.get(parent_ref)
        if children is None:
            self._waiting[parent_ref] = [child_id]
            if len(self._waiting) > self._waiting_capacity:
                self._waiting.popitem(last=False)
        else:
            children.append(child_id)

    def _edge(self, parent_id: int, child_id: int) -> None:
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
