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

Variables are learned as patterns appear (``app.discovery.variables``): when one makes its
position a variable, the patterns that differ only there fold into one at once, so that a
batch of 100,000 distinct ids makes some dozens of patterns, not 100,000. A span already
counted for a folded pattern (in this batch's lists, the recent-span map, the edges still
waiting) is counted for the pattern it folded into (``_live``). New patterns are set
apart from their more specific siblings at the end of each batch
(``app.discovery.exclusions``).
"""

from __future__ import annotations

import random
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from zlib import crc32

from app.discovery.exclusions import ExclusionKeeper
from app.discovery.known import ExactMatcherIndex
from app.discovery.normalize.ids import is_placeholder
from app.discovery.normalize.positions import positions_of
from app.discovery.operation import Normalizer, Operation
from app.discovery.overrides import (
    KeepLiteral,
    OverriddenNormalizer,
    Override,
    merge_into,
    operation_of,
)
from app.discovery.patterns import PatternKey, SpanPattern
from app.discovery.stats import MIN_PROFILED_CALLS, SKETCH_ACCURACY
from app.discovery.timeline import BASE_WIDTH_S
from app.discovery.trace_buffer import FIELDS, HeldTrace, TraceBuffer
from app.discovery.variables import (
    MIN_SPANS,
    Group,
    GroupIndex,
    LearnedVariable,
    LearnedVariables,
    learn,
    refines,
    rewritten,
    without_literals,
)
from connectors.spans import Span, SpanKind

RECENT_SPANS = 500_000
"""Spans remembered for resolving edges: enough for the traces in flight of a busy system."""
WAITING_EDGES = 100_000
RECENT_PRODUCERS = 100_000
"""Producer spans remembered for consumer lag: messages in flight, or in a backlog."""

ABOVE_SKETCH = 1 + 2 * SKETCH_ACCURACY
"""A call is slow when above its pattern's slow percentile by more than the sketch's error:
the sketch gives a value at most that far from the true one, and in a narrow distribution
every call is within it (all would count as slow)."""
SpanRef = tuple[str, str]  # (trace id, span id)
_KIND_LABELS = tuple(kind.label for kind in SpanKind)
_PRODUCER, _CONSUMER = SpanKind.PRODUCER, SpanKind.CONSUMER
_CONSUMER_LABEL = SpanKind.CONSUMER.label
_BUCKET_NS = BASE_WIDTH_S * 1_000_000_000
_ID_BITS = 32
_ID_MASK = (1 << _ID_BITS) - 1


@dataclass
class _BatchEdges:
    """A batch's resolved edges, one entry per child span, in parallel lists of ints."""

    codes: list[int] = field(default_factory=list)
    """``parent pattern id << _ID_BITS | child pattern id``."""
    callers: list[int] = field(default_factory=list)
    """The hash of the parent span's reference: distinct parent spans, counted."""
    buckets: list[int] = field(default_factory=list)
    """The child span's start in base buckets (``BASE_WIDTH_S``)."""


class _RecentSpans(dict[SpanRef, int]):
    """Pattern ids (or end times) of the latest spans; the oldest tenth goes once
    ``capacity`` is passed.

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
    Its operations get the learned ``variables`` (and those learned as spans come), then
    people's ``overrides``, which name patterns by their keys with variables in place.
    """

    def __init__(
        self,
        normalizer: Normalizer,
        *,
        known: Sequence[SpanPattern] = (),
        seed: int = 0,
        recent_spans: int = RECENT_SPANS,
        waiting_edges: int = WAITING_EDGES,
        recent_producers: int = RECENT_PRODUCERS,
        unindexed: Iterable[PatternKey] = (),
        scope: ReplayScope | None = None,
        retired_names: Iterable[str] = (),
        variables: Iterable[LearnedVariable] = (),
        learning: bool = True,
        overrides: Sequence[Override] = (),
    ) -> None:
        self._base_normalize = normalizer
        self._vetoes = [o for o in overrides if isinstance(o, KeepLiteral)]
        self.variables = LearnedVariables(v for v in variables if not self._vetoed(v))
        with_overrides = OverriddenNormalizer(self._with_variables, overrides)
        self._normalize = with_overrides if with_overrides.active else self._with_variables
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
        # Children (or consumers) whose parent (or producer) span has not arrived yet, with
        # their start.
        self._waiting: OrderedDict[SpanRef, list[tuple[int, int]]] = OrderedDict()
        # End times of recent producer spans, for the lag of the consumer spans they feed.
        self._producer_ends = _RecentSpans(recent_producers)
        self._waiting_capacity = waiting_edges
        self._traces = TraceBuffer()
        self._callers: set[int] = {p.id for p in known if p.children}
        """Ids of the patterns with children: their calls are profiled (``_profile``)."""
        self.spans_seen = 0
        self.duplicates = 0
        """Spans seen again while their first copy was still among the recent ones: not
        counted twice (OTLP exporters resend a batch whose answer they did not get)."""
        self.touched: set[int] = set()
        """Ids of the patterns whose spans, statistics or edges changed since it was last
        emptied (``DiscoveryRun.checkpoint`` saves those alone)."""
        self.learned: list[LearnedVariable] = []
        """Variables learned by this clusterer (``variables`` holds them too)."""
        self._learning = learning and scope is None
        self._groups = GroupIndex()
        self._kept: set[int] = set()
        """Patterns of values a learned variable keeps literal, judged again (``_refine``)."""
        self._waiting_groups: dict[Group, None] = {}
        """Groups of several patterns with too few spans to judge yet, oldest first."""
        self._created: list[int] = []
        for index, pattern in enumerate(known):
            if pattern.id != index:
                raise ValueError(f"known patterns must be numbered 0..n-1, found {pattern.id}")
            self.patterns.append(pattern)
            self._by_key[pattern.key] = pattern
            self._names.add(pattern.name)
            self._index(pattern)
            if self._learning and pattern.merged_into is None:
                self._groups.add(pattern)
                if self._keeps(pattern):
                    self._kept.add(pattern.id)
        self._exclusions = ExclusionKeeper(self.patterns)

    def accept(self, spans: Sequence[Span]) -> None:
        """Cluster a batch; statistics and edges are added per pattern at the end of it."""
        by_pattern: dict[int, list[Span]] = {}
        recent = self._recent
        waiting = self._waiting
        producers = self._producer_ends
        # Edges as plain ints (parent and child ids in one, the parent span's hash, the
        # child's base bucket): ints are not tracked by the garbage collector, tuples kept
        # for the batch would be, and would make its full collections much more frequent.
        edges = _BatchEdges()
        edge_codes, edge_callers, edge_buckets = edges.codes, edges.callers, edges.buckets
        lags: list[tuple[int, int, int]] = []
        traces = self._traces.traces
        max_fields = self._traces.max_fields
        sampling = self._traces.sampling_mask
        for span in spans:
            trace_id = span.trace_id
            ref = (trace_id, span.span_id)
            if ref in recent:  # sent again (an exporter's retry, a file read twice): once
                self.duplicates += 1
                continue
            known_patterns = len(self.patterns)
            pattern_id = self._pattern_id(span)
            members = by_pattern.get(pattern_id)
            if members is None:
                by_pattern[pattern_id] = [span]
            else:
                members.append(span)
            if len(self.patterns) > known_patterns and self._learning:
                pattern_id = self._consider(pattern_id, by_pattern)
            # The pattern graph: inline, as it runs for every span.
            recent[ref] = pattern_id
            kind = span.kind
            if kind is _PRODUCER:
                producers[ref] = span.end_unix_nano
            start_ns = span.start_unix_nano
            parent_span_id = span.parent_span_id
            # The whole trace, for time profiles (``_profile``).
            held = traces.get(trace_id)
            if held is None:
                if not sampling or not crc32(trace_id.encode()) & sampling:  # sampled
                    traces[trace_id] = [
                        span.span_id,
                        parent_span_id,
                        pattern_id,
                        start_ns,
                        span.end_unix_nano,
                    ]
            elif len(held) < max_fields:
                held += (span.span_id, parent_span_id, pattern_id, start_ns, span.end_unix_nano)
            if parent_span_id is not None:
                parent_ref = (trace_id, parent_span_id)
                parent_id = recent.get(parent_ref)
                if parent_id is None:
                    self._wait(parent_ref, pattern_id, start_ns)
                else:
                    edge_codes.append(parent_id << _ID_BITS | pattern_id)
                    edge_callers.append(hash(parent_ref))
                    edge_buckets.append(start_ns // _BUCKET_NS)
                    if kind is _CONSUMER:
                        produced = producers.get(parent_ref)
                        if produced is not None:
                            lags.append((pattern_id, start_ns, start_ns - produced))
            if span.links:
                for link in span.links:
                    producer_ref = (link.trace_id, link.span_id)
                    producer_id = recent.get(producer_ref)
                    if producer_id is None:
                        self._wait(producer_ref, pattern_id, start_ns)
                    else:
                        edge_codes.append(producer_id << _ID_BITS | pattern_id)
                        edge_callers.append(hash(producer_ref))
                        edge_buckets.append(start_ns // _BUCKET_NS)
                        if kind is _CONSUMER:
                            produced = producers.get(producer_ref)
                            if produced is not None:
                                lags.append((pattern_id, start_ns, start_ns - produced))
            if waiting:
                waiting_children = waiting.pop(ref, None)
                if waiting_children:
                    for child_id, child_start_ns in waiting_children:
                        edge_codes.append(pattern_id << _ID_BITS | child_id)
                        edge_callers.append(hash(ref))
                        edge_buckets.append(child_start_ns // _BUCKET_NS)
                        if (
                            kind is _PRODUCER
                            and self.patterns[child_id].span_kind == _CONSUMER_LABEL
                        ):
                            lags.append(
                                (child_id, child_start_ns, child_start_ns - span.end_unix_nano)
                            )
        if len(recent) > recent.capacity:
            recent.evict_oldest()
        if len(producers) > producers.capacity:
            producers.evict_oldest()
        patterns = self.patterns
        rng = self._rng
        scope = self._scope
        live = self._live
        for pattern_id, members in by_pattern.items():
            pattern_id = live(pattern_id)
            if scope is None or pattern_id in scope.affected:
                patterns[pattern_id].stats.add_many(members, rng)
        self.touched.update(by_pattern)
        if edge_codes:
            self._add_edges(edges)
        if lags:
            self._add_lags(lags)
        if self._learning:
            if self._waiting_groups:
                self._judge_waiting()
            if self._kept:
                self._refine()
        if self._created:
            self.touched.update(self._exclusions.added(self._created))
            self._created.clear()
        self.spans_seen += len(spans)
        done = self._traces.batch_done({span.trace_id for span in spans}, len(spans))
        if done:
            self._profile(done)

    def finish(self) -> None:
        """The end of the spans: the traces still in flight are done."""
        self._profile(self._traces.close_all())

    def _profile(self, traces: list[HeldTrace]) -> None:
        """Each finished trace's spans of patterns that call others, with their children,
        into their patterns' time profiles (a leaf's time is all its own).

        Which calls go in is decided before the trace's children are indexed: most traces
        hold only typical calls of well-profiled patterns, left out (``TimeProfile``).
        """
        patterns = self.patterns
        live = self._live
        scope = self._scope
        touched = self.touched
        callers = self._callers
        for held in traces:
            if len(held) < 2 * FIELDS:
                continue
            pattern_ids: list[int] = held[2::FIELDS]  # type: ignore[assignment]
            starts: list[int] = held[3::FIELDS]  # type: ignore[assignment]
            ends: list[int] = held[4::FIELDS]  # type: ignore[assignment]
            chosen: list[tuple[int, SpanPattern, bool]] = []
            for i, pattern_id in enumerate(pattern_ids):
                if pattern_id not in callers:
                    continue
                pattern = patterns[pattern_id]
                if pattern.merged_into is not None:
                    pattern = patterns[live(pattern_id)]
                stats = pattern.stats
                slow = (
                    stats.count >= MIN_PROFILED_CALLS
                    and (ends[i] - starts[i]) / 1e6 > stats.slow_threshold_ms() * ABOVE_SKETCH
                )
                if slow or stats.time_profile.wants_typical():
                    chosen.append((i, pattern, slow))
            if not chosen:
                continue
            children_of: dict[object, list[int]] = {}
            for i, parent_id in enumerate(held[1::FIELDS]):
                if parent_id is not None:
                    found = children_of.get(parent_id)
                    if found is None:
                        children_of[parent_id] = [i]
                    else:
                        found.append(i)
            span_ids = held[0::FIELDS]
            for i, pattern, slow in chosen:
                if scope is not None and pattern.id not in scope.affected:
                    continue
                children = []
                for child in children_of.get(span_ids[i], ()):
                    child_id = pattern_ids[child]
                    if patterns[child_id].merged_into is not None:
                        child_id = live(child_id)
                    children.append((child_id, starts[child], ends[child]))
                pattern.stats.time_profile.add(starts[i], ends[i], children, slow)
                touched.add(pattern.id)

    def _add_edges(self, edges: _BatchEdges) -> None:
        """Count a batch's edges, per edge and base bucket: the calls, and the distinct
        parent spans that made them (children of one parent span split across batches count
        it twice, which is rare: a trace's spans mostly arrive together)."""
        grouped: dict[tuple[int, int], list[int]] = {}
        by_caller = Counter(zip(edges.codes, edges.buckets, edges.callers, strict=True))
        for (code, bucket, _caller), calls in by_caller.items():
            key = (code, bucket)
            found = grouped.get(key)
            if found is None:
                grouped[key] = [calls, 1]
            else:
                found[0] += calls
                found[1] += 1
        patterns = self.patterns
        scope = self._scope
        live = self._live
        for (code, bucket), (calls, callers) in grouped.items():
            parent_id, child_id = live(code >> _ID_BITS), live(code & _ID_MASK)
            if scope is not None and not scope.counts_edge(parent_id, child_id):
                continue
            parent = patterns[parent_id]
            self._callers.add(parent_id)
            self.touched.add(parent_id)
            self.touched.add(child_id)
            parent.children[child_id] += calls
            patterns[child_id].parents[parent_id] += calls
            parent.stats.add_calls(child_id, bucket * BASE_WIDTH_S, calls, callers)

    def _add_lags(self, lags: list[tuple[int, int, int]]) -> None:
        by_consumer: dict[int, tuple[list[int], list[float]]] = {}
        scope = self._scope
        for consumer_id, start_ns, lag_ns in lags:
            consumer_id = self._live(consumer_id)
            if scope is not None and consumer_id not in scope.affected:
                continue
            found = by_consumer.get(consumer_id)
            if found is None:
                found = by_consumer[consumer_id] = ([], [])
            found[0].append(start_ns // 1_000_000_000)
            found[1].append(lag_ns / 1e6)
        for consumer_id, (starts_s, lags_ms) in by_consumer.items():
            self.patterns[consumer_id].stats.add_lags(starts_s, lags_ms)
            self.touched.add(consumer_id)

    def add(self, span: Span) -> SpanPattern:
        """Cluster one span (``accept`` is faster for many)."""
        self.accept((span,))
        return self.patterns[self._live(self._recent[(span.trace_id, span.span_id)])]

    def _pattern_id(self, span: Span) -> int:
        service = span.service_name
        kind = _KIND_LABELS[span.kind]
        known_id = self._known.find(span, service, kind)
        if known_id is not None:
            self.spans_recognised += 1
            return self._live(known_id)
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
        return self._live(pattern.id)

    def rescope(self, service: str, kind: str) -> None:
        """Work out the exclusions of a service and kind anew, after a replay revived or
        reshaped patterns there (``app.discovery.rederive``)."""
        self.touched.update(self._exclusions.rescope((service, kind)))

    def _with_variables(self, span: Span) -> Operation:
        operation = self._base_normalize(span)
        if not self.variables.variables:
            return operation
        return self.variables.apply(span.service_name, _KIND_LABELS[span.kind], operation)

    def _live(self, pattern_id: int) -> int:
        """The pattern a pattern's spans count for: itself, or the one it was folded into."""
        if pattern_id < 0:
            return pattern_id
        patterns = self.patterns
        into = patterns[pattern_id].merged_into
        while into is not None:
            pattern_id = into
            into = patterns[pattern_id].merged_into
        return pattern_id

    # --- learned variables ----------------------------------------------------------------

    def _consider(self, pattern_id: int, pending: dict[int, list[Span]]) -> int:
        """Index a new pattern's values, and learn the variables its groups now show;
        the pattern its spans count for afterwards."""
        patterns = self.patterns

        def count_of(member_id: int) -> int:
            return patterns[member_id].stats.count + len(pending.get(member_id, ()))

        if self._keeps(patterns[pattern_id]):
            self._kept.add(pattern_id)  # a value a variable keeps literal: judged again later
        for group in self._groups.add(patterns[pattern_id]):
            if self._judge(group, count_of):
                break
        return self._live(pattern_id)

    def _judge(self, group: Group, count_of: Callable[[int], int]) -> bool:
        """Learn what a group's evidence shows now (whether it did); a group with too few
        spans yet waits to be judged again (``_judge_waiting``), as its spans come."""
        if self._vetoes and any(veto.covers(group) for veto in self._vetoes):
            return False  # a person made a position of it literal: never judged again
        members = self._groups.members(group)
        variable = learn(group, members, count_of)
        if variable is not None and self._vetoed(variable):
            variable = None
        if variable is not None:
            self._waiting_groups.pop(group, None)
            self._fold(variable, group)
            return True
        if len(members) > 1 and sum(map(count_of, members.values())) < MIN_SPANS:
            self._waiting_groups[group] = None
        else:
            self._waiting_groups.pop(group, None)
        return False

    def _keeps(self, pattern: SpanPattern) -> bool:
        """Whether a learned variable keeps this pattern's value literal."""
        in_scope = self.variables.in_scope(pattern.service, pattern.span_kind)
        if not in_scope:
            return False
        positions = positions_of(operation_of(pattern))
        return positions is not None and any(
            v.fits(positions) and without_literals(v, positions) for v in in_scope
        )

    def _vetoed(self, variable: LearnedVariable) -> bool:
        """Whether a person made a position of it literal (``KeepLiteral``)."""
        return any(veto.vetoes(variable) for veto in self._vetoes)

    def _judge_waiting(self) -> None:
        """Judge again the groups that had too few spans: values that stopped being new
        (five regions, a handful of shards) bring their evidence with later spans."""
        patterns = self.patterns

        def count_of(member_id: int) -> int:
            return patterns[member_id].stats.count

        for group in list(self._waiting_groups):
            if group in self._waiting_groups:  # a fold may have judged it meanwhile
                self._judge(group, count_of)

    def _fold(self, variable: LearnedVariable, group: Group) -> None:
        """Learn ``variable``: the group's patterns that it rewrites fold, per new key."""
        self.variables.add(variable)
        self.learned.append(variable)
        patterns = self.patterns
        folds: dict[PatternKey, tuple[Operation, list[SpanPattern]]] = {}
        for member_id in self._groups.members(group).values():
            member = patterns[member_id]
            folded = self.variables.apply(member.service, member.span_kind, operation_of(member))
            if folded.key == member.operation:
                self._kept.add(member.id)  # a value kept literal: judged again later
                continue
            key = (member.service, member.span_kind, folded.key, folded.matcher_fields)
            members = folds.setdefault(key, (folded, []))[1]
            # one with shape placeholders where the variable is has a name that reads well
            if all(is_placeholder(value) for value in _values_at(member, variable)):
                members.insert(0, member)
            else:
                members.append(member)
        for key, (folded, members) in folds.items():
            target = self._by_key.get(key)
            if target is not None:
                target = patterns[self._live(target.id)]
            elif any(is_placeholder(v) for v in _values_at(members[0], variable)):
                target = members[0]
                self._rekey(target, folded)
            else:
                target = self._new_pattern(members[0].service, members[0].span_kind, folded)
            self._by_key[key] = target
            self._fold_into(target, [p for p in members if p is not target])

    def _refine(self) -> None:
        """Fold the values kept literal whose share faded into their variables."""
        patterns = self.patterns
        for pattern_id in list(self._kept):
            pattern = patterns[pattern_id]
            positions = positions_of(operation_of(pattern))
            if pattern.merged_into is not None or positions is None:
                self._kept.discard(pattern_id)
                continue
            # every variable of its template that keeps its value lets go of it together
            in_scope = self.variables.in_scope(pattern.service, pattern.span_kind)
            fitting = [v for v in in_scope if v.fits(positions)]
            candidates = [c for v in fitting if (c := without_literals(v, positions))]
            letting_go = {c.identity for c in candidates}
            others = [v for v in in_scope if v.identity not in letting_go]
            folded = rewritten([*candidates, *others], positions.operation)
            target = self._by_key.get(
                (pattern.service, pattern.span_kind, folded.key, folded.matcher_fields)
            )
            if folded.key == pattern.operation or target is None or target is pattern:
                if not candidates:  # nothing keeps it, nothing takes it: it stays
                    self._kept.discard(pattern_id)
                continue
            target = patterns[self._live(target.id)]
            # let go of already (beside another value of a free position), or now
            if candidates and not refines(pattern.stats.count, target.stats.count):
                continue
            self._kept.discard(pattern_id)
            for candidate in candidates:
                self.variables.add(candidate)
                self.learned.append(candidate)
            self._fold_into(target, [pattern])

    def _fold_into(self, target: SpanPattern, sources: list[SpanPattern]) -> None:
        """Merge ``sources`` into ``target`` (statistics, edges, names: ``merge_into``), and
        keep the indexes, exclusions and what the next checkpoint saves up to date."""
        for source in sources:
            if self._by_key.get(source.key) is source:
                del self._by_key[source.key]
            self._groups.remove(source.id)
            self._kept.discard(source.id)
            # the patterns whose edges merge_into rewires are saved with the change
            self.touched.update(source.parents)
            self.touched.update(source.children)
            self.touched.add(source.id)
        self.touched.update(merge_into(target, sources, self.patterns))
        self._groups.remove(target.id)
        self._groups.add(target)
        self.touched.add(target.id)
        self.touched.update(self._exclusions.folded(target, sources))

    def _rekey(self, pattern: SpanPattern, operation: Operation) -> None:
        """Give a pattern the operation of a learned variable (its name stays)."""
        if self._by_key.get(pattern.key) is pattern:
            del self._by_key[pattern.key]
        pattern.operation = operation.key
        pattern.matchers = operation.matchers
        pattern.hints = dict(operation.hints)

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
        self._created.append(pattern.id)
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

    def _wait(self, parent_ref: SpanRef, child_id: int, start_ns: int) -> None:
        children = self._waiting.get(parent_ref)
        if children is None:
            self._waiting[parent_ref] = [(child_id, start_ns)]
            if len(self._waiting) > self._waiting_capacity:
                self._waiting.popitem(last=False)
        else:
            children.append((child_id, start_ns))

    def callers(self, pattern: SpanPattern) -> list[str]:
        """Services whose spans call (or, through links, produce for) this pattern."""
        return sorted({self.patterns[p].service for p in pattern.parents})

    def by_name(self) -> dict[str, SpanPattern]:
        return {p.name: p for p in self.patterns}


_NOT_WORD = re.compile(r"[^a-z0-9]+")


def _values_at(pattern: SpanPattern, variable: LearnedVariable) -> list[str]:
    positions = positions_of(operation_of(pattern))
    return [] if positions is None else [positions.values[p] for p in variable.positions]


def provisional_name(service: str, kind: str, operation: Operation) -> str:
    """A deterministic snake_case name from the operation, until the classifier names it."""
    words = [service, kind, *_meaningful_words(operation)]
    text = _NOT_WORD.sub("_", " ".join(words).lower()).strip("_")
    return text[:80].rstrip("_") or "span"


_PLACEHOLDERS = re.compile(r"\{[a-z_]+\}")


def _meaningful_words(operation: Operation) -> Iterable[str]:
    """Words of the operation for its name, without placeholders: a name holds no id."""
    hints = operation.hints
    chosen: list[str] = []
    for key in ("system", "method", "operation", "peer", "target", "route"):
        value = hints.get(key)
        if value and value not in chosen:  # a route is often the target too
            chosen.append(value)
    return [_PLACEHOLDERS.sub(" ", text) for text in chosen or [operation.key]]
