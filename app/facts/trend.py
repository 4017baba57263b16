"""When a pattern got slow, or failed: periods that stand out from the rest of its time.

**Slow periods.** The usual median is the median of the per-bucket medians (robust while
slow periods cover less than half of the time seen). A bucket is slow when its median is
``SLOW_FACTOR`` times that or more; neighbouring slow buckets, with at most one bucket
between them, make one period. For each period the durations inside and outside are
compared from the merged bucket sketches, so the numbers are those of all spans counted, not
of samples. A period whose median, all its spans merged, is not ``MIN_PERIOD_FACTOR`` times
the rest's is dropped: its buckets stood out against the median of medians, not against the
rest of the time, and calling it slow would be wrong.

**Level shifts.** A slowdown that lasts to the end and covers much of the time (a deploy
that made a route slower) raises the median of medians with it, so its buckets do not stand
out. The change point is the split of the bucket series into before and after that leaves
the least squared spread of the log bucket medians around each side's mean (one
change-point search, as in binary segmentation). It is a level shift when both sides have
``MIN_SHIFT_BUCKETS`` buckets, the after side's median, its spans merged, is
``SHIFT_FACTOR`` times the before side's, and the shift is sustained: of all pairs of a
bucket before and one after, at least ``SUSTAINED_SHARE`` have the later median higher (the
Mann-Whitney U statistic, as a share; a slow period that ended, or a few slow buckets of a
noisy pattern, fall short). Slow periods inside the shifted
time are part of it and are not reported again.

**Error periods.** A bucket fails when it holds at least ``MIN_BUCKET_ERRORS`` errors and
its error rate is at least ``MIN_ERROR_RATE`` and ``ERROR_FACTOR`` times the pattern's
overall rate (so a pattern that always fails as often has none); failing buckets join into
periods as slow ones do, and a period is kept when its rate is ``ERROR_FACTOR`` times the
rate outside it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from app.discovery.timeline import TimeBucket, Timeline, merged

SLOW_FACTOR = 2.5
MIN_BUCKET_SPANS = 3
MIN_PERIOD_FACTOR = 1.5
SHIFT_FACTOR = 1.5
MIN_SHIFT_BUCKETS = 3
SUSTAINED_SHARE = 0.9
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
    since_change: bool = False
    """A level shift: slower from ``start_s`` on, to the last span seen; ``outside`` is
    before it."""

    @property
    def factor(self) -> float:
        return self.p50_during_ms / self.p50_outside_ms if self.p50_outside_ms > 0 else 0.0


def usual_median_ms(timeline: Timeline) -> float:
    medians = [b.quantile_ms(0.5) for b in timeline.ordered() if b.count >= MIN_BUCKET_SPANS]
    return statistics.median(medians) if medians else 0.0


def slow_periods(timeline: Timeline) -> list[SlowPeriod]:
    """The level shift, if any, then the slow periods outside it."""
    shift = level_shift(timeline)
    if shift is None:
        return _slow_periods(timeline)
    return [shift] + [p for p in _slow_periods(timeline) if p.end_s <= shift.start_s]


def best_split(values: Sequence[float], weights: Sequence[float], least: int) -> int | None:
    """The index that splits ``values`` into two runs of at least ``least`` values with the
    least weighted squared spread around each run's mean; None when too short."""
    count = len(values)
    if count < 2 * least:
        return None
    best: tuple[float, int] | None = None
    for split in range(least, count - least + 1):
        spread = _spread(values[:split], weights[:split]) + _spread(values[split:], weights[split:])
        if best is None or spread < best[0]:
            best = (spread, split)
    return None if best is None else best[1]


def _spread(values: Sequence[float], weights: Sequence[float]) -> float:
    total = sum(weights)
    if total <= 0:
        return 0.0
    mean = sum(v * w for v, w in zip(values, weights, strict=True)) / total
    return sum(w * (v - mean) ** 2 for v, w in zip(values, weights, strict=True))


def sustained(before: Sequence[float], after: Sequence[float]) -> bool:
    """Whether at least ``SUSTAINED_SHARE`` of the pairs of a value before and one after
    have the one after higher (ties count half)."""
    if not before or not after:
        return False
    higher = sum(1.0 if b > a else 0.5 if b == a else 0.0 for a in before for b in after)
    return higher / (len(before) * len(after)) >= SUSTAINED_SHARE


def level_shift(timeline: Timeline) -> SlowPeriod | None:
    """The point from which the pattern stayed slower to the end (see the module's doc)."""
    buckets = timeline.ordered()
    counted = [b for b in buckets if b.count >= MIN_BUCKET_SPANS]
    medians = [b.quantile_ms(0.5) for b in counted]
    if len(counted) < 2 * MIN_SHIFT_BUCKETS or min(medians) <= 0:
        return None
    logs = [math.log(m) for m in medians]
    split = best_split(logs, [1.0] * len(logs), MIN_SHIFT_BUCKETS)
    if split is None:
        return None
    start = counted[split].start_s
    before = merged(b for b in buckets if b.start_s < start)
    after = merged(b for b in buckets if b.start_s >= start)
    p50_before, p50_after = before.quantile_ms(0.5), after.quantile_ms(0.5)
    if p50_before <= 0 or p50_after < SHIFT_FACTOR * p50_before:
        return None
    if not sustained(medians[:split], medians[split:]):
        return None
    total = before.count + after.count
    return SlowPeriod(
        start_s=start,
        end_s=buckets[-1].start_s + timeline.width_s,
        spans=after.count,
        share=after.count / total if total else 0.0,
        p50_during_ms=p50_after,
        p50_outside_ms=p50_before,
        p95_during_ms=after.quantile_ms(0.95),
        p95_outside_ms=before.quantile_ms(0.95),
        since_change=True,
    )


def _slow_periods(timeline: Timeline) -> list[SlowPeriod]:
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
