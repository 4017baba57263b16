"""Where a change started, written out: the services ranked, each with why and the
pattern to open; what the evidence suggests; and the baseline beside it."""

from __future__ import annotations

from app.facts.root_cause import OwnChange, RootCauses
from app.facts.units import time_span_text

SHOWN = 3
_SUGGESTS = {
    "latency": "a slow dependency or a slower release of it",
    "network": "network delay or queueing in front of it",
    "errors": "errors starting there",
    "repeated calls": "a change in how it calls (more calls per request)",
    "new traffic": "new traffic: a new endpoint it serves, or new calls it makes",
    "consumer lag": "a consumer falling behind its producer (saturation)",
}


def root_cause_text(result: RootCauses) -> str:
    reference = time_span_text(*result.reference)
    lines = [f"Where the change started, against {reference}:"]
    sure = [rank for rank in result.ranked if rank.sure]
    weak = [rank for rank in result.ranked if not rank.sure]
    if not sure:
        lines.append(
            "Nothing changed beyond chance in this window: no service's own latency, errors, "
            "traffic or lag moved more than its spans can tell apart from noise."
        )
        if weak:
            lines.append(
                "The largest changes, weak evidence: "
                + "; ".join(f"{rank.service} ({_why(rank.changes[0])})" for rank in weak[:SHOWN])
                + "."
            )
    for number, rank in enumerate(sure[:SHOWN], 1):
        top = rank.changes[0]
        lines.append(f"{number}. {rank.service}: {_why(top)}. This suggests {_SUGGESTS[top.kind]}.")
        for other in rank.changes[1:3]:
            lines.append(f"   Also: {_why(other)}.")
    if sure and weak:
        lines.append("Weaker evidence: " + ", ".join(rank.service for rank in weak[:SHOWN]) + ".")
    if result.baseline:
        rises = ", ".join(f"{service} {factor:.2g}x" for service, factor in result.baseline[:3])
        lines.append(f"(Median server-span time, window over reference: {rises}.)")
    return "\n".join(lines)


def _why(change: OwnChange) -> str:
    return change.why()
