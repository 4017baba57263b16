"""Where a pattern's time goes, from its traces: each child pattern's share of the critical
path, and the time spent in the span itself, for slow calls and typical ones apart.

"Why is this slow?" about a parent is mostly "which call is it waiting on?". Summing its
children's durations does not say: children run in parallel, and a call made in the
background takes no time off the answer. The critical path does: walking back from the
span's end, the child that finished last before that point is what the span was waiting
for, until its start, and so on; time on no child is the span's own (its self time). The
same walk Jaeger's trace view draws, over one level of children, added up per child
pattern.

Calls are put in two bands by the parent's duration against its own slow percentile as
known when the trace closed (``PatternStats.slow_threshold_ms``): slow calls are compared
with typical ones, which is what says where the *extra* time goes. Memory is a few numbers
per child pattern: bounded by the edges of the pattern graph, never by spans.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

ChildInterval = tuple[int, int, int]
"""(child pattern id, start ns, end ns) of one child span."""


def critical_path(
    start_ns: int, end_ns: int, children: Sequence[ChildInterval]
) -> tuple[int, dict[int, int]]:
    """The span's self time on its critical path, and each child pattern's time on it.

    Children are clipped to the span (clock skew between hosts puts some outside it); the
    self time and the children's times add up to the span's duration.
    """
    cursor = end_ns
    self_ns = 0
    on_path: dict[int, int] = {}
    for child_id, child_start, child_end in sorted(children, key=lambda c: -c[2]):
        if cursor <= start_ns:
            break
        if child_start >= cursor:
            continue  # it ran entirely after the point reached: nobody waited on it
        end = min(child_end, cursor)
        begin = max(child_start, start_ns)
        if end <= begin:
            continue
        self_ns += cursor - end
        on_path[child_id] = on_path.get(child_id, 0) + end - begin
        cursor = begin
    self_ns += max(cursor - start_ns, 0)
    return self_ns, on_path


@dataclass
class ChildTime:
    calls: int = 0
    """Its spans under the profiled calls (on the critical path or not)."""
    path_ns: int = 0
    """Their time on the critical path of the profiled calls."""


@dataclass
class TimeBand:
    """The profiled calls of one band (slow or typical), added up."""

    spans: int = 0
    total_ns: int = 0
    self_ns: int = 0
    children: dict[int, ChildTime] = field(default_factory=dict)

    def add(
        self, duration_ns: int, self_ns: int, on_path: dict[int, int], calls: Iterable[int]
    ) -> None:
        self.spans += 1
        self.total_ns += duration_ns
        self.self_ns += self_ns
        children = self.children
        for child_id in calls:
            child = children.get(child_id)
            if child is None:
                child = children[child_id] = ChildTime()
            child.calls += 1
        for child_id, path_ns in on_path.items():
            children[child_id].path_ns += path_ns

    def merge(self, other: TimeBand) -> None:
        self.spans += other.spans
        self.total_ns += other.total_ns
        self.self_ns += other.self_ns
        for child_id, theirs in other.children.items():
            self._add_child(child_id, theirs)

    def _add_child(self, child_id: int, theirs: ChildTime) -> None:
        mine = self.children.get(child_id)
        if mine is None:
            self.children[child_id] = ChildTime(theirs.calls, theirs.path_ns)
        else:
            mine.calls += theirs.calls
            mine.path_ns += theirs.path_ns

    def rekey_child(self, old_id: int, new_id: int) -> None:
        moved = self.children.pop(old_id, None)
        if moved is not None:
            self._add_child(new_id, moved)

    def forget_child(self, child_id: int) -> None:
        """A child split again: its time goes back to no child until spans are replayed."""
        self.children.pop(child_id, None)

    def mean_ms(self, nanos: int) -> float:
        return nanos / self.spans / 1e6 if self.spans else 0.0


TYPICAL_IN_FULL = 256
"""Typical calls profiled one by one; past these, one in ``TYPICAL_EVERY``."""
TYPICAL_EVERY = 8


@dataclass
class TimeProfile:
    """Slow calls all profiled; typical ones, which are nine in ten and vary less, all up
    to ``TYPICAL_IN_FULL`` and then one in ``TYPICAL_EVERY``: the means stay sound, and
    profiling costs discovery a few percent rather than a fifth."""

    slow: TimeBand = field(default_factory=TimeBand)
    typical: TimeBand = field(default_factory=TimeBand)
    _passed: int = field(default=0, repr=False, compare=False)

    def wants_typical(self) -> bool:
        """Whether the next typical call goes in."""
        if self.typical.spans < TYPICAL_IN_FULL:
            return True
        self._passed += 1
        return self._passed % TYPICAL_EVERY == 0

    @property
    def bands(self) -> tuple[TimeBand, TimeBand]:
        return self.slow, self.typical

    def add(
        self, start_ns: int, end_ns: int, children: Sequence[ChildInterval], slow: bool
    ) -> None:
        self_ns, on_path = critical_path(start_ns, end_ns, children)
        band = self.slow if slow else self.typical
        band.add(max(end_ns - start_ns, 0), self_ns, on_path, (c[0] for c in children))

    def merge(self, other: TimeProfile) -> None:
        self.slow.merge(other.slow)
        self.typical.merge(other.typical)

    def rekey_child(self, old_id: int, new_id: int) -> None:
        for band in self.bands:
            band.rekey_child(old_id, new_id)

    def forget_child(self, child_id: int) -> None:
        for band in self.bands:
            band.forget_child(child_id)

    @property
    def spans(self) -> int:
        return self.slow.spans + self.typical.spans
