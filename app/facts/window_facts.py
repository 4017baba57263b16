"""A pattern's numbers in a window against the window of the same length just before it,
and the changes between them that matter: how often, how often failing, how slow."""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.facts.activity import ActivityIndex, PatternActivity, WindowNumbers

MIN_SPANS = 20
"""Fewer spans in both windows than this say nothing about a change of rate or latency."""
RATE_FACTOR = 1.5
P95_FACTOR = 1.5
BULK_SHARE = 0.5
"""A p95 that moved is a change of the p95 when this share of the slower window's calls is
above the lower p95 (most calls got slower). Below it, a slow mode got more or fewer calls:
the change is that share, and the p95 only crossed between the modes."""
SURE_P = math.erfc(3 / math.sqrt(2))
"""A change of one pattern is reported when chance would give it less often than this
(three standard deviations). Across many patterns, ``app.facts.what_changed`` bounds the
share of false discoveries instead."""
CANDIDATE_P = 0.05
"""Past this, a change is not even a candidate for that."""
SLOW_SHARE_FACTOR = 1.5
SLOW_SHARE_POINTS = 0.01
ERROR_RATE_POINTS = 0.01
"""An error rate that moved by at least one percentage point..."""
MIN_ERRORS = 3
"""...with at least this many errors in the window where it is higher."""


@dataclass(frozen=True)
class Change:
    measure: str
    """``rate``, ``error rate``, ``p95`` or ``slow share`` (of calls above the lower p95)."""
    before: float
    after: float
    counts: tuple[int, int, int, int] | None = None
    """For an error rate: errors and spans before, errors and spans after."""
    p_value: float = 0.0
    """How often chance alone would give a change this large."""

    @property
    def size(self) -> float:
        """How big, comparable across measures: the log of the ratio (error rates by
        percentage points, a point counted as a doubling)."""
        if self.measure == "error rate":
            return abs(self.after - self.before) * 100 * math.log(2)
        low, high = sorted((self.before, self.after))
        return math.log(high / low) if low > 0 else math.log(1000)

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "measure": self.measure,
            "before": round(self.before, 6),
            "after": round(self.after, 6),
        }
        if self.counts is not None:
            found["errors_before"], found["spans_before"] = self.counts[:2]
            found["errors_after"], found["spans_after"] = self.counts[2:]
        return found


@dataclass(frozen=True)
class SlowShare:
    """Calls slower than a duration, in the window and the one before, when the p95 moved.

    Above the lower of the two p95s (``above_ms``): most of the slower window's calls when
    the bulk got slower; a few more or fewer when the p95 only crossed between a fast and a
    slow mode (``BULK_SHARE``). Whether the share of slow calls changed is measured above
    the p95 of both windows together (``both_p95_ms``): a threshold taken from one window
    alone leaves 5% of that window above it by construction, and would favour a change.
    """

    above_ms: float
    before: float
    after: float
    both_p95_ms: float
    both_before: float
    both_after: float

    def as_dict(self) -> dict[str, object]:
        return {
            "above_ms": round(self.both_p95_ms, 3),
            "share_before": round(self.both_before, 4),
            "share_in_window": round(self.both_after, 4),
        }


@dataclass(frozen=True)
class WindowFacts:
    asked_start_s: int
    asked_end_s: int
    window: WindowNumbers
    before: WindowNumbers
    """The window of the same length just before the asked one."""
    slow_share: SlowShare | None = None
    """Set when the p95 moved by ``P95_FACTOR``: the share of calls above the lower one."""

    @property
    def changes(self) -> list[Change]:
        return changes(self.before, self.window, self.slow_share)

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "asked": {"start_unix_s": self.asked_start_s, "end_unix_s": self.asked_end_s},
            "in_window": self.window.as_dict(),
            "window_before": self.before.as_dict(),
            "changes": [change.as_dict() for change in self.changes],
        }
        if self.slow_share is not None:
            found["slow_share"] = self.slow_share.as_dict()
        return found


def window_facts(index: ActivityIndex, pattern_id: int, start_s: int, end_s: int) -> WindowFacts:
    length = end_s - start_s
    activity = index.of(pattern_id)
    if activity is None:  # stored before timelines were kept, or no longer live
        empty = WindowNumbers(start_s, end_s, 0, 0)
        return WindowFacts(start_s, end_s, empty, WindowNumbers(start_s - length, start_s, 0, 0))
    start, end = index.reach(start_s, end_s)
    before_start, _ = index.reach(start_s - length, start_s)
    now = activity.numbers(start, end, index.seen)
    before = activity.numbers(before_start, start, index.seen)
    slow_share = _slow_share(activity, now, before, (before_start, start, end))
    return WindowFacts(start_s, end_s, now, before, slow_share)


def _slow_share(
    activity: PatternActivity,
    now: WindowNumbers,
    before: WindowNumbers,
    reach: tuple[int, int, int],
) -> SlowShare | None:
    """``reach``: where the window before starts, where the window starts and ends (as
    ``ActivityIndex.reach`` reads them)."""
    if now.p95_ms is None or before.p95_ms is None:
        return None
    low, high = sorted((now.p95_ms, before.p95_ms))
    if high < P95_FACTOR * low:
        return None
    before_start, start, end = reach
    both = activity.p95_ms(before_start, end)
    return SlowShare(
        low,
        activity.share_above(before_start, start, low),
        activity.share_above(start, end, low),
        both,
        activity.share_above(before_start, start, both),
        activity.share_above(start, end, both),
    )


def changes(
    before: WindowNumbers, after: WindowNumbers, slow_share: SlowShare | None = None
) -> list[Change]:
    """The changes of one pattern that matter, largest first: large enough and unlikely by
    chance (``SURE_P``)."""
    return [c for c in candidate_changes(before, after, slow_share) if c.p_value <= SURE_P]


def candidate_changes(
    before: WindowNumbers, after: WindowNumbers, slow_share: SlowShare | None = None
) -> list[Change]:
    """Changes from ``before`` to ``after`` large enough to matter (``RATE_FACTOR``,
    ``ERROR_RATE_POINTS``, ``P95_FACTOR``), with how often chance would give them, largest
    first. A p95 that moved is a change of the p95 when most calls got slower, else of the
    share of slow calls (``SlowShare``; without it, of the p95)."""
    found = []
    if max(before.spans, after.spans) >= MIN_SPANS:
        low, high = sorted((before.rate_per_s, after.rate_per_s))
        if high >= RATE_FACTOR * low:
            p = _rates_p(before, after)
            found.append(Change("rate", before.rate_per_s, after.rate_per_s, p_value=p))
    higher = after if after.error_rate >= before.error_rate else before
    if (
        abs(after.error_rate - before.error_rate) >= ERROR_RATE_POINTS
        and higher.errors >= MIN_ERRORS
    ):
        counts = (before.errors, before.spans, after.errors, after.spans)
        p = _proportions_p(*counts)
        found.append(Change("error rate", before.error_rate, after.error_rate, counts, p))
    if (
        min(before.spans, after.spans) >= MIN_SPANS
        and before.p95_ms is not None
        and after.p95_ms is not None
    ):
        found.extend(_latency_changes(before, after, slow_share))
    found = [change for change in found if change.p_value <= CANDIDATE_P]
    found.sort(key=lambda change: -change.size)
    return found


def _latency_changes(
    before: WindowNumbers, after: WindowNumbers, share: SlowShare | None
) -> list[Change]:
    p95_before, p95_after = before.p95_ms or 0.0, after.p95_ms or 0.0
    low, high = sorted((p95_before, p95_after))
    if high < P95_FACTOR * low or high <= 0:
        return []
    if share is None:
        return [Change("p95", p95_before, p95_after, p_value=SURE_P)]
    if max(share.before, share.after) >= BULK_SHARE:
        p = _proportions_p(*_slow_counts(share.before, share.after, before, after))
        return [Change("p95", p95_before, p95_after, p_value=p)]
    low, high = sorted((share.both_before, share.both_after))
    if high - low >= SLOW_SHARE_POINTS and high >= SLOW_SHARE_FACTOR * low:
        p = _proportions_p(*_slow_counts(share.both_before, share.both_after, before, after))
        return [Change("slow share", share.both_before, share.both_after, p_value=p)]
    return []


def _slow_counts(
    share_before: float, share_after: float, before: WindowNumbers, after: WindowNumbers
) -> tuple[int, int, int, int]:
    return (
        round(share_before * before.spans),
        before.spans,
        round(share_after * after.spans),
        after.spans,
    )


def _proportions_p(hits_before: int, spans_before: int, hits_after: int, spans_after: int) -> float:
    """Two-sided p-value of a two-proportion z-test."""
    if not spans_before or not spans_after:
        return 0.0 if hits_before + hits_after >= MIN_ERRORS else 1.0
    pooled = (hits_before + hits_after) / (spans_before + spans_after)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / spans_before + 1 / spans_after))
    if spread == 0:
        return 1.0
    z = abs(hits_after / spans_after - hits_before / spans_before) / spread
    return math.erfc(z / math.sqrt(2))


def _rates_p(before: WindowNumbers, after: WindowNumbers) -> float:
    """Two-sided p-value that two Poisson counts over their seconds share one rate: given
    their sum, the later count is binomial with the later window's share of the time."""
    total = before.spans + after.spans
    if total == 0 or before.seconds <= 0 or after.seconds <= 0:
        return 0.0 if total >= MIN_SPANS else 1.0
    share = after.seconds / (before.seconds + after.seconds)
    z = abs(after.spans - total * share) / math.sqrt(total * share * (1 - share))
    return math.erfc(z / math.sqrt(2))
