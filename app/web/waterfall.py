"""A trace as a waterfall: spans nested under their parents, on one time axis.

Pure: it takes the span documents ``GET /api/traces/{id}`` answers (redacted) and returns
rows in the order a waterfall shows them, each with its depth, its place on the time axis in
per cent of the trace's length, and its service's colour. Stored samples hold only some of
a trace's spans, so a span whose parent is not among them starts a tree of its own and is
marked so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.web.charts import format_ms

MAX_DEPTH_SHOWN = 16
"""Deeper spans are indented as far as this; their depth is still shown."""

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#9c755f",
    "#ff9da7",
    "#86bcb6",
    "#bab0ac",
)
"""Tableau 10, without its red: red marks errors."""


@dataclass(frozen=True)
class WaterfallRow:
    span: Mapping[str, Any]
    depth: int
    offset_pct: float
    width_pct: float
    color: str
    orphan: bool
    """Its parent span is not among the spans shown."""

    @property
    def indent(self) -> int:
        return min(self.depth, MAX_DEPTH_SHOWN)

    @property
    def failed(self) -> bool:
        return self.span.get("status") == "error"


@dataclass(frozen=True)
class Waterfall:
    rows: list[WaterfallRow]
    services: list[tuple[str, str]]
    """(service, colour), in the order they first appear."""
    duration_ms: float
    start_unix_nano: int
    ticks: list[tuple[float, str]]
    """(per cent of the axis, label) of the time axis."""
    errors: int


def waterfall(spans: Sequence[Mapping[str, Any]]) -> Waterfall:
    if not spans:
        return Waterfall([], [], 0.0, 0, [], 0)
    by_id = {span["span_id"]: span for span in spans}
    children: dict[str, list[Mapping[str, Any]]] = {}
    roots: list[Mapping[str, Any]] = []
    for span in spans:
        parent = span.get("parent_span_id")
        if parent and parent in by_id and parent != span["span_id"]:
            children.setdefault(parent, []).append(span)
        else:
            roots.append(span)
    start = min(int(span["start_unix_nano"]) for span in spans)
    end = max(_end_ns(span) for span in spans)
    length = max(end - start, 1)
    colors: dict[str, str] = {}
    for span in sorted(spans, key=_start):
        service = str(span.get("service", ""))
        if service not in colors:
            colors[service] = PALETTE[len(colors) % len(PALETTE)]

    rows: list[WaterfallRow] = []
    seen: set[str] = set()

    def add_tree(root: Mapping[str, Any]) -> None:
        stack = [(root, 0)]
        while stack:
            span, depth = stack.pop()
            if span["span_id"] in seen:
                continue
            seen.add(span["span_id"])
            offset = (int(span["start_unix_nano"]) - start) / length * 100
            width = max(float(span["duration_ms"]) * 1e6 / length * 100, 0.15)
            rows.append(
                WaterfallRow(
                    span,
                    depth,
                    round(offset, 3),
                    round(min(width, 100 - offset), 3) or 0.15,
                    colors[str(span.get("service", ""))],
                    orphan=bool(span.get("parent_span_id")) and depth == 0,
                )
            )
            for child in sorted(children.get(span["span_id"], []), key=_start, reverse=True):
                stack.append((child, depth + 1))

    for root in sorted(roots, key=_start):
        add_tree(root)
    # Spans whose parents form a loop (bad data) are reached from no root: show them too.
    for span in sorted(spans, key=_start):
        if span["span_id"] not in seen:
            add_tree(span)
    duration_ms = length / 1e6
    return Waterfall(
        rows,
        list(colors.items()),
        duration_ms,
        start,
        _ticks(duration_ms),
        sum(1 for row in rows if row.failed),
    )


def _start(span: Mapping[str, Any]) -> tuple[int, str]:
    return int(span["start_unix_nano"]), str(span["span_id"])


def _end_ns(span: Mapping[str, Any]) -> int:
    return int(span["start_unix_nano"]) + round(float(span["duration_ms"]) * 1e6)


def _ticks(duration_ms: float) -> list[tuple[float, str]]:
    """Round times from 0 to the trace's length, four or five of them."""
    if duration_ms <= 0:
        return [(0.0, "0 ms")]
    raw = duration_ms / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = []
    value = 0.0
    while value <= duration_ms * 1.0001:
        ticks.append((round(value / duration_ms * 100, 3), format_ms(value)))
        value += step
    return ticks
