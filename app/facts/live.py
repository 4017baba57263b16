"""A pattern's numbers for a time window, live from Tempo: TraceQL metrics over its matchers.

Stored statistics cover the spans discovery saw (a sample, at Tempo scale); Tempo's metrics
cover every span of the window. The pattern's matchers compiled to TraceQL
(``app.discovery.traceql``) select exactly its spans; three instant queries give its rate, its
error rate and its duration quantiles. Tempo's metrics-generator only holds recent spans, so
a window older than its retention comes back empty: such facts say they found nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from app.discovery.patterns import SpanPattern
from app.discovery.traceql import traceql_metrics_for
from app.facts.units import time_span_text
from app.settings import Settings
from app.tempo_runner import tempo_runner
from connectors.tempo import TempoClient
from connectors.tempo_models import MetricsInstantResult


@dataclass(frozen=True)
class LiveFacts:
    start_s: int
    end_s: int
    rate_per_s: float | None
    errors_per_s: float | None
    quantiles_ms: dict[str, float]
    """``{"p50": ..., "p95": ..., "p99": ...}`` for the window; empty when Tempo had none."""

    @property
    def error_rate(self) -> float | None:
        if not self.rate_per_s or self.errors_per_s is None:
            return None
        return self.errors_per_s / self.rate_per_s

    @property
    def source(self) -> str:
        return f"Tempo TraceQL metrics over all spans from {self.start_s} to {self.end_s}"

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "start_unix_s": self.start_s,
            "end_unix_s": self.end_s,
            "rate_per_s": self.rate_per_s,
            "error_rate": self.error_rate,
            "latency_ms": self.quantiles_ms,
        }


async def live_facts(
    client: TempoClient, pattern: SpanPattern, start_s: int, end_s: int
) -> LiveFacts:
    queries = traceql_metrics_for(pattern)
    rate, errors, latency = await asyncio.gather(
        client.metrics_instant(queries.rate, start=start_s, end=end_s),
        client.metrics_instant(queries.error_rate, start=start_s, end=end_s),
        client.metrics_instant(queries.latency, start=start_s, end=end_s),
    )
    return LiveFacts(
        start_s=start_s,
        end_s=end_s,
        rate_per_s=_total(rate),
        errors_per_s=_total(errors) if rate.series else None,
        quantiles_ms=_quantiles_ms(latency),
    )


def _total(result: MetricsInstantResult) -> float | None:
    values = [series.value for series in result.series if series.value is not None]
    return sum(values) if values else None


def _quantiles_ms(result: MetricsInstantResult) -> dict[str, float]:
    found: dict[str, float] = {}
    for series in result.series:
        quantile = series.labels.get("p")
        if series.value is None or not isinstance(quantile, int | float):
            continue
        found[f"p{round(float(quantile) * 100):g}"] = round(series.value * 1000, 3)
    return dict(sorted(found.items(), key=lambda item: float(item[0][1:])))


LiveSource = Callable[[SpanPattern, int, int], LiveFacts]
"""A pattern's live facts from a start to an end (unix seconds)."""


def live_source(settings: Settings) -> LiveSource | None:
    """Live facts from the configured Tempo, through the process's one client for it
    (``app.tempo_runner``); None without a Tempo."""
    runner = tempo_runner(settings)
    if runner is None:
        return None

    def fetch(pattern: SpanPattern, start_s: int, end_s: int) -> LiveFacts:
        async def ask(client: TempoClient) -> LiveFacts:
            return await live_facts(client, pattern, start_s, end_s)

        return runner.run(ask)

    return fetch


def live_text(live: LiveFacts) -> str:
    """One line for an answer: the window's numbers, or that Tempo had none."""
    window = time_span_text(live.start_s, live.end_s)
    if live.rate_per_s is None:
        return (
            f"Live from Tempo over {window}: no spans of it (or older than Tempo's metrics keep)."
        )
    parts = [f"{live.rate_per_s * 3600:,.0f} spans/h"]
    if live.error_rate is not None:
        parts.append(f"{live.error_rate:.2%} errors")
    if live.quantiles_ms:
        parts.append(", ".join(f"{q} {ms:g} ms" for q, ms in live.quantiles_ms.items()))
    return f"Live from Tempo over {window} (all spans): " + "; ".join(parts) + "."
