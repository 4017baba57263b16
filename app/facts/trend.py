"""When a pattern got slow: periods whose median duration stands well above its usual one.

The usual median is the median of the per-bucket medians (robust while slow periods cover
less than half of the time seen). A bucket is slow when its median is ``SLOW_FACTOR`` times
that or more; neighbouring slow buckets, with at most one bucket between them, make one
period. For each period the durations inside and outside are compared from the merged
bucket sketches, so the numbers are those of all spans counted, not of samples.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from app.discovery.timeline import TimeBucket, Timeline, merged

SLOW_FACTOR = 2.5
MIN_BUCKET_SPANS = 3


@dataclass(frozen=True)
class SlowPeriod:
    start_s: int
    end_s: int
    spans: int
    share: float
    """Of the pattern's spans, the share that started in the period."""
    p50_during_ms: float
    p50_outside_ms: float
    p95_during_ms: float
    p95_outside_ms: float

    @property
    def factor(self) -> float:
        return self.p50_during_ms / self.p50_outside_ms if self.p50_outside_ms > 0 else 0.0


def usual_median_ms(timeline: Timeline) -> float:
    medians = [b.quantile_ms(0.5) for b in timeline.ordered() if b.count >= MIN_BUCKET_SPANS]
    return statistics.median(medians) if medians else 0.0


def slow_periods(timeline: Timeline) -> list[SlowPeriod]:
    buckets = timeline.ordered()
    usual = usual_median_ms(timeline)
    if usual <= 0:
        return []
    slow = [
        b
        for b in buckets
        if b.count >= MIN_BUCKET_SPANS and b.quantile_ms(0.5) >= SLOW_FACTOR * usual
    ]
    runs: list[list[TimeBucket]] = []
    for bucket in slow:
        if runs and bucket.start_s - runs[-1][-1].start_s <= 2 * timeline.width_s:
            runs[-1].append(bucket)
        else:
            runs.append([bucket])
    total = sum(b.count for b in buckets)
    periods = []
    for run in runs:
        start, end = run[0].start_s, run[-1].start_s + timeline.width_s
        inside = [b for b in buckets if start <= b.start_s < end]
        outside = [b for b in buckets if not start <= b.start_s < end]
        during, rest = merged(inside), merged(outside)
        periods.append(
            SlowPeriod(
                start_s=start,
                end_s=end,
                spans=during.count,
                share=during.count / total if total else 0.0,
                p50_during_ms=during.quantile_ms(0.5),
                p50_outside_ms=rest.quantile_ms(0.5),
                p95_during_ms=during.quantile_ms(0.95),
                p95_outside_ms=rest.quantile_ms(0.95),
            )
        )
    return periods


def window_medians(timeline: Timeline, start_s: int, end_s: int) -> tuple[float, float, int]:
    """Median duration inside ``[start_s, end_s)`` and outside it, and the spans inside."""
    inside = [b for b in timeline.ordered() if start_s <= b.start_s < end_s]
    outside = [b for b in timeline.ordered() if not start_s <= b.start_s < end_s]
    during = merged(inside)
    return during.quantile_ms(0.5), merged(outside).quantile_ms(0.5), during.count
