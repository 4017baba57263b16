"""A pattern's slow tail: how many of its calls are far slower than its median, how slow,
and whether they come all the time or in periods.

Slow periods (``app.facts.trend``) find a median that moved. A query whose median is 2 ms
while one call in twenty waits two seconds for a lock, every minute, has no such period:
its slowness is in the shape of the distribution. The tail is the calls slower than
``TAIL_FACTOR`` times the median, counted from the duration sketch (all spans, not samples);
its range is its own 5th to 95th percentile. It is a separate slow mode when even that 5th
percentile is ``MODE_GAP`` times the tail's threshold: the slow calls are not the end of a
spread but a group of their own (a lock wait, a retry after a timeout, a cache miss).

Steady or in periods: each time bucket's tail is counted from its own sketch. Buckets where
the tail's share is ``HOT_FACTOR`` times its overall share are hot; when the hot buckets
hold at least ``HOT_SHARE`` of the tail, it came in periods (the hot runs are reported),
else it is steady, and the answer says in how many of the buckets where at least one slow
call was expected one came.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.discovery.sketches import count_above
from app.discovery.stats import PatternStats

TAIL_FACTOR = 4.0
MIN_TAIL_SHARE = 0.005
MIN_TAIL_SPANS = 5
MODE_GAP = 2.5
HOT_FACTOR = 3.0
HOT_SHARE = 0.5
MIN_BUCKETS = 4
"""Below this many time buckets with calls, steady or not cannot be told."""
PERIODS_SHOWN = 3


@dataclass(frozen=True)
class TailPeriod:
    start_s: int
    end_s: int
    spans: int
    """Slow calls in it."""


@dataclass(frozen=True)
class LatencyTail:
    threshold_ms: float
    """``TAIL_FACTOR`` times the median: calls slower than this are the tail."""
    median_ms: float
    spans: int
    share: float
    low_ms: float
    """The tail's 5th percentile."""
    high_ms: float
    """The tail's 95th percentile."""
    rest_p99_ms: float
    """The other calls' 99th percentile: how slow the body gets."""
    separate: bool
    """A slow mode of its own, far from the body, rather than the end of a spread."""
    bucket_width_s: int
    buckets_expected: int
    """Time buckets where at least one slow call was expected at the tail's share."""
    buckets_with_tail: int
    """Of those, the ones where one came."""
    periods: list[TailPeriod]
    """Where the tail concentrates; empty when it is steady (or cannot be told)."""

    @property
    def steady(self) -> bool:
        return not self.periods and self.buckets_expected >= MIN_BUCKETS

    def as_dict(self) -> dict[str, object]:
        return {
            "slower_than_ms": round(self.threshold_ms, 3),
            "spans": self.spans,
            "share": round(self.share, 4),
            "range_ms": [round(self.low_ms, 3), round(self.high_ms, 3)],
            "rest_p99_ms": round(self.rest_p99_ms, 3),
            "separate_mode": self.separate,
            "steady": self.steady,
            "buckets_with_slow_calls": [self.buckets_with_tail, self.buckets_expected],
            "bucket_width_s": self.bucket_width_s,
            "periods": [
                {"start_unix_s": p.start_s, "end_unix_s": p.end_s, "slow_spans": p.spans}
                for p in self.periods
            ],
        }


def latency_tail(stats: PatternStats) -> LatencyTail | None:
    """The tail, or None when fewer than ``MIN_TAIL_SHARE`` of calls (or ``MIN_TAIL_SPANS``)
    are that slow."""
    sketch = stats.durations_ms
    count = sketch.count
    if not count:
        return None
    median = stats.quantile_ms(0.5)
    threshold = TAIL_FACTOR * median
    slow = count_above(sketch, threshold) if median > 0 else 0.0
    share = slow / count
    if slow < MIN_TAIL_SPANS or share < MIN_TAIL_SHARE:
        return None
    body = 1 - share
    low = stats.quantile_ms(body + 0.05 * share)
    high = min(stats.quantile_ms(body + 0.95 * share), stats.max_duration_ns / 1e6)
    buckets = stats.timeline.ordered()
    expected = with_tail = 0
    hot: list[tuple[int, int]] = []
    for bucket in buckets:
        in_bucket = count_above(bucket.durations_ms, threshold)
        if bucket.count * share >= 1:
            expected += 1
            with_tail += in_bucket > 0
        if in_bucket >= 2 and in_bucket >= HOT_FACTOR * share * bucket.count:
            hot.append((bucket.start_s, int(in_bucket)))
    periods: list[TailPeriod] = []
    if hot and sum(spans for _, spans in hot) >= HOT_SHARE * slow:
        periods = _runs(hot, stats.timeline.width_s)
    return LatencyTail(
        threshold_ms=threshold,
        median_ms=median,
        spans=round(slow),
        share=share,
        low_ms=low,
        high_ms=max(high, low),
        rest_p99_ms=stats.quantile_ms(body * 0.99),
        separate=low >= MODE_GAP * threshold,
        bucket_width_s=stats.timeline.width_s,
        buckets_expected=expected,
        buckets_with_tail=with_tail,
        periods=periods,
    )


def _runs(hot: list[tuple[int, int]], width_s: int) -> list[TailPeriod]:
    """Hot buckets joined where at most one bucket lies between them, most slow calls first."""
    runs: list[TailPeriod] = []
    for start, spans in hot:
        if runs and start - runs[-1].end_s <= width_s:
            last = runs[-1]
            runs[-1] = TailPeriod(last.start_s, start + width_s, last.spans + spans)
        else:
            runs.append(TailPeriod(start, start + width_s, spans))
    runs.sort(key=lambda run: -run.spans)
    return runs[:PERIODS_SHOWN]
