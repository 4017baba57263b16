"""When a pattern got slow, or failed: periods that stand out from the rest of its time.

**Slow periods.** The usual median is the median of the per-bucket medians (robust while
slow periods cover less than half of the time seen). A bucket is slow when its median is
``SLOW_FACTOR`` times that or more; neighbouring slow buckets, with at most one bucket
between them, make one period. For each period the durations inside and outside are
compared from the merged bucket sketches, so the numbers are those of all spans counted, not
of samples. A period whose median, all its spans merged, is not ``MIN_PERIOD_FACTOR`` times
the rest's is dropped: its buckets stood out against the median of medians, not against the
rest of the time, and calling it slow would be wrong.

**Error periods.** A bucket fails when it holds at least ``MIN_BUCKET_ERRORS`` errors and
its error rate is at least ``MIN_ERROR_RATE`` and ``ERROR_FACTOR`` times the pattern's
overall rate (so a pattern that always fails as often has none); failing buckets join into
periods as slow ones do, and a period is kept when its rate is ``ERROR_FACTOR`` times the
rate outside it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from app.discovery.timeline import TimeBucket, Timeline, merged

SLOW_FACTOR = 2.5
MIN_BUCKET_SPANS = 3
MIN_PERIOD_FACTOR = 1.5
ERROR_FACTOR = 3.0
MIN_BUCKET_ERRORS = 2
MIN_ERROR_RATE = 0.2


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
    total = sum(b.count for b in buckets)
    periods = []
    for start, end in _runs(slow, timeline.width_s):
        inside = [b for b in buckets if start <= b.start_s < end]
        outside = [b for b in buckets if not start <= b.start_s < end]
        during, rest = merged(inside), merged(outside)
        period = SlowPeriod(
            start_s=start,
            end_s=end,
            spans=during.count,
            share=during.count / total if total else 0.0,
            p50_during_ms=during.quantile_ms(0.5),
            p50_outside_ms=rest.quantile_ms(0.5),
            p95_during_ms=during.quantile_ms(0.95),
            p95_outside_ms=rest.quantile_ms(0.95),
        )
        if period.factor >= MIN_PERIOD_FACTOR:
            periods.append(period)
    return periods


@dataclass(frozen=True)
class ErrorPeriod:
    start_s: int
    end_s: int
    spans: int
    errors: int
    spans_outside: int
    errors_outside: int

    @property
    def rate(self) -> float:
        return self.errors / self.spans if self.spans else 0.0

    @property
    def rate_outside(self) -> float:
        return self.errors_outside / self.spans_outside if self.spans_outside else 0.0


def error_periods(timeline: Timeline) -> list[ErrorPeriod]:
    buckets = timeline.ordered()
    total = sum(b.count for b in buckets)
    total_errors = sum(b.errors for b in buckets)
    if not total_errors:
        return []
    overall = total_errors / total
    failing = [
        b
        for b in buckets
        if b.errors >= MIN_BUCKET_ERRORS
        and b.errors / b.count >= max(MIN_ERROR_RATE, ERROR_FACTOR * overall)
    ]
    periods = []
    for start, end in _runs(failing, timeline.width_s):
        inside = [b for b in buckets if start <= b.start_s < end]
        spans, errors = sum(b.count for b in inside), sum(b.errors for b in inside)
        period = ErrorPeriod(start, end, spans, errors, total - spans, total_errors - errors)
        if period.rate >= ERROR_FACTOR * period.rate_outside:
            periods.append(period)
    return periods


def _runs(buckets: list[TimeBucket], width_s: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each run of buckets, with at most one bucket between neighbours."""
    runs: list[list[TimeBucket]] = []
    for bucket in buckets:
        if runs and bucket.start_s - runs[-1][-1].start_s <= 2 * width_s:
            runs[-1].append(bucket)
        else:
            runs.append([bucket])
    return [(run[0].start_s, run[-1].start_s + width_s) for run in runs]


def window_medians(timeline: Timeline, start_s: int, end_s: int) -> tuple[float, float, int]:
    """Median duration inside ``[start_s, end_s)`` and outside it, and the spans inside."""
    inside = [b for b in timeline.ordered() if start_s <= b.start_s < end_s]
    outside = [b for b in timeline.ordered() if not start_s <= b.start_s < end_s]
    during = merged(inside)
    return during.quantile_ms(0.5), merged(outside).quantile_ms(0.5), during.count
