"""Patterns' numbers over a time window, read from their stored timelines.

Each pattern keeps its spans, errors and a duration sketch per time bucket (a minute wide
until it has too many, then wider: ``app.discovery.timeline``). A window takes the buckets
whose middle lies inside it, so two windows side by side never count a bucket twice, and
says which span of time those buckets cover when it is not the one asked. Latency is read
from the buckets' encoded sketches together (``quantiles_of_encoded``), only when asked:
"what changed" reads the counts of every pattern and the latency of a few.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from app.discovery.sketches import merged_counts, quantiles_of_counts, share_above_counts
from app.discovery.store import StoredActivity

QUANTILES = (0.5, 0.95, 0.99)
_NEVER = (-(2**62), 2**62)


@dataclass(frozen=True)
class WindowNumbers:
    """One pattern's spans in the buckets read for a window."""

    start_s: int
    end_s: int
    """The time the buckets read cover (the asked window when none are read)."""
    spans: int
    errors: int
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    """None when not read, or when there are no spans."""

    @property
    def seconds(self) -> int:
        return self.end_s - self.start_s

    @property
    def rate_per_s(self) -> float:
        return self.spans / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.spans if self.spans else 0.0

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "start_unix_s": self.start_s,
            "end_unix_s": self.end_s,
            "spans": self.spans,
            "rate_per_s": round(self.rate_per_s, 4),
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
        }
        if self.p50_ms is not None:
            found["latency_ms"] = {
                "p50": round(self.p50_ms, 3),
                "p95": round(self.p95_ms or 0.0, 3),
                "p99": round(self.p99_ms or 0.0, 3),
            }
        return found


class PatternActivity:
    """One pattern's timeline, as stored: bucket starts, spans, errors, encoded sketches."""

    __slots__ = ("width_s", "_middles", "_spans", "_errors", "_sketches", "_spans_before")

    def __init__(self, width_s: int, buckets: Iterable[tuple[int, int, int, bytes]]) -> None:
        ordered = sorted(buckets)
        self.width_s = width_s
        self._middles = [start + width_s // 2 for start, _, _, _ in ordered]
        self._spans = [spans for _, spans, _, _ in ordered]
        self._errors = [errors for _, _, errors, _ in ordered]
        self._sketches = [sketch for _, _, _, sketch in ordered]
        self._spans_before = [0, *accumulate(self._spans)]

    def _range(self, start_s: int, end_s: int) -> tuple[int, int]:
        first = bisect_left(self._middles, start_s)
        last = bisect_left(self._middles, end_s)
        if first == last and first < len(self._middles):
            # a window narrower than a bucket: the bucket it lies in, if one does
            bucket_start = self._middles[first] - self.width_s // 2
            if bucket_start < end_s and start_s < bucket_start + self.width_s:
                return first, first + 1
        return first, last

    def spans_between(self, start_s: int, end_s: int) -> int:
        first, last = self._range(start_s, end_s)
        return self._spans_before[last] - self._spans_before[first]

    def numbers(
        self, start_s: int, end_s: int, seen: tuple[int, int], *, latency: bool = True
    ) -> WindowNumbers:
        """Its spans in the window. The time they are counted over is the one the buckets
        read cover, within ``seen`` (when the first and the last span of all patterns were
        seen): a pattern that had none for a while had none, but before the first span of
        any there is nothing to count over."""
        first, last = self._range(start_s, end_s)
        covered = self._covered(start_s, end_s)
        if covered[0] >= covered[1]:  # narrower than a bucket: the one it lies in
            covered = (start_s, end_s)
            if first < last:
                bucket_start = self._middles[first] - self.width_s // 2
                covered = (bucket_start, bucket_start + self.width_s)
        covered = (max(covered[0], seen[0]), min(covered[1], seen[1]))
        if covered[0] >= covered[1]:  # no span of any pattern was seen then
            covered = (start_s, start_s)
        spans = self._spans_before[last] - self._spans_before[first]
        errors = sum(self._errors[first:last])
        if not latency or spans == 0:
            return WindowNumbers(*covered, spans, errors)
        p50, p95, p99 = quantiles_of_counts(*self._counts(first, last), QUANTILES)
        return WindowNumbers(*covered, spans, errors, p50, p95, p99)

    def p95_ms(self, start_s: int, end_s: int) -> float:
        return quantiles_of_counts(*self._counts(*self._range(start_s, end_s)), (0.95,))[0]

    def share_above(self, start_s: int, end_s: int, value_ms: float) -> float:
        """The share of its spans in the window that took longer than ``value_ms``."""
        return share_above_counts(*self._counts(*self._range(start_s, end_s)), value_ms)

    def sketches_between(self, start_s: int, end_s: int) -> list[bytes]:
        """The encoded sketches of the buckets read for the window."""
        first, last = self._range(start_s, end_s)
        return self._sketches[first:last]

    def _counts(self, first: int, last: int) -> tuple[float, dict[int, float]]:
        return merged_counts(self._sketches[first:last])

    def _covered(self, start_s: int, end_s: int) -> tuple[int, int]:
        """The time of the buckets whose middle lies in the window, had it all of them."""
        width, half = self.width_s, self.width_s // 2
        return _ceil(start_s - half, width), _ceil(end_s - half, width)

    @property
    def first_s(self) -> int | None:
        return self._middles[0] - self.width_s // 2 if self._middles else None


class ActivityIndex:
    """Every live pattern's activity: built once per version of the store (a tenth of a
    second per 10,000 patterns), read by every question about a window until it changes.

    Besides each pattern's own, every bucket of every pattern sits in flat arrays (its
    middle, spans, errors, and whose it is): the spans and errors of all patterns in a
    window are then two masked sums, a millisecond at 10,000 patterns.
    """

    def __init__(self, stored: Mapping[int, StoredActivity], seen: tuple[int, int]) -> None:
        self.seen = seen
        """From the first span seen to just after the last (unix seconds)."""
        self._patterns = {
            pattern_id: PatternActivity(width, buckets)
            for pattern_id, (width, buckets) in stored.items()
        }
        self.pattern_ids = list(self._patterns)
        owners, middles, spans, errors, widths = [], [], [], [], []
        for number, activity in enumerate(self._patterns.values()):
            owners.extend([number] * len(activity._middles))
            widths.extend([activity.width_s] * len(activity._middles))
            middles.extend(activity._middles)
            spans.extend(activity._spans)
            errors.extend(activity._errors)
        self._owners = np.array(owners, dtype=np.int64)
        self._middles = np.array(middles, dtype=np.int64)
        self._spans = np.array(spans, dtype=np.int64)
        self._errors = np.array(errors, dtype=np.int64)
        self.first_middles = np.array(
            [a._middles[0] if a._middles else 0 for a in self._patterns.values()], np.int64
        )
        """Per pattern (``pattern_ids``' order), the middle of its first bucket, and of its
        last: when it was first and last seen, to a bucket."""
        self.last_middles = np.array(
            [a._middles[-1] if a._middles else 0 for a in self._patterns.values()], np.int64
        )
        bucket_widths = np.array(widths, dtype=np.int64)
        self._starts = self._middles - bucket_widths // 2
        self._ends = self._starts + bucket_widths

    def of(self, pattern_id: int) -> PatternActivity | None:
        return self._patterns.get(pattern_id)

    def reach(self, start_s: int, end_s: int) -> tuple[int, int]:
        """The window to read buckets over: one that reaches past the newest span (or
        before the oldest) reads every bucket on that side, the newest one too, whose
        middle may lie after the window's end ("the last 10 minutes" ends now)."""
        return (
            start_s if start_s > self.seen[0] else _NEVER[0],
            end_s if end_s < self.seen[1] else _NEVER[1],
        )

    def totals(self, start_s: int, end_s: int) -> tuple[np.ndarray, np.ndarray]:
        """Spans and errors in the window of every pattern, in ``pattern_ids``' order (by
        buckets whose middle lies in it: a window narrower than a bucket counts none)."""
        inside = (self._middles >= start_s) & (self._middles < end_s)
        owners, size = self._owners[inside], len(self.pattern_ids)
        spans = np.bincount(owners, weights=self._spans[inside], minlength=size)
        errors = np.bincount(owners, weights=self._errors[inside], minlength=size)
        return spans.astype(np.int64), errors.astype(np.int64)

    def has_spans(self, start_s: int, end_s: int) -> bool:
        """Whether any pattern's bucket overlaps the window (buckets hold spans)."""
        return bool(((self._starts < end_s) & (self._ends > start_s)).any())


def _ceil(value: int, step: int) -> int:
    return -(-value // step) * step
