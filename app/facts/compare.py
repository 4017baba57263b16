"""Two or more patterns side by side: one table of the same numbers, and the differences
that matter said in words (a latency several times another's, one failing where another
does not, one far busier), so "compare A and B" is not two summaries to read across."""

from __future__ import annotations

from dataclasses import dataclass

from app.facts.pattern_facts import PatternFacts
from app.facts.units import ms_text, rate_text

LATENCY_FACTOR = 2.0
RATE_FACTOR = 2.0
ERROR_POINTS = 0.01


@dataclass(frozen=True)
class Column:
    """One pattern's numbers: over the window asked when there is one, else all spans."""

    name: str
    service: str
    spans: int
    rate_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    error_rate: float
    verdict: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "service": self.service,
            "spans": self.spans,
            "rate_per_s": round(self.rate_per_s, 4),
            "latency_ms": {
                "p50": round(self.p50_ms, 3),
                "p95": round(self.p95_ms, 3),
                "p99": round(self.p99_ms, 3),
            },
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Comparison:
    columns: list[Column]
    differences: list[str]
    in_window: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": "comparison",
            "over": "the window asked" if self.in_window else "all spans seen",
            "patterns": [column.as_dict() for column in self.columns],
            "differences": self.differences,
        }


def comparison(facts: list[PatternFacts]) -> Comparison:
    columns = [_column(f) for f in facts]
    in_window = any(f.window is not None for f in facts)
    return Comparison(columns, _differences(columns), in_window)


def _column(facts: PatternFacts) -> Column:
    window = facts.window.window if facts.window is not None else None
    if window is not None:
        return Column(
            facts.name,
            facts.service,
            window.spans,
            window.rate_per_s,
            window.p50_ms or 0.0,
            window.p95_ms or 0.0,
            window.p99_ms or 0.0,
            window.errors,
            window.error_rate,
            facts.verdict,
        )
    return Column(
        facts.name,
        facts.service,
        facts.count,
        facts.rate_per_s,
        facts.p50_ms,
        facts.p95_ms,
        facts.p99_ms,
        facts.error_count,
        facts.error_rate,
        facts.verdict,
    )


def _differences(columns: list[Column]) -> list[str]:
    found: list[str] = []
    for label, value in (("p50", "p50_ms"), ("p99", "p99_ms")):
        ordered = sorted(columns, key=lambda c: getattr(c, value))
        low, high = ordered[0], ordered[-1]
        low_ms, high_ms = getattr(low, value), getattr(high, value)
        if low_ms > 0 and high_ms >= LATENCY_FACTOR * low_ms:
            found.append(
                f"@{high.name}'s {label} ({ms_text(high_ms)}) is {_times(high_ms / low_ms)} "
                f"@{low.name}'s ({ms_text(low_ms)})."
            )
    by_errors = sorted(columns, key=lambda c: c.error_rate)
    least, most = by_errors[0], by_errors[-1]
    if most.error_rate - least.error_rate >= ERROR_POINTS:
        least_text = "none" if not least.errors else f"{least.error_rate:.2%}"
        found.append(
            f"@{most.name} fails on {most.error_rate:.2%} of its spans ({most.errors:,}); "
            f"@{least.name} on {least_text}."
        )
    by_rate = sorted(columns, key=lambda c: c.rate_per_s)
    quiet, busy = by_rate[0], by_rate[-1]
    if quiet.rate_per_s > 0 and busy.rate_per_s >= RATE_FACTOR * quiet.rate_per_s:
        found.append(
            f"@{busy.name} is {_times(busy.rate_per_s / quiet.rate_per_s)} as busy as "
            f"@{quiet.name} ({rate_text(busy.rate_per_s)} against {rate_text(quiet.rate_per_s)})."
        )
    verdicts = {c.verdict for c in columns if c.verdict}
    if len(verdicts) > 1:
        noise = ", ".join(f"@{c.name}" for c in columns if c.verdict == "noise")
        found.append(f"Judged noise: {noise}; the others are kept.")
    return found


def comparison_text(result: Comparison) -> str:
    """A row per pattern (names are long; numbers are short), then what differs."""
    over = "in the window" if result.in_window else "over all spans seen"
    header = ["pattern", "service", "spans", "rate", "p50", "p95", "p99", "errors"]
    rows = [header] + [
        [
            f"@{c.name}",
            c.service,
            f"{c.spans:,}",
            rate_text(c.rate_per_s),
            ms_text(c.p50_ms),
            ms_text(c.p95_ms),
            ms_text(c.p99_ms),
            _errors(c),
        ]
        for c in result.columns
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [f"Compared {over}:"]
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [value.rjust(width) for value, width in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    if result.differences:
        lines.append("What differs most:")
        lines.extend(f"- {difference}" for difference in result.differences)
    else:
        lines.append(
            "Nothing differs by much: latency within 2x, error rates within a point, "
            "rates within 2x."
        )
    return "\n".join(lines)


def _errors(column: Column) -> str:
    return f"{column.errors:,} ({column.error_rate:.2%})" if column.errors else "0"


def _times(ratio: float) -> str:
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:,.0f}x"
