""" "What changed" written out: the largest changes first, then the new and the gone, then
what was compared, so a reader knows what was not."""

from __future__ import annotations

from app.facts.render_window import change_text
from app.facts.units import duration_text, rate_text, time_span_text
from app.facts.what_changed import Appearance, WhatChanged


def what_changed_text(result: WhatChanged) -> str:
    length = result.end_s - result.start_s
    before = time_span_text(result.start_s - length, result.start_s)
    lines = [f"What changed against the {duration_text(length)} before ({before}):"]
    for number, change in enumerate(result.changed, 1):
        listed = "; ".join(change_text(c, change.facts.slow_share) for c in change.changes)
        lines.append(f"{number}. @{change.name} ({change.service}): {listed}.")
    if result.more_changed:
        lines.append(f"...and {result.more_changed} more with smaller changes.")
    if not result.changed:
        lines.append(
            "No pattern's rate, error rate or latency moved by much (rate ×1.5, error rate "
            "1 point, p95 ×1.5, for patterns with 20 spans or more)."
        )
    for label, appearances in (
        ("New in the window", result.new),
        ("Gone from the window (seen before it)", result.gone),
    ):
        kept = [a for a in appearances if not a.noise]
        noise = [a for a in appearances if a.noise]
        if kept:
            lines.append(f"{label}: {_listed(kept)}.")
        if noise:
            lines.append(f"{label}, judged noise: {_listed(noise)}.")
    compared = f"Compared {result.compared:,} patterns with spans in either window"
    if result.noise_left_out:
        compared += (
            f"; {result.noise_left_out:,} judged noise left out (ask with "
            '"including noise" to see them)'
        )
    if result.latency_capped:
        compared += f"; latency compared for the {result.latency_compared:,} busiest"
    lines.append(compared + ".")
    return "\n".join(lines)


def _listed(appearances: list[Appearance]) -> str:
    return ", ".join(
        f"@{a.name} ({a.service}, {a.spans:,} spans, {rate_text(a.rate_per_s)})"
        for a in appearances
    )
