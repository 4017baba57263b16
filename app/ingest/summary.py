"""What has arrived, per service: spans, traces, errors, kinds and latency percentiles.

Memory grows with the number of services and span kinds, never with the number of spans:
durations go into a DDSketch (1% relative accuracy) per service.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ddsketch import DDSketch

from connectors.spans import Span, StatusCode


@dataclass
class ServiceSummary:
    service: str
    spans: int = 0
    root_spans: int = 0
    error_spans: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    durations_ms: DDSketch = field(default_factory=lambda: DDSketch(relative_accuracy=0.01))

    def quantile_ms(self, q: float) -> float:
        value = self.durations_ms.get_quantile_value(q)
        return float(value) if value is not None else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "service": self.service,
            "spans": self.spans,
            "traces": self.root_spans,
            "error_spans": self.error_spans,
            "error_rate": self.error_spans / self.spans if self.spans else 0.0,
            "kinds": dict(self.kinds),
            "p50_ms": round(self.quantile_ms(0.50), 3),
            "p99_ms": round(self.quantile_ms(0.99), 3),
        }


class IngestSummary:
    """A span sink that keeps the numbers a person wants first: what arrived, from whom."""

    def __init__(self) -> None:
        self.services: dict[str, ServiceSummary] = {}
        self.batches = 0
        self.first_start_unix_nano: int | None = None
        self.last_end_unix_nano: int | None = None
        self._lock = threading.Lock()

    def accept(self, spans: Sequence[Span]) -> None:
        with self._lock:
            self._accept(spans)

    def _accept(self, spans: Sequence[Span]) -> None:
        self.batches += 1
        services = self.services
        first = self.first_start_unix_nano
        last = self.last_end_unix_nano
        for span in spans:
            name = span.service_name
            summary = services.get(name)
            if summary is None:
                summary = services[name] = ServiceSummary(name)
            summary.spans += 1
            if span.parent_span_id is None:
                summary.root_spans += 1
            if span.status_code is StatusCode.ERROR:
                summary.error_spans += 1
            summary.kinds[span.kind.label] += 1
            summary.durations_ms.add(max(span.end_unix_nano - span.start_unix_nano, 0) / 1e6)
            if first is None or span.start_unix_nano < first:
                first = span.start_unix_nano
            if last is None or span.end_unix_nano > last:
                last = span.end_unix_nano
        self.first_start_unix_nano, self.last_end_unix_nano = first, last

    @property
    def total_spans(self) -> int:
        return sum(s.spans for s in self.services.values())

    @property
    def total_traces(self) -> int:
        """Traces counted by their root spans, which each trace has exactly one of."""
        return sum(s.root_spans for s in self.services.values())

    def as_dict(self) -> dict[str, object]:
        with self._lock:
            return self._as_dict()

    def _as_dict(self) -> dict[str, object]:
        return {
            "spans": self.total_spans,
            "traces": self.total_traces,
            "batches": self.batches,
            "first_start_unix_nano": self.first_start_unix_nano,
            "last_end_unix_nano": self.last_end_unix_nano,
            "services": [
                s.as_dict() for s in sorted(self.services.values(), key=lambda s: s.service)
            ],
        }


class TenantSummaries:
    """An ingest summary per tenant: a tenant sees what arrived for it, never another's.

    The default tenant's is the one the span pipeline feeds (the receiver hands the pipeline
    that tenant's spans only); the others' are fed by the receiver directly.
    """

    def __init__(self, default: IngestSummary) -> None:
        self._default = default
        self._others: dict[str, IngestSummary] = {}
        self._lock = threading.Lock()

    def for_tenant(self, tenant: str, default_tenant: str) -> IngestSummary:
        if tenant == default_tenant:
            return self._default
        with self._lock:
            found = self._others.get(tenant)
            if found is None:
                found = self._others[tenant] = IngestSummary()
            return found
