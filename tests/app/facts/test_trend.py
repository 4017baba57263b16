"""Slow and failing periods found in a pattern's timeline."""

from __future__ import annotations

import pytest

from app.discovery.timeline import Timeline
from app.facts.trend import error_periods, level_shift, slow_periods

START = 1_800_000_000 - 1_800_000_000 % 60


def timeline(minutes: list[tuple[list[float], int]]) -> Timeline:
    """One bucket per minute: its durations (ms) and how many of its spans failed."""
    found = Timeline()
    for minute, (durations, errors) in enumerate(minutes):
        starts = [START + 60 * minute] * len(durations)
        failed = [i < errors for i in range(len(durations))]
        found.add(starts, durations, failed)
    return found


def test_a_burst_of_errors_is_a_period_with_its_rates() -> None:
    minutes = [([100.0] * 8, 0)] * 9 + [([100.0] * 8, 5)] * 2 + [([100.0] * 8, 0)] * 4
    minutes[3] = ([100.0] * 8, 1)  # one error now and then is no period
    (period,) = error_periods(timeline(minutes))
    assert (period.start_s, period.end_s) == (START + 9 * 60, START + 11 * 60)
    assert (period.errors, period.spans) == (10, 16)
    assert period.rate_outside == 1 / 104


def test_a_pattern_that_always_fails_as_often_has_no_error_period() -> None:
    assert error_periods(timeline([([100.0] * 8, 4)] * 15)) == []
    assert error_periods(timeline([([100.0] * 8, 0)] * 15)) == []


def test_a_period_no_slower_than_the_rest_is_not_called_slow() -> None:
    # The usual median counts buckets of 3 spans or more: here 10 ms. The many small
    # buckets at 40 ms make the rest of the time slower than the 30 ms bucket that stood
    # out against it; that bucket is no slow period (it used to read "0.8x").
    minutes = [([10.0] * 3, 0)] * 6 + [([40.0] * 2, 0)] * 20 + [([30.0] * 3, 0)]
    assert slow_periods(timeline(minutes)) == []
    minutes[-1] = ([300.0] * 3, 0)
    (period,) = slow_periods(timeline(minutes))
    assert period.factor > 5


def _stepped(medians_ms: list[float], spans: int = 20) -> Timeline:
    timeline = Timeline()
    for minute, median in enumerate(medians_ms):
        starts = [minute * 60] * spans
        durations = [median * (0.9 + 0.2 * i / spans) for i in range(spans)]
        timeline.add(starts, durations, [False] * spans)
    return timeline


@pytest.mark.parametrize(
    ("medians_ms", "shift_at_minute"),
    [
        ([10.0] * 12 + [30.0] * 8, 12),  # slower for the last 40%: a level shift
        ([10.0] * 6 + [30.0] * 14, 6),  # slower for most of the time, still a shift
        ([10.0] * 8 + [30.0] * 5 + [10.0] * 7, None),  # a slow period that ended
        ([10.0, 11.0, 9.5, 10.5] * 5, None),  # noise
        ([10.0] * 12 + [13.0] * 8, None),  # 1.3x: too small to call
    ],
)
def test_a_level_shift_is_a_lasting_slowdown(
    medians_ms: list[float], shift_at_minute: int | None
) -> None:
    shift = level_shift(_stepped(medians_ms))
    if shift_at_minute is None:
        assert shift is None
    else:
        assert shift is not None and shift.start_s == shift_at_minute * 60
        assert shift.factor == pytest.approx(3.0, rel=0.05)
        assert shift.since_change
