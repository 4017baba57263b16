"""Statistics of one span pattern, in memory that does not grow with its span count.

Durations go into a DDSketch (relative accuracy 0.5%, so every quantile is within 1% of the
exact value); counters of status codes and exception types keep at most ``MAX_DISTINCT``
keys (the rest are counted under ``other``); samples are a fixed-size reservoir of typical
spans plus the slowest and the latest erroring ones.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from dataclasses import dataclass, field

from ddsketch import DDSketch

from connectors.spans import Span, StatusCode

MAX_DISTINCT = 50
OTHER = "other"
TYPICAL_SAMPLES = 5
SLOWEST_SAMPLES = 3
ERROR_SAMPLES = 3
SKETCH_ACCURACY = 0.005

_STATUS_ATTRIBUTES = (
    "http.response.status_code",
    "http.status_code",
    "rpc.grpc.status_code",
    "rpc.response.status_code",
)


def count_bounded(counter: Counter[str], key: str, amount: int = 1) -> None:
    """Count ``key``, or ``other`` once ``MAX_DISTINCT`` keys are known."""
    if key in counter or len(counter) < MAX_DISTINCT:
        counter[key] += amount
    else:
        counter[OTHER] += amount


@dataclass
class PatternStats:
    count: int = 0
    error_count: int = 0
    first_seen_unix_nano: int = 0
    last_seen_unix_nano: int = 0
    max_duration_ns: int = 0
    durations_ms: DDSketch = field(default_factory=lambda: DDSketch(SKETCH_ACCURACY))
    status_codes: Counter[str] = field(default_factory=Counter)
    exception_types: Counter[str] = field(default_factory=Counter)
    typical: list[Span] = field(default_factory=list)
    slowest: list[tuple[int, str, Span]] = field(default_factory=list)
    """A min-heap of (duration, span id, span): its root is the fastest of the slowest."""
    errors: list[Span] = field(default_factory=list)

    def add(self, span: Span, rng: random.Random) -> None:
        duration = span.end_unix_nano - span.start_unix_nano
        self.count += 1
        if self.first_seen_unix_nano == 0 or span.start_unix_nano < self.first_seen_unix_nano:
            self.first_seen_unix_nano = span.start_unix_nano
        if span.end_unix_nano > self.last_seen_unix_nano:
            self.last_seen_unix_nano = span.end_unix_nano
        if duration > self.max_duration_ns:
            self.max_duration_ns = duration
        self.durations_ms.add(max(duration, 0) / 1e6)
        attributes = span.attributes
        for name in _STATUS_ATTRIBUTES:
            code = attributes.get(name)
            if code is not None:
                count_bounded(self.status_codes, str(code))
                break
        if span.events:
            for event in span.events:
                if event.name == "exception":
                    kind = event.attributes.get("exception.type")
                    if kind:
                        count_bounded(self.exception_types, str(kind))
        if span.status_code is StatusCode.ERROR:
            self.error_count += 1
            self.errors.append(span)
            if len(self.errors) > ERROR_SAMPLES:
                del self.errors[0]
        self._sample(span, duration, rng)

    def _sample(self, span: Span, duration: int, rng: random.Random) -> None:
        # Reservoir sampling (Vitter's algorithm R): each span is kept with equal chance.
        if len(self.typical) < TYPICAL_SAMPLES:
            self.typical.append(span)
        else:
            slot = int(rng.random() * self.count)  # randrange's checks cost more than this
            if slot < TYPICAL_SAMPLES:
                self.typical[slot] = span
        entry = (duration, span.span_id, span)
        if len(self.slowest) < SLOWEST_SAMPLES:
            heapq.heappush(self.slowest, entry)
        elif duration > self.slowest[0][0]:
            heapq.heapreplace(self.slowest, entry)

    @property
    def error_rate(self) -> float:
        return self.error_count / self.count if self.count else 0.0

    @property
    def rate_per_s(self) -> float:
        """Spans per second over the time this pattern was seen."""
        seconds = (self.last_seen_unix_nano - self.first_seen_unix_nano) / 1e9
        return self.count / seconds if seconds > 0 else float(self.count)

    def quantile_ms(self, q: float) -> float:
        value = self.durations_ms.get_quantile_value(q)
        return float(value) if value is not None else 0.0

    def slowest_spans(self) -> list[Span]:
        return [span for _, _, span in sorted(self.slowest, reverse=True)]

    def summary(self) -> dict[str, object]:
        return {
            "count": self.count,
            "rate_per_s": round(self.rate_per_s, 4),
            "first_seen_unix_nano": self.first_seen_unix_nano,
            "last_seen_unix_nano": self.last_seen_unix_nano,
            "p50_ms": round(self.quantile_ms(0.50), 3),
            "p90_ms": round(self.quantile_ms(0.90), 3),
            "p95_ms": round(self.quantile_ms(0.95), 3),
            "p99_ms": round(self.quantile_ms(0.99), 3),
            "max_ms": round(self.max_duration_ns / 1e6, 3),
            "error_count": self.error_count,
            "error_rate": round(self.error_rate, 6),
            "status_codes": dict(self.status_codes.most_common()),
            "exception_types": dict(self.exception_types.most_common()),
        }
