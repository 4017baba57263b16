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
    MIN_ERRORS,
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
LOOSE_Z = 1.5
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
        facts = self.facts.as_dict()
        return {
            "name": self.name,
            "service": self.service,
            "in_window": facts["in_window"],
            "window_before": facts["window_before"],
            "changes": [change.as_dict() for change in self.changes],
            **({"slow_share": facts["slow_share"]} if "slow_share" in facts else {}),
        }


@dataclass(frozen=True)
class Appearance:
    """A pattern new in the window, or gone from it."""

    pattern_id: int
    name: str
    service: str
    spans: int
    """Its spans in the window where it was seen (the asked one when new)."""
    rate_per_s: float
    """Over the part of that window it was seen in (a new pattern: since it appeared)."""
    noise: bool = False
    """Judged noise: listed apart, and only when not asked to include noise."""

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "service": self.service,
            "spans": self.spans,
            "rate_per_s": round(self.rate_per_s, 4),
            "noise": self.noise,
        }


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
    spans_now, errors_now = index.totals(*index.reach(start_s, end_s))
    spans_before, errors_before = index.totals(*index.reach(start_s - length, start_s))
    seen_any = (spans_now + spans_before) > 0
    noisy = np.fromiter((verdicts.get(i) == "noise" for i in ids), bool, len(ids))
    active = seen_any if with_noise else seen_any & ~noisy
    noise = int((seen_any & ~active).sum())
    seen_start, seen_end = index.seen
    # new: none of its spans before the window (when there is a window before it to see);
    # gone: none in the window, none after it (when spans were seen to its end). Noise too,
    # listed apart: a health check that appears is news, if not a change to rank.
    is_new = seen_any & (spans_before == 0) & (index.first_middles >= start_s)
    is_new &= start_s - length >= seen_start - 60
    is_gone = seen_any & (spans_now == 0) & (index.last_middles < start_s)
    is_gone &= end_s <= seen_end + 60
    busy = np.maximum(spans_now, spans_before) >= MIN_SPANS
    compared = active & ~is_new & ~is_gone & (busy | (errors_now > 0) | (errors_before > 0))
    # latency for the busiest; the rest by their counts, and only those whose counts moved
    # about as much as a change needs (their exact numbers then decide)
    candidates = np.flatnonzero(compared)
    quieter = -np.minimum(spans_now, spans_before)[candidates]
    ordered = candidates[np.lexsort((np.array(ids)[candidates], quieter))]
    busiest, rest = ordered[:LATENCY_CANDIDATES], ordered[LATENCY_CANDIDATES:]
    now_s = max(min(end_s, seen_end) - max(start_s, seen_start), 1)
    before_s = max(min(start_s, seen_end) - max(start_s - length, seen_start), 1)
    moved = _counts_moved(spans_before, errors_before, spans_now, errors_now, before_s, now_s)
    looked_at: list[tuple[SpanPattern, WindowFacts, list[Change]]] = []
    for number, latency in [(n, True) for n in busiest.tolist()] + [
        (n, False) for n in rest[moved[rest]].tolist()
    ]:
        pattern = patterns.get(ids[number])
        if pattern is None or pattern.merged_into is not None:
            continue
        if latency:
            facts = window_facts(index, pattern.id, start_s, end_s)
        else:
            facts = _counts_only(index, pattern.id, start_s, end_s)
        found = candidate_changes(facts.before, facts.window, facts.slow_share)
        if found:
            looked_at.append((pattern, facts, found))
    tests = {
        "rate": int((compared & busy).sum()),
        "errors": int((compared & (np.maximum(errors_now, errors_before) >= MIN_ERRORS)).sum()),
        "latency": int((np.minimum(spans_now, spans_before)[busiest] >= MIN_SPANS).sum()),
    }
    changed = _discoveries(looked_at, tests)
    changed.sort(key=lambda change: (-change.size, change.name))
    new = _appearances(
        np.flatnonzero(is_new & (spans_now >= NEW_MIN_SPANS)),
        spans_now,
        ids,
        patterns,
        noisy & ~active,
        (start_s, min(end_s, seen_end)),
    )
    gone = _appearances(
        np.flatnonzero(is_gone & (spans_before >= NEW_MIN_SPANS)),
        spans_before,
        ids,
        patterns,
        noisy & ~active,
        (max(start_s - length, seen_start), start_s),
    )
    return WhatChanged(
        start_s,
        end_s,
        changed[:SHOWN],
        new[:SHOWN],
        gone[:SHOWN],
        compared=int(active.sum()),
        noise_left_out=noise,
        latency_compared=len(busiest),
        latency_capped=len(ordered) > LATENCY_CANDIDATES,
        more_changed=max(len(changed) - SHOWN, 0),
    )


def _appearances(
    numbers: np.ndarray,
    spans: np.ndarray,
    ids: list[int],
    patterns: Mapping[int, SpanPattern],
    noise: np.ndarray,
    window: tuple[int, int],
) -> list[Appearance]:
    """New (or gone) patterns, those kept first, busiest first; the rate over the part of
    ``window`` each was seen in."""
    found = []
    for number in numbers.tolist():
        pattern = patterns.get(ids[number])
        if pattern is None or pattern.merged_into is not None:
            continue
        first_s = pattern.stats.first_seen_unix_nano // 1_000_000_000
        last_s = pattern.stats.last_seen_unix_nano // 1_000_000_000 + 1
        seconds = min(window[1], last_s) - max(window[0], first_s)
        count = int(spans[number])
        rate = count / seconds if seconds > 0 else 0.0
        noisy = bool(noise[number])
        found.append(Appearance(pattern.id, pattern.name, pattern.service, count, rate, noisy))
    found.sort(key=lambda a: (a.noise, -a.spans, a.name))
    return found


def _counts_only(index: ActivityIndex, pattern_id: int, start_s: int, end_s: int) -> WindowFacts:
    activity = index.of(pattern_id)
    length = end_s - start_s
    if activity is None:
        empty = WindowNumbers(start_s, end_s, 0, 0)
        return WindowFacts(start_s, end_s, empty, empty)
    start, end = index.reach(start_s, end_s)
    before_start, _ = index.reach(start_s - length, start_s)
    now = activity.numbers(start, end, index.seen, latency=False)
    before = activity.numbers(before_start, start, index.seen, latency=False)
    return WindowFacts(start_s, end_s, now, before)


def _counts_moved(
    spans_before: np.ndarray,
    errors_before: np.ndarray,
    spans_now: np.ndarray,
    errors_now: np.ndarray,
    before_s: int,
    now_s: int,
) -> np.ndarray:
    """Per pattern, whether its rate or error rate moved near enough to a change that its
    exact numbers are worth reading. Loose bounds (``LOOSE_Z``, four fifths of the sizes a
    change needs): bucket edges move a pattern's seconds a little."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_before, rate_now = spans_before / before_s, spans_now / now_s
        low, high = np.minimum(rate_before, rate_now), np.maximum(rate_before, rate_now)
        total = spans_before + spans_now
        share = now_s / (now_s + before_s)
        rate_z = np.abs(spans_now - total * share) / np.sqrt(total * share * (1 - share))
        rate = (high >= 0.8 * RATE_FACTOR * low) & (rate_z >= LOOSE_Z)
        rate &= np.maximum(spans_before, spans_now) >= MIN_SPANS
        failed_before = errors_before / np.maximum(spans_before, 1)
        failed_now = errors_now / np.maximum(spans_now, 1)
        pooled = (errors_before + errors_now) / np.maximum(total, 1)
        spread = np.sqrt(
            pooled * (1 - pooled) * (1 / np.maximum(spans_before, 1) + 1 / np.maximum(spans_now, 1))
        )
        moved = np.abs(failed_now - failed_before)
        errors = (moved >= 0.8 * ERROR_RATE_POINTS) & (moved >= LOOSE_Z * spread)
        errors &= np.maximum(errors_before, errors_now) >= MIN_ERRORS
    return np.asarray(rate | errors)


_FAMILIES = {"rate": "rate", "error rate": "errors", "p95": "latency", "slow share": "latency"}


def _discoveries(
    looked_at: list[tuple[SpanPattern, WindowFacts, list[Change]]], tests: Mapping[str, int]
) -> list[PatternChange]:
    """The changes kept by the Benjamini-Hochberg procedure, run for each family of
    measures (rate, errors, latency) over the comparisons that family made (``tests``: the
    patterns with enough spans or errors for a change to show, whether it did or not), at
    a third of ``FALSE_DISCOVERIES`` each. Apart, a burst of errors in a few patterns is
    not drowned by the hundreds of rates that did not move."""
    limits: dict[str, float] = {}
    for family, made in tests.items():
        p_values = sorted(
            change.p_value
            for _, _, found in looked_at
            for change in found
            if _FAMILIES[change.measure] == family
        )
        limits[family] = -1.0
        for rank, p_value in enumerate(p_values, 1):
            if p_value <= rank * FALSE_DISCOVERIES / len(tests) / max(made, 1):
                limits[family] = p_value
    kept = []
    for pattern, facts, found in looked_at:
        accepted = [c for c in found if c.p_value <= limits.get(_FAMILIES[c.measure], -1.0)]
        if accepted:
            kept.append(PatternChange(pattern.id, pattern.name, pattern.service, facts, accepted))
    return kept
