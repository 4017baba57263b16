"""Which service is behind the errors and latency of a window: where the change started.

Every pattern's window is set against a reference (the window of the same length before
it, or one the user names). A pattern's change is then split into what its children
explain and what is its own:

- **Latency**: its median's rise, less each child's rise times the calls per span the
  pattern made to it in the window. A child called more often per span (an N+1 loop) is
  the caller's own change, not the child's: only the child's own slowdown is explained.
- **Errors**: its errors beyond what its reference rate gives, less each child's extra
  errors on the calls this pattern made to it (errors passed up are not a cause).
- **New traffic**: a pattern first seen in the window, by its share of its service's calls.
- **Consumer lag**: a consumer whose lag behind its producer rose.

Own changes are weighed by their size and by the evidence behind them (few spans, little
evidence), and services are ranked by their largest own change. Each service comes with
why, its numbers and the ``@pattern`` to open. The baseline a few lines can give (each
service's median server-span duration in the window over before) is computed beside it,
so the ranking can be held to it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.discovery.patterns import SpanPattern
from app.discovery.sketches import merged_counts, quantiles_of_counts
from app.facts.activity import ActivityIndex, PatternActivity, WindowNumbers
from app.facts.trend import window_medians
from app.facts.units import ms_text

MIN_SPANS = 10
"""Fewer spans on either side say too little about a latency change."""
MIN_OWN_MS = 1.0
MIN_RISE = 0.2
"""An own latency change smaller than this share of the reference median is no change."""
MIN_OWN_ERRORS = 3
SURE_Z = 3.0
NEW_FACTOR = 3.0
MIN_LAG_SPANS = 3
"""A consumer's lag is behind every message it takes: a few are evidence of a backlog."""
SHOWN = 5


@dataclass(frozen=True)
class OwnChange:
    """One pattern's change that its children do not explain."""

    pattern_id: int
    name: str
    service: str
    kind: str
    """``latency``, ``network`` (a client's wait outside its callee's spans, blamed on the
    callee), ``errors``, ``repeated calls``, ``new traffic`` or ``consumer lag``."""
    before: float
    after: float
    """The measure on both sides: median ms, error rate, calls per span, spans, lag ms."""
    own: float
    """The part that is its own: ms, errors, spans."""
    explained: float
    """The part its children explain (same unit)."""
    spans: tuple[int, int]
    """Its spans before and in the window."""
    score: float
    sure: bool = True
    """Beyond what chance gives (``SURE_Z``); else weak evidence, ranked after."""

    def why(self) -> str:
        before_spans, spans = self.spans
        if self.kind == "latency":
            return (
                f"@{self.name} got slower on its own: median {_ms(self.before)} -> "
                f"{_ms(self.after)}, {_ms(self.own)} of it not from its children"
                + (f" ({_ms(self.explained)} was)" if self.explained >= 0.5 else "")
                + f"; {spans:,} spans in the window"
            )
        if self.kind == "network":
            return (
                f"calls to {self.service} wait longer outside its own spans: @{self.name} "
                f"median {_ms(self.before)} -> {_ms(self.after)}, {_ms(self.own)} of it not "
                f"spent in {self.service}'s server spans"
            )
        if self.kind == "repeated calls":
            return (
                f"@{self.name} makes more calls per span: {self.before:.2g} -> {self.after:.2g}, "
                f"adding {_ms(self.own)} to its median"
            )
        if self.kind == "errors":
            return (
                f"@{self.name} fails on its own: error rate {self.before:.1%} -> "
                f"{self.after:.1%}, {self.own:.0f} errors not from its children"
                + (f" ({self.explained:.0f} were)" if self.explained >= 1 else "")
            )
        if self.kind == "new traffic":
            return f"@{self.name} is new in the window: {spans:,} spans"
        return f"@{self.name}'s consumer lag rose: median {_ms(self.before)} -> {_ms(self.after)}"

    def as_dict(self) -> dict[str, object]:
        return {
            "pattern": self.name,
            "service": self.service,
            "kind": self.kind,
            "before": round(self.before, 6),
            "after": round(self.after, 6),
            "own": round(self.own, 3),
            "explained": round(self.explained, 3),
            "spans_before": self.spans[0],
            "spans_in_window": self.spans[1],
            "score": round(self.score, 3),
            "beyond_chance": self.sure,
            "why": self.why(),
        }


@dataclass(frozen=True)
class ServiceRank:
    service: str
    score: float
    changes: list[OwnChange]
    """Its patterns' own changes, largest first."""

    @property
    def sure(self) -> bool:
        return any(change.sure for change in self.changes)

    def as_dict(self) -> dict[str, object]:
        return {
            "service": self.service,
            "score": round(self.score, 3),
            "beyond_chance": self.sure,
            "why": self.changes[0].why(),
            "changes": [change.as_dict() for change in self.changes[:3]],
        }


@dataclass(frozen=True)
class RootCauses:
    start_s: int
    end_s: int
    reference: tuple[int, int]
    ranked: list[ServiceRank]
    """Services whose change is beyond chance first, then those with weak evidence."""
    baseline: list[tuple[str, float]] = field(default_factory=list)
    """Services by median server-span duration in the window over the reference."""

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": "root_cause",
            "window": {"start_unix_s": self.start_s, "end_unix_s": self.end_s},
            "reference": {"start_unix_s": self.reference[0], "end_unix_s": self.reference[1]},
            "ranked": [rank.as_dict() for rank in self.ranked[:SHOWN]],
            "baseline_median_rise": [
                {"service": service, "factor": round(factor, 3)}
                for service, factor in self.baseline[:SHOWN]
            ],
        }


def root_causes(
    index: ActivityIndex,
    patterns: Mapping[int, SpanPattern],
    start_s: int,
    end_s: int,
    reference: tuple[int, int] | None = None,
) -> RootCauses:
    reference = reference or (2 * start_s - end_s, start_s)
    numbers = _numbers(index, patterns, (start_s, end_s), reference)
    changes: list[OwnChange] = []
    spans_of_service: dict[str, int] = {}
    for pattern_id, (now, _) in numbers.items():
        service = patterns[pattern_id].service
        spans_of_service[service] = spans_of_service.get(service, 0) + now.spans
    for pattern_id, (now, before) in numbers.items():
        pattern = patterns[pattern_id]
        changes += _own_changes(
            pattern, now, before, numbers, patterns, index, (start_s, end_s), reference
        )
        # new: not seen before the reference began, and far busier in the window (a bucket
        # the window starts inside of may count a few of its spans in the reference)
        busier = now.rate_per_s >= NEW_FACTOR * before.rate_per_s
        if busier and now.spans >= MIN_SPANS and _new(pattern, index, reference):
            share = now.spans / max(spans_of_service[pattern.service], 1)
            changes.append(
                OwnChange(
                    pattern.id, pattern.name, pattern.service, "new traffic", 0, now.spans,
                    now.spans, 0, (0, now.spans), score=2 * share * _evidence(now.spans),
                )
            )  # fmt: skip
    changes += _lag_changes(patterns, (start_s, end_s), reference)
    by_service: dict[str, list[OwnChange]] = {}
    for change in changes:
        by_service.setdefault(change.service, []).append(change)
    ranked = []
    for service, found in by_service.items():
        kept = [c for c in found if c.sure] or found  # a sure change speaks for a service
        ordered = sorted(kept, key=lambda c: -c.score)
        ranked.append(ServiceRank(service, _service_score(ordered), ordered))
    # changes beyond chance first; weak evidence after, and said to be weak
    ranked.sort(key=lambda rank: (not rank.sure, -rank.score, rank.service))
    return RootCauses(
        start_s, end_s, reference, ranked, baseline(index, patterns, (start_s, end_s), reference)
    )


def _service_score(changes: Sequence[OwnChange]) -> float:
    """Its largest own change, and a little of the others: a service whose several
    patterns changed on their own is more likely the cause than one pattern alone."""
    scores = sorted((c.score for c in changes), reverse=True)
    return scores[0] + 0.25 * sum(scores[1:4])


def _numbers(
    index: ActivityIndex,
    patterns: Mapping[int, SpanPattern],
    window: tuple[int, int],
    reference: tuple[int, int],
) -> dict[int, tuple[WindowNumbers, WindowNumbers]]:
    found = {}
    for pattern_id in index.pattern_ids:
        pattern = patterns.get(pattern_id)
        activity = index.of(pattern_id)
        if pattern is None or pattern.merged_into is not None or activity is None:
            continue
        if activity.spans_between(*window) + activity.spans_between(*reference) == 0:
            continue
        now = activity.numbers(*index.reach(*window), index.seen)
        before = activity.numbers(*index.reach(*reference), index.seen)
        found[pattern_id] = (now, before)
    return found


def _own_changes(
    pattern: SpanPattern,
    now: WindowNumbers,
    before: WindowNumbers,
    numbers: Mapping[int, tuple[WindowNumbers, WindowNumbers]],
    patterns: Mapping[int, SpanPattern],
    index: ActivityIndex,
    window: tuple[int, int],
    reference: tuple[int, int],
) -> list[OwnChange]:
    found: list[OwnChange] = []
    calls_now, calls_before = _calls(pattern, window), _calls(pattern, reference)
    # latency: the median's rise, less the children's own slowdown on the calls it makes
    if min(now.spans, before.spans) >= MIN_SPANS and now.p50_ms and before.p50_ms:
        rise = now.p50_ms - before.p50_ms
        explained = 0.0
        repeated = 0.0
        for child_id, calls in calls_now.items():
            child = numbers.get(child_id)
            if child is None or not child[0].p50_ms or not child[1].p50_ms:
                continue
            per_span_now = calls / now.spans
            per_span_before = calls_before.get(child_id, 0) / before.spans
            explained += max(per_span_now * (child[0].p50_ms - child[1].p50_ms), 0.0)
            repeated += max((per_span_now - per_span_before) * child[1].p50_ms, 0.0)
        own = rise - explained
        if own >= max(MIN_OWN_MS, MIN_RISE * before.p50_ms):
            sure = _slower_for_sure(index.of(pattern.id), before, window, reference)
            evidence = _evidence(min(now.spans, before.spans))
            score = math.log1p(own / before.p50_ms) * evidence
            kind = "repeated calls" if repeated >= 0.5 * own else "latency"
            # a client's own wait, its callee's spans unchanged, is spent between the two:
            # the network or the queue in front of the callee
            service = pattern.service
            callee = _callee_service(pattern, calls_now, patterns)
            if kind == "latency" and callee is not None:
                kind, service = "network", callee
            found.append(
                OwnChange(
                    pattern.id, pattern.name, service, kind,
                    before.p50_ms, now.p50_ms, own, explained,
                    (before.spans, now.spans), score, sure,
                )
            )  # fmt: skip
    # errors: beyond the reference rate, less the children's extra errors on its calls
    expected = now.spans * before.error_rate
    extra = now.errors - expected
    if extra >= MIN_OWN_ERRORS:
        passed_up = 0.0
        for child_id, calls in calls_now.items():
            child = numbers.get(child_id)
            if child is None or not child[0].spans:
                continue
            child_extra = child[0].errors - child[0].spans * child[1].error_rate
            passed_up += max(child_extra, 0.0) * min(calls / child[0].spans, 1.0)
        own = extra - min(passed_up, extra)
        if own >= MIN_OWN_ERRORS:
            sure = _errors_for_sure(own, now, before)
            # the share of its calls that failed on their own, as far as its spans tell
            score = math.log1p(100 * own / max(now.spans, 1)) * _evidence(now.spans)
            found.append(
                OwnChange(
                    pattern.id, pattern.name, pattern.service, "errors",
                    before.error_rate, now.error_rate, own, min(passed_up, extra),
                    (before.spans, now.spans), score, sure,
                )
            )  # fmt: skip
    return found


def _slower_for_sure(
    activity: PatternActivity | None,
    before: WindowNumbers,
    window: tuple[int, int],
    reference: tuple[int, int],
) -> bool:
    """More of its calls in the window are slower than its reference median than chance
    gives (half of them would be): a binomial test at ``SURE_Z``."""
    if activity is None or not before.p50_ms:
        return False
    spans = activity.spans_between(*window)
    if not spans:
        return False
    above = activity.share_above(*window, before.p50_ms) * spans
    return (above - spans / 2) / math.sqrt(spans / 4) >= SURE_Z


def _errors_for_sure(own: float, now: WindowNumbers, before: WindowNumbers) -> bool:
    """Its own errors are more than its reference rate gives by chance: the rate counted
    with one error more than seen (a pattern that never failed still may), a Poisson
    z-score at ``SURE_Z``."""
    rate = (before.errors + 1) / (before.spans + 2)
    expected = now.spans * rate
    return (own + now.spans * before.error_rate - expected) / math.sqrt(expected) >= SURE_Z


def _callee_service(
    pattern: SpanPattern, calls: Mapping[int, int], patterns: Mapping[int, SpanPattern]
) -> str | None:
    """For a client span whose calls are served by another service's server spans: that
    service."""
    if pattern.span_kind != "client":
        return None
    served = {
        patterns[child].service
        for child in calls
        if child in patterns
        and patterns[child].span_kind == "server"
        and patterns[child].service != pattern.service
    }
    return served.pop() if len(served) == 1 else None


def _calls(pattern: SpanPattern, window: tuple[int, int]) -> dict[int, int]:
    """Calls from the pattern's spans to each child, in the buckets whose middle lies in
    the window."""
    found = {}
    for child_id, timeline in pattern.stats.calls.items():
        half = timeline.width_s // 2
        calls = sum(
            bucket[0]
            for start, bucket in timeline.buckets.items()
            if window[0] <= start + half < window[1]
        )
        if calls:
            found[child_id] = calls
    return found


def _new(pattern: SpanPattern, index: ActivityIndex, reference: tuple[int, int]) -> bool:
    """First seen after the reference began, with spans seen that far back."""
    first_s = pattern.stats.first_seen_unix_nano // 1_000_000_000
    return first_s >= reference[0] and reference[0] >= index.seen[0] - 60


def _lag_changes(
    patterns: Mapping[int, SpanPattern], window: tuple[int, int], reference: tuple[int, int]
) -> list[OwnChange]:
    found = []
    for pattern in patterns.values():
        timeline = pattern.stats.lag_timeline
        if pattern.merged_into is not None or not timeline.buckets:
            continue
        during, _, spans = window_medians(timeline, *window)
        before, _, before_spans = window_medians(timeline, *reference)
        if min(spans, before_spans) < MIN_LAG_SPANS or before <= 0 or during < 2 * before:
            continue
        score = math.log1p((during - before) / before) * _evidence(min(spans, before_spans))
        found.append(
            OwnChange(
                pattern.id, pattern.name, pattern.service, "consumer lag", before, during,
                during - before, 0.0, (before_spans, spans), score,
            )
        )  # fmt: skip
    return found


def _evidence(spans: int) -> float:
    """How far to trust a change seen on this many spans: little below ``MIN_SPANS``,
    most of it by a hundred."""
    return 1 - 1 / math.sqrt(1 + spans / MIN_SPANS)


def baseline(
    index: ActivityIndex,
    patterns: Mapping[int, SpanPattern],
    window: tuple[int, int],
    reference: tuple[int, int],
) -> list[tuple[str, float]]:
    """Services by their server spans' median in the window over the reference."""
    encoded: dict[str, tuple[list[bytes], list[bytes]]] = {}
    for pattern_id in index.pattern_ids:
        pattern = patterns.get(pattern_id)
        activity = index.of(pattern_id)
        if pattern is None or activity is None or pattern.span_kind != "server":
            continue
        sides = encoded.setdefault(pattern.service, ([], []))
        sides[0].extend(activity.sketches_between(*window))
        sides[1].extend(activity.sketches_between(*reference))
    found = []
    for service, (now, before) in encoded.items():
        if not now or not before:
            continue
        (p50_now,) = quantiles_of_counts(*merged_counts(now), (0.5,))
        (p50_before,) = quantiles_of_counts(*merged_counts(before), (0.5,))
        if p50_before > 0:
            found.append((service, p50_now / p50_before))
    found.sort(key=lambda item: -item[1])
    return found


_ms = ms_text
