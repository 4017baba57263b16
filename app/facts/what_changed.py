"""What changed between a window and the one of the same length before it, across all
patterns: the ones whose rate, error rate or latency moved most, the new and the gone.

Spans and errors of every pattern come from the activity index's masked sums; latency only
for the ``LATENCY_CANDIDATES`` busiest patterns of the two windows (reading a pattern's
latency decodes its buckets' sketches), and the answer says so. Patterns the classifier
judged noise are left out unless asked for, and counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from app.discovery.patterns import SpanPattern
from app.facts.activity import ActivityIndex, WindowNumbers
from app.facts.window_facts import (
    ERROR_RATE_POINTS,
    MIN_SPANS,
    RATE_FACTOR,
    Change,
    WindowFacts,
    candidate_changes,
    window_facts,
)

LATENCY_CANDIDATES = 100
FALSE_DISCOVERIES = 0.05
"""The share of the changes listed that may be chance (Benjamini-Hochberg): with hundreds
of patterns and three measures each, a fixed threshold per change lists some every time."""
SHOWN = 8
NEW_MIN_SPANS = 5
"""A pattern first seen in the window counts as new with at least this many spans."""


@dataclass(frozen=True)
class PatternChange:
    pattern_id: int
    name: str
    service: str
    facts: WindowFacts
    changes: list[Change]
    """Its changes that passed the false discovery control, largest first."""

    @property
    def size(self) -> float:
        return max((change.size for change in self.changes), default=0.0)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "service": self.service,
            **self.facts.as_dict(),
            "changes": [change.as_dict() for change in self.changes],
        }


@dataclass(frozen=True)
class Appearance:
    """A pattern new in the window, or gone from it."""

    pattern_id: int
    name: str
    service: str
    spans: int
    """Its spans in the window where it was seen (the asked one when new)."""

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "service": self.service, "spans": self.spans}


@dataclass(frozen=True)
class WhatChanged:
    start_s: int
    end_s: int
    changed: list[PatternChange]
    """Largest change first, at most ``SHOWN``."""
    new: list[Appearance] = field(default_factory=list)
    gone: list[Appearance] = field(default_factory=list)
    compared: int = 0
    """Patterns with spans in either window, noise left out or not."""
    noise_left_out: int = 0
    latency_compared: int = 0
    """Patterns whose latency was compared; fewer than those with enough spans when capped
    (``latency_capped``)."""
    latency_capped: bool = False
    more_changed: int = 0
    """Changed patterns past the ``SHOWN`` listed."""

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": "what_changed",
            "window": {"start_unix_s": self.start_s, "end_unix_s": self.end_s},
            "before": {"start_unix_s": 2 * self.start_s - self.end_s, "end_unix_s": self.start_s},
            "changed": [change.as_dict() for change in self.changed],
            "more_changed": self.more_changed,
            "new": [a.as_dict() for a in self.new],
            "gone": [a.as_dict() for a in self.gone],
            "patterns_compared": self.compared,
            "noise_left_out": self.noise_left_out,
            "latency_compared_for_busiest": self.latency_compared,
        }


def what_changed(
    index: ActivityIndex,
    patterns: Mapping[int, SpanPattern],
    verdicts: Mapping[int, str],
    start_s: int,
    end_s: int,
    *,
    with_noise: bool = False,
) -> WhatChanged:
    length = end_s - start_s
    ids = index.pattern_ids
    spans_now, errors_now = index.totals(start_s, end_s)
    spans_before, errors_before = index.totals(start_s - length, start_s)
    active = np.flatnonzero((spans_now + spans_before) > 0)
    kept: list[int] = []
    noise = 0
    for number in active.tolist():
        pattern = patterns.get(ids[number])
        if pattern is None or pattern.merged_into is not None:
            continue
        if not with_noise and verdicts.get(pattern.id) == "noise":
            noise += 1
            continue
        kept.append(number)
    new, gone, candidates = [], [], []
    seen_start, seen_end = index.seen
    for number in kept:
        pattern = patterns[ids[number]]
        now, before = int(spans_now[number]), int(spans_before[number])
        first_s = pattern.stats.first_seen_unix_nano // 1_000_000_000
        last_s = pattern.stats.last_seen_unix_nano // 1_000_000_000
        if before == 0 and first_s >= start_s and start_s - length >= seen_start - 60:
            if now >= NEW_MIN_SPANS:
                new.append(Appearance(pattern.id, pattern.name, pattern.service, now))
        elif now == 0 and last_s < start_s and end_s <= seen_end + 60:
            if before >= NEW_MIN_SPANS:
                gone.append(Appearance(pattern.id, pattern.name, pattern.service, before))
        elif max(now, before) >= MIN_SPANS or errors_now[number] or errors_before[number]:
            candidates.append(number)
    # latency for the busiest; the rest by their counts, and only those whose counts
    # moved about as much as a change needs (the exact numbers then decide)
    candidates.sort(key=lambda n: (-int(min(spans_now[n], spans_before[n])), ids[n]))
    now_s = max(min(end_s, seen_end) - max(start_s, seen_start), 1)
    before_s = max(min(start_s, seen_end) - max(start_s - length, seen_start), 1)
    looked_at: list[tuple[SpanPattern, WindowFacts, list[Change]]] = []
    for rank, number in enumerate(candidates):
        pattern = patterns[ids[number]]
        if rank < LATENCY_CANDIDATES:
            facts = window_facts(index, pattern.id, start_s, end_s)
        elif _counts_moved(
            (int(spans_before[number]), int(errors_before[number]), before_s),
            (int(spans_now[number]), int(errors_now[number]), now_s),
        ):
            facts = _counts_only(index, pattern.id, start_s, end_s)
        else:
            continue
        found = candidate_changes(facts.before, facts.window, facts.slow_share)
        if found:
            looked_at.append((pattern, facts, found))
    changed = _discoveries(looked_at, tests=3 * len(kept))
    changed.sort(key=lambda change: (-change.size, change.name))
    new.sort(key=lambda a: (-a.spans, a.name))
    gone.sort(key=lambda a: (-a.spans, a.name))
    return WhatChanged(
        start_s,
        end_s,
        changed[:SHOWN],
        new[:SHOWN],
        gone[:SHOWN],
        compared=len(kept),
        noise_left_out=noise,
        latency_compared=min(len(candidates), LATENCY_CANDIDATES),
        latency_capped=len(candidates) > LATENCY_CANDIDATES,
        more_changed=max(len(changed) - SHOWN, 0),
    )


def _counts_only(index: ActivityIndex, pattern_id: int, start_s: int, end_s: int) -> WindowFacts:
    activity = index.of(pattern_id)
    length = end_s - start_s
    if activity is None:
        empty = WindowNumbers(start_s, end_s, 0, 0)
        return WindowFacts(start_s, end_s, empty, empty)
    now = activity.numbers(start_s, end_s, index.seen, latency=False)
    before = activity.numbers(start_s - length, start_s, index.seen, latency=False)
    return WindowFacts(start_s, end_s, now, before)


def _counts_moved(before: tuple[int, int, int], now: tuple[int, int, int]) -> bool:
    """Spans, errors and seconds of two windows: whether the rate or the error rate moved
    near enough to a change that the exact numbers are worth reading (bucket edges move
    the seconds a little, so the bounds are loose)."""
    (spans_before, errors_before, before_s), (spans_now, errors_now, now_s) = before, now
    low, high = sorted((spans_before / before_s, spans_now / now_s))
    if high >= 0.8 * RATE_FACTOR * low:
        return True
    rate_before = errors_before / spans_before if spans_before else 0.0
    rate_now = errors_now / spans_now if spans_now else 0.0
    return abs(rate_now - rate_before) >= 0.8 * ERROR_RATE_POINTS


def _discoveries(
    looked_at: list[tuple[SpanPattern, WindowFacts, list[Change]]], tests: int
) -> list[PatternChange]:
    """The changes kept by the Benjamini-Hochberg procedure over ``tests`` comparisons (every
    measure of every pattern compared, not only those that moved), by pattern."""
    p_values = sorted(change.p_value for _, _, found in looked_at for change in found)
    limit = -1.0
    for rank, p_value in enumerate(p_values, 1):
        if p_value <= rank * FALSE_DISCOVERIES / max(tests, 1):
            limit = p_value
    kept = []
    for pattern, facts, found in looked_at:
        accepted = [change for change in found if change.p_value <= limit]
        if accepted:
            kept.append(PatternChange(pattern.id, pattern.name, pattern.service, facts, accepted))
    return kept
