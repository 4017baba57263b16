"""A readable answer from facts alone: what Spanwise says when no model is configured.

The question decides which facts lead (latency and slow periods, errors, callers, callees,
throughput, whether it is noise); everything said is a number or a verdict from
``PatternFacts``, with the pattern named, so an answer can be checked against
``patterns show``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from enum import StrEnum

from app.facts.consumer_lag import ConsumerLag
from app.facts.pattern_facts import NEIGHBOURS_SHOWN, Neighbour, PatternFacts, SlowCause
from app.facts.render_window import window_text
from app.facts.repeated_calls import RepeatedCall
from app.facts.tail import LatencyTail
from app.facts.time_split import TimeSplit
from app.facts.trend import ErrorPeriod
from app.facts.units import ms_text

NAMES_MORE = 12
"""Past the neighbours described, at most this many more are named (then only counted)."""


class Intent(StrEnum):
    SLOW = "slow"
    ERRORS = "errors"
    CALLERS = "callers"
    CALLEES = "callees"
    THROUGHPUT = "throughput"
    VERDICT = "verdict"
    SUMMARY = "summary"


_INTENTS = (
    (Intent.SLOW, r"slow|latenc|p9\d|p50|duration|fast|took|takes|time"),
    (Intent.ERRORS, r"error|fail|5\d\d|4\d\d|exception|broken|crash"),
    (
        Intent.CALLERS,
        r"(who|what|which \w+) calls? (it|this)|caller|upstream|produce|which services?"
        r"|depends? on (it|this)",
    ),
    (Intent.CALLEES, r"what does it call|calls? what|downstream|dependenc|children"),
    (
        Intent.THROUGHPUT,
        r"how many|how often|rate|throughput|traffic|volume|busy|busiest|\blag|behind"
        r"|keep(?:s|ing)? up|backlog",
    ),
    (
        Intent.VERDICT,
        r"\bnoise|\bnoisy|worth|alert|\bignore|\bmatters?\b|important|\bprobes?\b"
        r"|health ?checks?",
    ),
)


def intents(question: str) -> list[Intent]:
    text = question.lower()
    found = [intent for intent, pattern in _INTENTS if re.search(pattern, text)]
    return found or [Intent.SUMMARY]


def answer_text(question: str, facts: PatternFacts) -> str:
    asked = intents(question)
    parts = [_headline(facts)]
    if facts.window is not None:
        parts.append(window_text(facts.window))
    for intent in asked:
        if intent is Intent.SLOW:
            parts.append(_latency(facts))
            if facts.lag is not None and Intent.THROUGHPUT not in asked:
                parts.append(_lag(facts.lag))  # how late it starts is part of how slow
        elif intent is Intent.ERRORS:
            parts.append(_errors(facts))
        elif intent is Intent.CALLERS:
            parts.append(_callers(facts))
        elif intent is Intent.CALLEES:
            parts.append(_callees(facts))
        elif intent is Intent.THROUGHPUT:
            parts.append(_throughput(facts))
        elif intent is Intent.VERDICT:
            parts.append(_verdict(facts))
        else:
            parts.extend(
                [
                    _verdict(facts),
                    _throughput(facts),
                    _latency(facts),
                    _errors(facts),
                    _callers(facts),
                ]
            )
    parts.append(f"(Source: {facts.source}.)")
    return "\n".join(part for part in parts if part)


def _headline(facts: PatternFacts) -> str:
    what = facts.description or f"{facts.service} {facts.span_kind}: {facts.operation}"
    return f"@{facts.name}: {what}"


def _verdict(facts: PatternFacts) -> str:
    if facts.verdict is None:
        return "It has not been classified yet: there is no keep-or-noise verdict for it."
    reason = f" {facts.verdict_reason}" if facts.verdict_reason else ""
    if facts.verdict == "noise":
        return f"Verdict: noise, counted but not worth attention or alerts.{reason}"
    return f"Verdict: keep, not noise: worth watching.{reason}"


def _latency(facts: PatternFacts) -> str:
    lines = [
        f"Latency over {facts.count:,} spans: p50 {_ms(facts.p50_ms)}, p95 {_ms(facts.p95_ms)}, "
        f"p99 {_ms(facts.p99_ms)}, max {_ms(facts.max_ms)}."
    ]
    if facts.tail is not None:
        lines.append(_tail(facts.tail))
    elif not facts.slow:
        lines.append("No period stands out: its median stayed within 2.5x of its usual one.")
    for cause in facts.slow:
        lines.append(_slow_period(cause))
    if facts.time_split is not None:
        lines.append(_time_split(facts.time_split, facts.name))
    for call in facts.repeated_calls:
        lines.append(_repeated_call(call, facts.name))
    if facts.slow_attributes:
        shared = "; ".join(
            f"{skew.attribute}={skew.value} on {skew.slow_share:.0%} of them against "
            f"{skew.overall_share:.0%} of all its spans"
            for skew in facts.slow_attributes
        )
        lines.append(
            f"What its slow spans (slower than 90% of its spans before them) share: {shared}."
        )
    if facts.slow_traces:
        slowest = ", ".join(f"{trace} ({_ms(ms)})" for trace, ms in facts.slow_traces)
        lines.append(f"Slowest traces: {slowest}.")
    return "\n".join(lines)


def _tail(tail: LatencyTail) -> str:
    kind = "a slow mode of their own" if tail.separate else "its slow tail"
    text = (
        f"{tail.share:.1%} of its calls ({tail.spans:,}) take over {_ms(tail.threshold_ms)}, "
        f"4x its median of {_ms(tail.median_ms)}: {kind}, mostly {_ms(tail.low_ms)} to "
        f"{_ms(tail.high_ms)}, while the other calls stay under {_ms(tail.rest_p99_ms)} "
        "(their p99)."
    )
    minutes = _span_of(tail.bucket_width_s)
    if tail.periods:
        when = ", ".join(
            f"{_clock(p.start_s)} to {_clock(p.end_s)} ({p.spans:,})" for p in tail.periods
        )
        return text + f" They came in periods: {when}."
    if tail.steady:
        return text + (
            f" Steady, not a period: slow calls came in {tail.buckets_with_tail} of the "
            f"{tail.buckets_expected} {minutes} where one was expected."
        )
    return text


def _span_of(width_s: int) -> str:
    if width_s % 3600 == 0:
        hours = width_s // 3600
        return "hours" if hours == 1 else f"{hours}-hour spans"
    minutes = width_s // 60
    return "minutes" if minutes == 1 else f"{minutes}-minute spans"


def _time_split(split: TimeSplit, name: str) -> str:
    if split.banded:
        text = (
            f"Where its time goes (critical path of {split.calls:,} calls in whole traces): "
            f"its slowest 10% ({split.slow_calls:,} calls, mean {_ms(split.slow_mean_ms)}) "
            f"against the rest (mean {_ms(split.typical_mean_ms)}):"
        )
        parts = [
            f"@{child.name} {_ms(child.slow_ms)} against {_ms(child.typical_ms)}"
            for child in split.children[:3]
            if child.slow_ms >= 0.05 * split.slow_mean_ms
        ]
        parts.append(f"its own time {_ms(split.slow_self_ms)} against {_ms(split.typical_self_ms)}")
    else:
        mean = split.typical_mean_ms
        text = (
            f"Where its time goes (critical path of {split.calls:,} calls in whole traces, "
            f"mean {_ms(mean)}):"
        )
        parts = [
            f"@{child.name} {_ms(child.typical_ms)}"
            for child in split.children[:3]
            if child.typical_ms >= 0.05 * mean
        ]
        parts.append(f"its own time {_ms(split.typical_self_ms)}")
    text += " " + "; ".join(parts) + "."
    if split.chain:
        last = split.chain[-1]
        if len(split.chain) > 1:
            hops = " -> ".join(f"@{hop.name}" for hop in split.chain)
            text += f" Down the call chain, the time is spent in {hops}."
        text += f" Look next at @{last.name} ({last.service})."
    else:
        text += f" No one call holds most of it: look at @{name} itself and its slowest traces."
    return text


def _slow_period(cause: SlowCause) -> str:
    period = cause.period
    if period.since_change:
        text = (
            f"Slower since {_clock(period.start_s)}, from {_clock(period.start_s)} to "
            f"{_clock(period.end_s)} (the last span seen): median {_ms(period.p50_during_ms)} "
            f"against {_ms(period.p50_outside_ms)} before ({period.factor:.1f}x), p95 "
            f"{_ms(period.p95_during_ms)} against {_ms(period.p95_outside_ms)}; "
            f"{period.spans:,} spans ({period.share:.0%}) since then."
        )
        return text + _where_it_went(cause)
    text = (
        f"Slow from {_clock(period.start_s)} to {_clock(period.end_s)}: median "
        f"{_ms(period.p50_during_ms)} against {_ms(period.p50_outside_ms)} the rest of the "
        f"time ({period.factor:.1f}x), p95 {_ms(period.p95_during_ms)} against "
        f"{_ms(period.p95_outside_ms)}; {period.spans:,} spans ({period.share:.0%}) fell in it."
    )
    return text + _where_it_went(cause)


def _where_it_went(cause: SlowCause) -> str:
    text = ""
    grown = [child for child in cause.children if child.added_ms > 0.1 * cause.added_ms]
    if grown:
        shares = "; ".join(
            f"@{child.name} added {_ms(child.added_ms)} per span "
            f"({_calls(child.calls_per_span)} per span, median {_ms(child.p50_outside_ms)} -> "
            f"{_ms(child.p50_during_ms)})"
            for child in grown[:3]
        )
        text += f" Where the extra {_ms(cause.added_ms)} went: {shares}."
        if cause.self_ms > 0.1 * cause.added_ms:
            text += f" The remaining {_ms(cause.self_ms)} was spent in the span itself."
    elif cause.children:
        text += (
            " Its children did not slow down then: the extra "
            f"{_ms(cause.added_ms)} was spent in the span itself."
        )
    else:
        text += f" It calls nothing traced: the extra {_ms(cause.added_ms)} is its own time."
    if len(cause.chain) > 1:
        hops = " -> ".join(
            f"@{hop.name} (median {_ms(hop.p50_outside_ms)} -> {_ms(hop.p50_during_ms)})"
            for hop in cause.chain
        )
        if cause.traced:
            text += f" Down the call chain: {hops}."
        else:
            text += (
                f" Down the call chain: {hops}; @{cause.chain[-1].name} spent the extra time "
                "itself, where the slowdown comes from."
            )
    if cause.traced and cause.chain:
        through = " -> ".join(f"@{hop.name}" for hop in cause.traced)
        text += (
            f" Its children's medians stop at @{cause.chain[-1].name}, but in whole traces its "
            f"slow calls spend their time in {through}: look there next."
        )
    return text


def _repeated_call(call: RepeatedCall, name: str) -> str:
    return (
        f"Repeated calls (N+1) since {_clock(call.since_s)}: @{call.name} runs "
        f"{call.calls_per_caller_after:.1f} calls per span that calls it, from "
        f"{_clock(call.since_s)} to {_clock(call.until_s)}, against "
        f"{call.calls_per_caller_before:.1f} before; per span of @{name}, "
        f"{call.calls_per_span_before:.2g} -> {call.calls_per_span_after:.2g} calls, "
        f"which at its median of {_ms(call.child_p50_ms)} adds {_ms(call.added_ms)} per span."
    )


def _lag(lag: ConsumerLag) -> str:
    text = (
        f"Consumer lag (from the end of the producer's span to the start of this one, "
        f"{lag.messages:,} messages): typically {_ms(lag.p50_ms)}, p95 {_ms(lag.p95_ms)}, "
        f"peak {_ms(lag.max_ms)} around {_clock(lag.peak_at_s)}."
    )
    for period in lag.behind:
        text += (
            f" It fell behind from {_clock(period.start_s)} to {_clock(period.end_s)}: median "
            f"lag {_ms(period.p50_during_ms)} against {_ms(period.p50_outside_ms)} the rest "
            "of the time."
        )
    if not lag.behind:
        text += " It kept up: no period of longer lag stands out."
    return text


def _errors(facts: PatternFacts) -> str:
    if not facts.error_count:
        return f"No errors in {facts.count:,} spans."
    text = f"Errors: {facts.error_count:,} of {facts.count:,} spans ({facts.error_rate:.2%})."
    if facts.status_codes:
        text += " Status codes: " + ", ".join(f"{c} x{n:,}" for c, n in facts.status_codes) + "."
    if facts.exception_types:
        text += " Exceptions: " + ", ".join(f"{e} x{n:,}" for e, n in facts.exception_types) + "."
    for period in facts.error_periods:
        text += " " + _error_period(period)
    if facts.error_chain:
        hops = " -> ".join(
            f"@{hop.name} ({hop.service}, {_errors_count(hop.error_count)}, {hop.error_rate:.2%}"
            + (f"; {hop.exception_types[0][0]}" if hop.exception_types else "")
            + ")"
            for hop in facts.error_chain
        )
        deepest = facts.error_chain[-1]
        text += (
            f" Where they come from, down the call chain: {hops}. The errors start at "
            f"@{deepest.name} in {deepest.service}"
        )
        if deepest.status_codes:
            text += " (status codes " + ", ".join(f"{c} x{n:,}" for c, n in deepest.status_codes)
            text += ")"
        text += "."
    if facts.error_traces:
        text += " Example traces: " + ", ".join(facts.error_traces) + "."
    return text


def _errors_count(count: int) -> str:
    return f"{count:,} error" + ("" if count == 1 else "s")


def _error_period(period: ErrorPeriod) -> str:
    return (
        f"Errors stood out from {_clock(period.start_s)} to {_clock(period.end_s)}: "
        f"{period.errors:,} of {period.spans:,} spans failed ({period.rate:.0%}) against "
        f"{period.rate_outside:.1%} the rest of the time."
    )


def _callers(facts: PatternFacts) -> str:
    if not facts.callers:
        return "No traced caller: its spans are roots (or their parents were not seen)."
    services = sorted({n.service for n in facts.callers})
    listed = _neighbour_list(facts.callers, lambda n: f"{n.service}, {n.calls:,} calls")
    return f"Called by {', '.join(services)}: {listed}."


def _callees(facts: PatternFacts) -> str:
    if not facts.callees:
        return "It calls no traced pattern."
    listed = _neighbour_list(facts.callees, lambda n: f"{n.calls:,} calls, p95 {_ms(n.p95_ms)}")
    return f"It calls {len(facts.callees):,} patterns: {listed}."


def _neighbour_list(neighbours: list[Neighbour], detail: Callable[[Neighbour], str]) -> str:
    """The busiest neighbours with details, then more by name only, then a count."""
    shown = [f"@{n.name} ({detail(n)})" for n in neighbours[:NEIGHBOURS_SHOWN]]
    named = neighbours[NEIGHBOURS_SHOWN : NEIGHBOURS_SHOWN + NAMES_MORE]
    if named:
        shown.append(
            f"and {len(neighbours) - NEIGHBOURS_SHOWN:,} more: "
            + ", ".join(f"@{n.name}" for n in named)
        )
    rest = len(neighbours) - NEIGHBOURS_SHOWN - len(named)
    if rest > 0:
        shown.append(f"and {rest:,} others")
    return ", ".join(shown)


def _throughput(facts: PatternFacts) -> str:
    per_hour = facts.rate_per_s * 3600
    text = (
        f"{facts.count:,} spans from {_clock(facts.first_seen_unix_s)} to "
        f"{_clock(facts.last_seen_unix_s)}, about {per_hour:,.0f} per hour."
    )
    if facts.lag is not None:
        text += "\n" + _lag(facts.lag)
    return text


def _calls(per_span: float) -> str:
    return f"{per_span:.2g} call" + ("" if f"{per_span:.2g}" == "1" else "s")


rendered_ms = ms_text
_ms = ms_text


def _clock(unix_s: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(unix_s))
