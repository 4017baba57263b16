"""Repeated calls (N+1): a child called many more times per span of its caller since a point.

Discovery counts, per edge and time bucket, the calls and the distinct calling spans
(``app.discovery.stats``). The change point is found as for a level shift of latency
(``trend.best_split``) on the calls per span of the caller per bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.discovery.patterns import SpanPattern
from app.facts.trend import MIN_SHIFT_BUCKETS, best_split, sustained, window_medians

MIN_REPEATS = 3.0
"""Calls per calling span from which a child's calls are repeated calls (N+1)."""
REPEAT_FACTOR = 2.0


@dataclass(frozen=True)
class RepeatedCall:
    """A child called many more times per span of the pattern since ``since_s`` (N+1)."""

    name: str
    pattern_id: int
    since_s: int
    until_s: int
    calls_per_span_before: float
    """Calls per span of the pattern before ``since_s`` (all its spans)."""
    calls_per_span_after: float
    calls_per_caller_before: float
    """Calls per span of the pattern that called the child at all."""
    calls_per_caller_after: float
    child_p50_ms: float
    """The child's median since ``since_s``."""

    @property
    def added_ms(self) -> float:
        """The extra time per span of the pattern: the extra calls at the child's median."""
        return (self.calls_per_span_after - self.calls_per_span_before) * self.child_p50_ms


def repeated_calls(pattern: SpanPattern, graph: Mapping[int, SpanPattern]) -> list[RepeatedCall]:
    """Children whose calls per span of the pattern jumped at some point and stayed up.

    The change point is found as for a level shift of latency (``trend.best_split``) on the
    calls per span of the pattern per bucket; a child is reported when, after it, it is
    called at least ``MIN_REPEATS`` times per calling span, its calls per span are
    ``REPEAT_FACTOR`` times those before and at least one more, sustained (``trend.sustained``).
    """
    stats = pattern.stats
    found = []
    for child_id, over_time in stats.calls.items():
        child = graph.get(child_id)
        if child is None or child.merged_into is not None or not over_time.buckets:
            continue
        width = max(over_time.width_s, stats.timeline.width_s)
        spans = {b.start_s: b.count for b in stats.timeline.at_width(width).ordered()}
        calls = over_time.at_width(width)
        starts = sorted(start for start, count in spans.items() if count)
        if len(starts) < 2 * MIN_SHIFT_BUCKETS:
            continue
        per_span = [calls.get(start, (0, 0))[0] / spans[start] for start in starts]
        split = best_split(per_span, [float(spans[s]) for s in starts], MIN_SHIFT_BUCKETS)
        if split is None:
            continue
        since = starts[split]
        calls_before, callers_before, spans_before = _totals(starts[:split], calls, spans)
        calls_after, callers_after, spans_after = _totals(starts[split:], calls, spans)
        before = calls_before / spans_before
        after = calls_after / spans_after
        per_caller_after = calls_after / callers_after if callers_after else 0.0
        if (
            per_caller_after < MIN_REPEATS
            or after < REPEAT_FACTOR * before
            or after - before < 1.0
            or not sustained(per_span[:split], per_span[split:])
        ):
            continue
        child_timeline = child.stats.timeline.at_width(max(width, child.stats.timeline.width_s))
        end_s = int(stats.last_seen_unix_nano // 1_000_000_000)
        child_p50, _, _ = window_medians(child_timeline, since, end_s + 1)
        found.append(
            RepeatedCall(
                name=child.name,
                pattern_id=child.id,
                since_s=since,
                until_s=end_s,
                calls_per_span_before=before,
                calls_per_span_after=after,
                calls_per_caller_before=calls_before / callers_before if callers_before else 0.0,
                calls_per_caller_after=per_caller_after,
                child_p50_ms=child_p50,
            )
        )
    found.sort(key=lambda call: -call.added_ms)
    return found


def _totals(
    starts: list[int], calls: Mapping[int, tuple[int, int]], spans: Mapping[int, int]
) -> tuple[int, int, int]:
    """Calls, calling spans and spans of the pattern in the buckets of ``starts``."""
    return (
        sum(calls.get(k, (0, 0))[0] for k in starts),
        sum(calls.get(k, (0, 0))[1] for k in starts),
        sum(spans[k] for k in starts),
    )
