"""A pattern's window numbers written out: the window, the one before, what changed."""

from __future__ import annotations

from app.facts.activity import WindowNumbers
from app.facts.units import duration_text, ms_text, rate_text, time_span_text
from app.facts.window_facts import Change, SlowShare, WindowFacts


def window_text(facts: WindowFacts) -> str:
    now, before = facts.window, facts.before
    length = duration_text(facts.asked_end_s - facts.asked_start_s)
    if not now.spans and not before.spans:
        return f"In the window: none of its spans, nor in the {length} before it."
    read = ""
    if abs(now.start_s - facts.asked_start_s) >= 60 or abs(now.end_s - facts.asked_end_s) >= 60:
        read = f" (read as {time_span_text(now.start_s, now.end_s)})" if now.seconds else ""
    text = f"In the window{read}: {numbers_text(now)}."
    before_when = time_span_text(before.start_s, before.end_s) if before.seconds else "no spans"
    text += f" The {length} before ({before_when}): {numbers_text(before)}."
    found = facts.changes
    if found:
        listed = "; ".join(change_text(change, facts.slow_share) for change in found)
        text += f" Changed: {listed}."
    elif now.spans and before.spans:
        text += " Nothing changed by much between them."
    share = facts.slow_share
    if share is not None and not any(c.measure in ("p95", "slow share") for c in found):
        text += (
            f" Its p95 moved, but the share of its calls over {ms_text(share.both_p95_ms)} went "
            f"from {share.both_before:.1%} to {share.both_after:.1%}, within what chance gives."
        )
    return text


def numbers_text(numbers: WindowNumbers) -> str:
    if not numbers.spans:
        return "no spans"
    parts = [f"{numbers.spans:,} spans ({rate_text(numbers.rate_per_s)})"]
    errors = f"{numbers.errors:,} error{'' if numbers.errors == 1 else 's'}"
    parts.append(errors + (f" ({numbers.error_rate:.2%})" if numbers.errors else ""))
    if numbers.p50_ms is not None:
        parts.append(
            f"p50 {ms_text(numbers.p50_ms)}, p95 {ms_text(numbers.p95_ms or 0.0)}, "
            f"p99 {ms_text(numbers.p99_ms or 0.0)}"
        )
    return ", ".join(parts)


def change_text(change: Change, share: SlowShare | None = None) -> str:
    if change.measure == "error rate":
        text = f"error rate {change.before:.2%} → {change.after:.2%}"
        if change.counts is not None:
            errors_before, spans_before, errors_after, spans_after = change.counts
            text += (
                f" ({errors_before:,} of {spans_before:,} → {errors_after:,} of {spans_after:,})"
            )
        return text
    if change.measure == "slow share":
        above = f" over {ms_text(share.both_p95_ms)}" if share is not None else ""
        return f"calls{above} {change.before:.1%} → {change.after:.1%} of them{_factor(change)}"
    if change.measure == "rate":
        return f"rate {rate_text(change.before)} → {rate_text(change.after)}{_factor(change)}"
    return f"p95 {ms_text(change.before)} → {ms_text(change.after)}{_factor(change)}"


def _factor(change: Change) -> str:
    if change.before <= 0 or change.after <= 0:
        return ""
    ratio = change.after / change.before
    return f" (×{ratio:.1f})" if ratio >= 1 else f" (÷{1 / ratio:.1f})"
