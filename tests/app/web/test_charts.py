"""Chart geometry: the histogram counts every span once and marks quantiles in order."""

from __future__ import annotations

import pytest
from ddsketch import DDSketch

from app.discovery.sketches import SKETCH_ACCURACY
from app.discovery.timeline import TimeBucket, Timeline
from app.web.charts import (
    HEIGHT,
    duration_histogram,
    error_rate_over_time,
    format_count,
    format_ms,
    format_percent,
    latency_over_time,
    sketch_buckets,
)


def sketch_of(values: list[float]) -> DDSketch:
    sketch = DDSketch(SKETCH_ACCURACY)
    for value in values:
        sketch.add(value)
    return sketch


def counted(title: str) -> int:
    """The span count a bar's hover text gives: "1 ms to 2 ms: 1,234 spans (5%)"."""
    return int(title.split(": ")[1].split(" spans")[0].replace(",", ""))


def test_the_histogram_counts_every_span_and_marks_quantiles_left_to_right() -> None:
    values = [1.0] * 50 + [10.0] * 40 + [200.0] * 9 + [0.0]
    sketch = sketch_of(values)
    marks = [(f"p{int(q * 100)}", float(sketch.get_quantile_value(q))) for q in (0.5, 0.95, 0.99)]
    chart = duration_histogram(sketch, marks, max_ms=200.0)
    assert sum(counted(bar.title) for bar in chart.bars) == len(values)
    xs = [marker.x for marker in chart.markers]
    assert xs == sorted(xs) and [m.name for m in chart.markers] == ["p50", "p95", "p99"]
    assert all(chart.left <= x <= chart.right for x in xs)
    assert all(
        chart.top <= bar.y and bar.y + bar.height <= chart.bottom + 1e-9 for bar in chart.bars
    )
    assert chart.y_ticks and all(float(t.label) == int(float(t.label)) for t in chart.y_ticks)


def test_an_empty_sketch_draws_nothing_and_says_so() -> None:
    chart = duration_histogram(DDSketch(SKETCH_ACCURACY), [("p50", 0.0)], max_ms=0.0)
    assert not chart.bars and chart.note == "no spans yet"


def test_sketch_buckets_hold_every_value() -> None:
    buckets = sketch_buckets(sketch_of([0.0, 0.0, 5.0, 5.0, 5.0, 900.0]))
    assert buckets[0] == (0.0, 2.0) and sum(count for _, count in buckets) == 6


def timeline(rows: list[tuple[int, int, list[float]]]) -> Timeline:
    """(start, errors, durations) per bucket of one minute."""
    line = Timeline()
    for start, errors, durations in rows:
        line.add([start] * len(durations), durations, [i < errors for i in range(len(durations))])
    return line


def test_error_rate_bars_follow_time_and_flag_erroring_buckets() -> None:
    line = timeline([(600, 0, [1.0] * 10), (660, 5, [1.0] * 10), (780, 1, [1.0] * 4)])
    chart = error_rate_over_time(line.ordered(), line.width_s)
    xs = [bar.x for bar in chart.bars]
    assert xs == sorted(xs)
    assert [bar.flagged for bar in chart.bars] == [False, True, True]
    heights = [bar.height for bar in chart.bars]
    assert heights[0] == 0 and heights[1] > heights[2] > 0  # 50% against 25%
    assert chart.note.startswith("6 errors in 24 spans")


def test_latency_lines_have_a_point_per_bucket_with_spans() -> None:
    line = timeline([(600, 0, [1.0, 2.0, 30.0]), (720, 0, [5.0])])
    chart = latency_over_time(line.ordered(), line.width_s)
    assert [drawn.name for drawn in chart.lines] == ["p99", "p50"]
    for drawn in chart.lines:
        assert len(drawn.dots) == 2
        assert all(0 <= y <= HEIGHT for _, y, _ in drawn.dots)
    p99, p50 = chart.lines
    assert p99.dots[0][1] <= p50.dots[0][1]  # higher value, higher up (smaller y)


def test_no_timeline_is_said_rather_than_drawn() -> None:
    assert error_rate_over_time([], 60).note == "no timeline stored for this pattern"
    assert latency_over_time([TimeBucket(0)], 60).lines == []


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0 ms"),
        (0.0004, "0.4 µs"),
        (0.42, "0.42 ms"),
        (9.634, "9.63 ms"),
        (250, "250 ms"),
        (1530, "1.53 s"),
        (90_000, "1.5 min"),
    ],
)
def test_durations_read_as_people_write_them(value: float, text: str) -> None:
    assert format_ms(value) == text


@pytest.mark.parametrize(
    ("rate", "text"), [(0, "0"), (0.0004, "0.04%"), (0.012, "1.2%"), (0.5, "50%"), (1, "100%")]
)
def test_error_rates(rate: float, text: str) -> None:
    assert format_percent(rate) == text


@pytest.mark.parametrize(
    ("count", "text"), [(7, "7"), (1234, "1.23k"), (56_000, "56k"), (3_400_000, "3.4M")]
)
def test_counts(count: int, text: str) -> None:
    assert format_count(count) == text
