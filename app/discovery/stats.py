"""Statistics of one span pattern, in memory that does not grow with its span count.

Durations go into a DDSketch (relative accuracy 0.5%, so every quantile is within 1% of the
exact value); counters of status codes and exception types keep at most ``MAX_DISTINCT``
keys (the rest are counted under ``other``); samples are a fixed-size reservoir of typical
spans plus the slowest and the latest erroring ones.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ddsketch import DDSketch

from app.discovery.attribute_profile import MIN_SPANS, SLOW_QUANTILE, AttributeProfile
from app.discovery.sketches import SKETCH_ACCURACY, add_durations_ms
from app.discovery.time_profile import TimeProfile
from app.discovery.timeline import CallTimeline, Timeline
from connectors.spans import Span, StatusCode

__all__ = ["SKETCH_ACCURACY", "PatternStats", "add_durations_ms", "count_bounded"]

MAX_DISTINCT = 50
OTHER = "other"
TYPICAL_SAMPLES = 5
SLOWEST_SAMPLES = 3
ERROR_SAMPLES = 3
MIN_PROFILED_CALLS = 10
"""Below this many spans, a pattern's slow percentile means nothing: its calls count as
typical in its time profile."""

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


SlowEntry = tuple[int, str, int, Span]
_tie_breaker = itertools.count()


def slow_entry(duration_ns: int, span: Span) -> SlowEntry:
    """(duration, span id, a number no other entry has, span): heap entries never tie, so
    spans themselves are never compared (the same span can arrive twice)."""
    return (duration_ns, span.span_id, next(_tie_breaker), span)


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
    slowest: list[SlowEntry] = field(default_factory=list)
    """A min-heap (``slow_entry``): its root is the fastest of the slowest."""
    errors: list[Span] = field(default_factory=list)
    timeline: Timeline = field(default_factory=Timeline)
    """Count, errors and durations per time bucket: the trend behind "since when?"."""
    profile: AttributeProfile = field(default_factory=AttributeProfile)
    """Attribute values among slow spans and all spans: what the slow ones share."""
    calls: dict[int, CallTimeline] = field(default_factory=dict)
    """By child pattern id: its calls from these spans over time (N+1 loops show there)."""
    lag_ms: DDSketch = field(default_factory=lambda: DDSketch(SKETCH_ACCURACY))
    """For consumers: from the end of the producer span to the start of this one."""
    lag_timeline: Timeline = field(default_factory=Timeline)
    """Consumer lag per time bucket (of the consumer span's start)."""
    time_profile: TimeProfile = field(default_factory=TimeProfile)
    """Where its time goes, per child pattern on the critical path, slow calls and typical
    ones apart (from whole traces, ``app.discovery.trace_buffer``)."""
    _threshold: float | None = field(default=None, repr=False, compare=False)
    _threshold_count: int = field(default=0, repr=False, compare=False)

    def add(self, span: Span, rng: random.Random) -> None:
        self.add_many((span,), rng)

    def add_many(self, spans: Sequence[Span], rng: random.Random) -> None:
        """Add the spans of one batch that belong to this pattern.

        Batching is what makes statistics cheap: the duration sketch gets one insert per
        bucket rather than one per span (``add_durations_ms``).
        """
        if not spans:
            return
        durations = [span.end_unix_nano - span.start_unix_nano for span in spans]
        durations_ms = [max(d, 0) / 1e6 for d in durations]
        if self.count >= MIN_SPANS:
            self.profile.add(spans, durations_ms, self.slow_threshold_ms())
        self.count += len(spans)
        first = min(span.start_unix_nano for span in spans)
        if self.first_seen_unix_nano == 0 or first < self.first_seen_unix_nano:
            self.first_seen_unix_nano = first
        self.last_seen_unix_nano = max(
            self.last_seen_unix_nano, max(span.end_unix_nano for span in spans)
        )
        self.max_duration_ns = max(self.max_duration_ns, max(durations))
        add_durations_ms(self.durations_ms, durations_ms)
        self.timeline.add(
            [span.start_unix_nano // 1_000_000_000 for span in spans],
            durations_ms,
            [span.status_code is StatusCode.ERROR for span in spans],
        )
        codes: list[str] = []
        for span in spans:
            attributes = span.attributes
            for name in _STATUS_ATTRIBUTES:
                code = attributes.get(name)
                if code is not None:
                    codes.append(str(code))
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
            del self.errors[:-ERROR_SAMPLES]
        if codes:
            for code, amount in Counter(codes).items():
                count_bounded(self.status_codes, code, amount)
        self._sample(spans, durations, rng)

    def add_calls(self, child_id: int, start_s: int, calls: int, callers: int) -> None:
        """``calls`` to ``child_id`` made by ``callers`` of these spans, starting in the
        bucket of ``start_s``."""
        timeline = self.calls.get(child_id)
        if timeline is None:
            timeline = self.calls[child_id] = CallTimeline()
        timeline.add(start_s, calls, callers)

    def add_lags(self, starts_s: Sequence[int], lags_ms: Sequence[float]) -> None:
        """Consumer lags (negative ones, from clock skew, count as none)."""
        clamped = [max(lag, 0.0) for lag in lags_ms]
        add_durations_ms(self.lag_ms, clamped)
        self.lag_timeline.add(starts_s, clamped, [False] * len(clamped))

    def rekey_child(self, old_id: int, new_id: int) -> None:
        """A child pattern folded into another: its calls and time are the other's."""
        moved = self.calls.pop(old_id, None)
        if moved is not None:
            self.merge_calls(new_id, moved)
        self.time_profile.rekey_child(old_id, new_id)

    def forget_child(self, child_id: int) -> None:
        """A child pattern retired to be replayed into new ones."""
        self.calls.pop(child_id, None)
        self.time_profile.forget_child(child_id)

    @property
    def lag_count(self) -> int:
        return int(self.lag_ms.count)

    def _sample(self, spans: Sequence[Span], durations: list[int], rng: random.Random) -> None:
        # Reservoir sampling (Vitter's algorithm R): each span is kept with equal chance.
        typical = self.typical
        seen = self.count - len(spans)
        for span in spans:
            seen += 1
            if len(typical) < TYPICAL_SAMPLES:
                typical.append(span)
            else:
                slot = int(rng.random() * seen)  # randrange's checks cost more than this
                if slot < TYPICAL_SAMPLES:
                    typical[slot] = span
        slowest = self.slowest
        for duration, span in zip(durations, spans, strict=True):
            if len(slowest) < SLOWEST_SAMPLES:
                heapq.heappush(slowest, slow_entry(duration, span))
            elif duration > slowest[0][0]:
                heapq.heapreplace(slowest, slow_entry(duration, span))

    def slow_threshold_ms(self) -> float:
        """The percentile slow spans are measured against, as of before this batch.

        Looked up in the sketch again only once the count has grown by a tenth: a lookup
        walks the sketch's bins, and the percentile moves slowly.
        """
        if self._threshold is None or self.count >= self._threshold_count * 1.1:
            self._threshold = self.quantile_ms(SLOW_QUANTILE)
            self._threshold_count = self.count
        return self._threshold

    def merge(self, other: PatternStats) -> None:
        """Add another pattern's statistics to these, as if its spans had come here.

        Counts, sketches and counters merge exactly; the typical samples are drawn from both
        in proportion to their span counts.
        """
        if other.count == 0:
            return
        mine, theirs = self.count, other.count
        self.count += other.count
        self.error_count += other.error_count
        if self.first_seen_unix_nano == 0 or (
            other.first_seen_unix_nano and other.first_seen_unix_nano < self.first_seen_unix_nano
        ):
            self.first_seen_unix_nano = other.first_seen_unix_nano
        self.last_seen_unix_nano = max(self.last_seen_unix_nano, other.last_seen_unix_nano)
        self.max_duration_ns = max(self.max_duration_ns, other.max_duration_ns)
        self.durations_ms.merge(other.durations_ms)
        self.timeline.merge(other.timeline)
        self.profile.merge(other.profile)
        for child_id, calls in other.calls.items():
            self.merge_calls(child_id, calls)
        self.time_profile.merge(other.time_profile)
        if other.lag_ms.count:
            self.lag_ms.merge(other.lag_ms)
            self.lag_timeline.merge(other.lag_timeline)
        for code, amount in other.status_codes.items():
            count_bounded(self.status_codes, code, amount)
        for kind, amount in other.exception_types.items():
            count_bounded(self.exception_types, kind, amount)
        errors = sorted([*self.errors, *other.errors], key=lambda span: span.end_unix_nano)
        self.errors = errors[-ERROR_SAMPLES:]
        self.slowest = heapq.nlargest(SLOWEST_SAMPLES, [*self.slowest, *other.slowest])
        heapq.heapify(self.slowest)
        rng = random.Random(mine * 1_000_003 + theirs)
        pools = [list(self.typical), list(other.typical)]
        weights = [mine, theirs]
        typical: list[Span] = []
        while len(typical) < TYPICAL_SAMPLES and (pools[0] or pools[1]):
            side = (
                0
                if not pools[1]
                else 1
                if not pools[0]
                else int(rng.random() * (weights[0] + weights[1]) >= weights[0])
            )
            typical.append(pools[side].pop())
        self.typical = typical

    def merge_calls(self, child_id: int, calls: CallTimeline) -> None:
        mine = self.calls.get(child_id)
        if mine is None:
            mine = self.calls[child_id] = CallTimeline(calls.width_s)
        mine.merge(calls)

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
        return [entry[-1] for entry in sorted(self.slowest, reverse=True)]

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
