"""A pattern's numbers over time: span count, errors and a duration sketch per time bucket.

"Why is it slow?" is mostly "since when, and what else changed then": a latency trend per
pattern answers it, and comparing a parent's trend with its children's tells which one the
extra time comes from. Buckets start a minute wide; when a pattern has more than
``MAX_BUCKETS`` of them, neighbours merge two by two (sketches are mergeable) and the width
doubles, so memory stays bounded per pattern however long it is observed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ddsketch import DDSketch

from app.discovery.sketches import SKETCH_ACCURACY, add_durations_ms

BASE_WIDTH_S = 60
MAX_BUCKETS = 120


@dataclass
class TimeBucket:
    start_s: int
    count: int = 0
    errors: int = 0
    durations_ms: DDSketch = field(default_factory=lambda: DDSketch(SKETCH_ACCURACY))

    def quantile_ms(self, q: float) -> float:
        value = self.durations_ms.get_quantile_value(q)
        return float(value) if value is not None else 0.0

    def merge(self, other: TimeBucket) -> None:
        self.count += other.count
        self.errors += other.errors
        self.durations_ms.merge(other.durations_ms)


@dataclass
class Timeline:
    width_s: int = BASE_WIDTH_S
    buckets: dict[int, TimeBucket] = field(default_factory=dict)
    """By the bucket's start, a multiple of ``width_s`` in unix seconds."""

    def add(
        self, starts_s: Sequence[int], durations_ms: Sequence[float], errors: Sequence[bool]
    ) -> None:
        grouped: dict[int, tuple[list[float], list[bool]]] = {}
        width = self.width_s
        for start, duration, error in zip(starts_s, durations_ms, errors, strict=True):
            key = start - start % width
            group = grouped.get(key)
            if group is None:
                grouped[key] = ([duration], [error])
            else:
                group[0].append(duration)
                group[1].append(error)
        for key, (durations, failed) in grouped.items():
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = TimeBucket(key)
            bucket.count += len(durations)
            bucket.errors += sum(failed)
            add_durations_ms(bucket.durations_ms, durations)
        while len(self.buckets) > MAX_BUCKETS:
            self.coarsen()

    def coarsen(self, width_s: int | None = None) -> None:
        """Merge buckets into ones of ``width_s`` (default: twice as wide)."""
        width = width_s or self.width_s * 2
        if width % self.width_s:
            raise ValueError(f"{width} s is not a multiple of {self.width_s} s")
        merged: dict[int, TimeBucket] = {}
        for start in sorted(self.buckets):
            key = start - start % width
            bucket = self.buckets[start]
            if key in merged:
                merged[key].merge(bucket)
            else:
                bucket.start_s = key
                merged[key] = bucket
        self.width_s, self.buckets = width, merged

    def merge(self, other: Timeline) -> None:
        other = other.copy()
        width = max(self.width_s, other.width_s)
        if self.width_s != width:
            self.coarsen(width)
        if other.width_s != width:
            other.coarsen(width)
        for key, bucket in other.buckets.items():
            if key in self.buckets:
                self.buckets[key].merge(bucket)
            else:
                self.buckets[key] = bucket
        while len(self.buckets) > MAX_BUCKETS:
            self.coarsen()

    def copy(self) -> Timeline:
        copied = Timeline(self.width_s)
        for key, bucket in self.buckets.items():
            sketch = DDSketch(SKETCH_ACCURACY)
            sketch.merge(bucket.durations_ms)
            copied.buckets[key] = TimeBucket(key, bucket.count, bucket.errors, sketch)
        return copied

    def at_width(self, width_s: int) -> Timeline:
        """A copy with buckets of ``width_s`` (a multiple of this one's width)."""
        copied = self.copy()
        if width_s != copied.width_s:
            copied.coarsen(width_s)
        return copied

    def ordered(self) -> list[TimeBucket]:
        return [self.buckets[key] for key in sorted(self.buckets)]


def merged(buckets: Iterable[TimeBucket]) -> TimeBucket:
    """One bucket holding all of ``buckets`` (its start is the first one's)."""
    total: TimeBucket | None = None
    for bucket in buckets:
        if total is None:
            total = TimeBucket(bucket.start_s)
        total.merge(bucket)
    return total or TimeBucket(0)


@dataclass
class CallTimeline:
    """Calls from one pattern's spans to one child pattern, per time bucket: the calls and
    the distinct parent spans that made them.

    Calls per parent span over time is what shows an N+1 loop appearing (a cart that starts
    running one SELECT per item). Buckets coarsen as ``Timeline``'s do, so memory is
    bounded per edge of the pattern graph.
    """

    width_s: int = BASE_WIDTH_S
    buckets: dict[int, list[int]] = field(default_factory=dict)
    """By the bucket's start: ``[calls, parent spans that made them]``."""

    def add(self, start_s: int, calls: int, callers: int) -> None:
        key = start_s - start_s % self.width_s
        bucket = self.buckets.get(key)
        if bucket is None:
            self.buckets[key] = [calls, callers]
            if len(self.buckets) > MAX_BUCKETS:
                self.coarsen()
        else:
            bucket[0] += calls
            bucket[1] += callers

    def coarsen(self, width_s: int | None = None) -> None:
        width = width_s or self.width_s * 2
        if width % self.width_s:
            raise ValueError(f"{width} s is not a multiple of {self.width_s} s")
        merged: dict[int, list[int]] = {}
        for start, (calls, callers) in self.buckets.items():
            key = start - start % width
            bucket = merged.get(key)
            if bucket is None:
                merged[key] = [calls, callers]
            else:
                bucket[0] += calls
                bucket[1] += callers
        self.width_s, self.buckets = width, merged
        while len(self.buckets) > MAX_BUCKETS:
            self.coarsen()

    def merge(self, other: CallTimeline) -> None:
        width = max(self.width_s, other.width_s)
        if self.width_s != width:
            self.coarsen(width)
        for start, (calls, callers) in other.at_width(width).items():
            self.add(start, calls, callers)

    def at_width(self, width_s: int) -> dict[int, tuple[int, int]]:
        """``{bucket start: (calls, parent spans)}`` with buckets of ``width_s`` (a multiple
        of this one's width)."""
        found: dict[int, tuple[int, int]] = {}
        for start, (calls, callers) in self.buckets.items():
            key = start - start % width_s
            had = found.get(key, (0, 0))
            found[key] = (had[0] + calls, had[1] + callers)
        return found
