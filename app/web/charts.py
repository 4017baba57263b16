"""Charts of a pattern's statistics, as geometry that a template draws in SVG.

Pure: a chart is computed here (bars, lines, ticks and markers in the SVG's own
coordinates) and drawn by ``templates/_charts.html``, so the numbers can be tested without
a browser and no chart library is needed. Charts are drawn on the server:

- the **duration histogram** from the stored DDSketch, on a log scale (latencies span
  decades), with p50, p95 and p99 marked;
- **error rate** and **latency** (p50 and p99) over time from the stored timeline, one bar
  or point per time bucket.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ddsketch import DDSketch

from app.discovery.timeline import TimeBucket

WIDTH = 560
HEIGHT = 190
LEFT = 52
RIGHT = 12
BOTTOM = 24
TOP = 14
HISTOGRAM_BINS = 48
MARKER_ROW_PX = 14


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str
    """Shown on hover: what the bar counts."""
    flagged: bool = False


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Marker:
    """A vertical line across the plot with a label above it (a quantile)."""

    x: float
    label: str
    row: int
    name: str


@dataclass(frozen=True)
class Line:
    points: str
    """``x,y x,y ...`` for an SVG polyline."""
    name: str
    label: str
    dots: list[tuple[float, float, str]] = field(default_factory=list)
    """(x, y, title) of each point, for hover text."""


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    left: float
    top: float
    plot_width: float
    plot_height: float
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    note: str = ""
    """Said instead of, or under, the chart: "no errors in 81 spans"."""

    @property
    def bottom(self) -> float:
        return self.top + self.plot_height

    @property
    def right(self) -> float:
        return self.left + self.plot_width


def format_ms(value: float) -> str:
    """A duration for people: ``0.42 ms``, ``12 ms``, ``1.3 s``."""
    if value >= 60_000:
        return f"{value / 60_000:.1f} min"
    if value >= 1000:
        return f"{value / 1000:.3g} s"
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 1:
        return f"{value:.3g} ms"
    if value >= 0.001:
        return f"{value:.2g} ms"
    return "0 ms" if value == 0 else f"{value * 1000:.2g} µs"


def format_count(value: float) -> str:
    """``950``, ``12k``, ``3.4M``."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.3g}k"
    return f"{value:.0f}" if value == int(value) else f"{value:.2g}"


def format_percent(rate: float) -> str:
    """An error rate: ``0``, ``0.05%``, ``2.5%``, ``100%``."""
    if rate <= 0:
        return "0"
    percent = rate * 100
    if percent >= 10:
        return f"{percent:.0f}%"
    if percent >= 0.1:
        return f"{percent:.2g}%"
    return f"{percent:.1g}%"


def sketch_buckets(sketch: DDSketch) -> list[tuple[float, float]]:
    """(representative value in ms, count) of each non-empty bucket, smallest first.

    Reads the sketch's dense store as ``app.discovery.sketches.encode_sketch`` does; the
    zero bucket (spans of 0 ms) comes first as value 0.
    """
    store = sketch._store
    mapping = sketch._mapping
    found = [(0.0, float(sketch._zero_count))] if sketch._zero_count else []
    found += [
        (float(mapping.value(store.offset + i)), float(c)) for i, c in enumerate(store.bins) if c
    ]
    return found


def duration_histogram(
    sketch: DDSketch, quantiles_ms: Sequence[tuple[str, float]], max_ms: float
) -> Chart:
    """Span counts over duration on a log scale, with ``quantiles_ms`` (name, value) marked."""
    rows = len(quantiles_ms)
    top = TOP + rows * MARKER_ROW_PX
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - top - BOTTOM
    chart = Chart("Duration", WIDTH, HEIGHT, LEFT, top, plot_w, plot_h)
    buckets = sketch_buckets(sketch)
    total = sum(count for _, count in buckets)
    if not total:
        return _with_note(chart, "no spans yet")
    positive = [value for value, _ in buckets if value > 0]
    low = min(positive) if positive else 0.001
    high = max(max(positive) if positive else low, max_ms, low)
    low, high = low / 1.05, high * 1.05  # a little room at both ends
    span = math.log(high / low)
    counts = [0.0] * HISTOGRAM_BINS
    edges = [low * math.exp(span * i / HISTOGRAM_BINS) for i in range(HISTOGRAM_BINS + 1)]
    for value, count in buckets:
        where = 0 if value <= low else int(math.log(value / low) / span * HISTOGRAM_BINS)
        counts[min(max(where, 0), HISTOGRAM_BINS - 1)] += count
    tallest = max(counts)
    y_max, y_ticks = _linear_ticks(tallest, whole=True)

    def x_of(value: float) -> float:
        if value <= low:
            return LEFT
        return LEFT + min(math.log(value / low) / span, 1.0) * plot_w

    bar_w = plot_w / HISTOGRAM_BINS
    bars = []
    for i, count in enumerate(counts):
        if not count:
            continue
        height = count / y_max * plot_h
        share = count / total
        bars.append(
            Bar(
                LEFT + i * bar_w + 0.5,
                top + plot_h - height,
                max(bar_w - 1, 1),
                height,
                f"{format_ms(edges[i])} to {format_ms(edges[i + 1])}: "
                f"{count:,.0f} spans ({format_percent(share)})",
            )
        )
    markers = [
        Marker(x_of(value), f"{name} {format_ms(value)}", row, name)
        for row, (name, value) in enumerate(quantiles_ms)
    ]
    return Chart(
        "Duration",
        WIDTH,
        HEIGHT,
        LEFT,
        top,
        plot_w,
        plot_h,
        bars=bars,
        x_ticks=[Tick(x_of(v), format_ms(v)) for v in _log_ticks(low, high)],
        y_ticks=[Tick(top + plot_h - v / y_max * plot_h, format_count(v)) for v in y_ticks],
        markers=markers,
        note=f"{total:,.0f} spans; log scale; within 1% (DDSketch)",
    )


def error_rate_over_time(buckets: Sequence[TimeBucket], width_s: int) -> Chart:
    """The share of erroring spans in each time bucket."""
    if not buckets:
        return _bars_over_time("Error rate", buckets, width_s, [], "", [])
    spans = sum(b.count for b in buckets)
    errors = sum(b.errors for b in buckets)
    rates = [b.errors / b.count if b.count else 0.0 for b in buckets]
    note = (
        f"no errors in {spans:,} spans"
        if not errors
        else f"{errors:,} errors in {spans:,} spans ({format_percent(errors / spans)})"
    )
    return _bars_over_time(
        "Error rate",
        buckets,
        width_s,
        [rate * 100 for rate in rates],
        "{:g}%",
        [
            f"{_clock(b.start_s)} UTC: {b.errors:,} of {b.count:,} spans failed "
            f"({format_percent(rate)})"
            for b, rate in zip(buckets, rates, strict=True)
        ],
        floor=1.0,
        flagged=[b.errors > 0 for b in buckets],
        note=f"{note}; {_width(width_s)} buckets",
    )


def request_rate_over_time(buckets: Sequence[TimeBucket], width_s: int) -> Chart:
    """Spans per minute in each time bucket: how busy it was, beside how slow and how
    often failing."""
    per_minute = [b.count * 60 / width_s for b in buckets]
    return _bars_over_time(
        "Request rate",
        buckets,
        width_s,
        per_minute,
        "{:g}/min",
        [
            f"{_clock(b.start_s)} UTC: {b.count:,} spans ({rate:,.3g}/min)"
            for b, rate in zip(buckets, per_minute, strict=True)
        ],
        note=f"{sum(b.count for b in buckets):,} spans; per minute, {_width(width_s)} buckets",
    )


def _bars_over_time(
    title: str,
    buckets: Sequence[TimeBucket],
    width_s: int,
    values: Sequence[float],
    tick: str,
    labels: Sequence[str],
    *,
    floor: float = 0.0,
    flagged: Sequence[bool] = (),
    note: str = "",
) -> Chart:
    """A bar per time bucket of ``values``, its height from 0 to a round top (at least
    ``floor``), ``labels`` as the bars' titles and ``tick`` formatting the y axis."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    if not buckets:
        chart = Chart(title, WIDTH, HEIGHT, LEFT, TOP, plot_w, plot_h)
        return _with_note(chart, "no timeline stored for this pattern")
    y_max, y_ticks = _linear_ticks(max(max(values), floor))
    start, end = buckets[0].start_s, buckets[-1].start_s + width_s
    x_of, x_ticks = _time_axis(start, end, plot_w)
    bars = []
    for number, (bucket, value) in enumerate(zip(buckets, values, strict=True)):
        height = value / y_max * plot_h
        x = x_of(bucket.start_s)
        bars.append(
            Bar(
                x + 0.5,
                TOP + plot_h - height,
                max(x_of(bucket.start_s + width_s) - x - 1, 1),
                height,
                labels[number],
                flagged=bool(flagged) and flagged[number],
            )
        )
    return Chart(
        title,
        WIDTH,
        HEIGHT,
        LEFT,
        TOP,
        plot_w,
        plot_h,
        bars=bars,
        x_ticks=x_ticks,
        y_ticks=[Tick(TOP + plot_h - v / y_max * plot_h, tick.format(v)) for v in y_ticks],
        note=note,
    )


def latency_over_time(buckets: Sequence[TimeBucket], width_s: int) -> Chart:
    """p50 and p99 of each time bucket."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    chart = Chart("Latency", WIDTH, HEIGHT, LEFT, TOP, plot_w, plot_h)
    counted = [b for b in buckets if b.count]
    if not counted:
        return _with_note(chart, "no timeline stored for this pattern")
    y_max, y_ticks = _linear_ticks(max(b.quantile_ms(0.99) for b in counted))
    start, end = buckets[0].start_s, buckets[-1].start_s + width_s
    x_of, x_ticks = _time_axis(start, end, plot_w)

    def y_of(value: float) -> float:
        return TOP + plot_h - value / y_max * plot_h

    lines = []
    for name, quantile in (("p99", 0.99), ("p50", 0.5)):
        dots = []
        for bucket in counted:
            value = bucket.quantile_ms(quantile)
            dots.append(
                (
                    round(x_of(bucket.start_s + width_s / 2), 1),
                    round(y_of(value), 1),
                    f"{_clock(bucket.start_s)} UTC: {name} {format_ms(value)} "
                    f"over {bucket.count:,} spans",
                )
            )
        points = " ".join(f"{x},{y}" for x, y, _ in dots)
        lines.append(Line(points, name, name, dots))
    return Chart(
        "Latency",
        WIDTH,
        HEIGHT,
        LEFT,
        TOP,
        plot_w,
        plot_h,
        lines=lines,
        x_ticks=x_ticks,
        y_ticks=[Tick(y_of(v), format_ms(v)) for v in y_ticks],
        note=f"p50 and p99 per {_width(width_s)} bucket",
    )


def _with_note(chart: Chart, note: str) -> Chart:
    return Chart(
        chart.title,
        chart.width,
        chart.height,
        chart.left,
        chart.top,
        chart.plot_width,
        chart.plot_height,
        note=note,
    )


def _linear_ticks(highest: float, *, whole: bool = False) -> tuple[float, list[float]]:
    """A round top for a linear axis from 0, and 3 to 6 ticks up to it; ``whole``: ticks
    at whole numbers only (counts)."""
    if highest <= 0:
        return 1.0, [0.0, 1.0]
    raw = highest / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = [m * magnitude for m in (1, 2, 2.5, 5, 10)]
    if whole:
        steps = [max(round(s), 1) for s in steps if s >= 1 and s == int(s)] or [1]
    step = next((s for s in steps if s >= raw), steps[-1])
    top = math.ceil(highest / step) * step
    count = round(top / step)
    return top, [round(i * step, 10) for i in range(count + 1)]


def _log_ticks(low: float, high: float) -> list[float]:
    """1-2-5 ticks within ``[low, high]``, thinned to at most 7."""
    ticks = []
    exponent = math.floor(math.log10(low))
    while 10**exponent <= high:
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0**exponent
            if low <= value <= high:
                ticks.append(value)
        exponent += 1
    while len(ticks) > 7:
        ticks = ticks[::2]
    return ticks


_TIME_STEPS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800)


def _time_axis(
    start_s: int, end_s: int, plot_w: float
) -> tuple[Callable[[float], float], list[Tick]]:
    length = max(end_s - start_s, 1)

    def x_of(when_s: float) -> float:
        return LEFT + (when_s - start_s) / length * plot_w

    step = next((s for s in _TIME_STEPS_S if length / s <= 6), _TIME_STEPS_S[-1])
    first = math.ceil(start_s / step) * step
    days = end_s - start_s > 86400
    ticks = [
        Tick(x_of(when), _clock(when, with_day=days)) for when in range(first, end_s + 1, step)
    ]
    return x_of, ticks


def _clock(when_s: float, *, with_day: bool = False) -> str:
    moment = datetime.fromtimestamp(when_s, UTC)
    return moment.strftime("%d %b %H:%M" if with_day else "%H:%M")


def _width(width_s: int) -> str:
    if width_s % 3600 == 0:
        return f"{width_s // 3600} h"
    if width_s % 60 == 0:
        return f"{width_s // 60} min"
    return f"{width_s} s"
