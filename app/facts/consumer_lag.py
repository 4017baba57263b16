"""Consumer lag: from the end of a message's producer span to the start of its consumer span.

Discovery measures it per consumer pattern as spans arrive (``app.discovery.stats``: a
sketch overall and per time bucket); the facts give typical, p95 and peak lag, when the
peak was, and the periods the consumer fell behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.discovery.stats import PatternStats
from app.facts.trend import slow_periods


@dataclass(frozen=True)
class LagPeriod:
    start_s: int
    end_s: int
    p50_during_ms: float
    p50_outside_ms: float


@dataclass(frozen=True)
class ConsumerLag:
    """From the end of the producer span to the start of the consumer span."""

    messages: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    peak_at_s: int
    """The start of the time bucket with the longest lag."""
    behind: list[LagPeriod] = field(default_factory=list)
    """When the lag's median stood out from the rest of its time (it fell behind)."""


def consumer_lag(stats: PatternStats) -> ConsumerLag | None:
    sketch = stats.lag_ms
    if not sketch.count:
        return None

    def quantile(q: float) -> float:
        value = sketch.get_quantile_value(q)
        return float(value) if value is not None else 0.0

    buckets = stats.lag_timeline.ordered()
    peak = max(buckets, key=lambda b: b.quantile_ms(1.0), default=None)
    return ConsumerLag(
        messages=int(sketch.count),
        p50_ms=quantile(0.5),
        p95_ms=quantile(0.95),
        max_ms=quantile(1.0),
        peak_at_s=peak.start_s if peak is not None else 0,
        behind=[
            LagPeriod(p.start_s, p.end_s, p.p50_during_ms, p.p50_outside_ms)
            for p in slow_periods(stats.lag_timeline)
        ],
    )
