"""One trace under construction: the state every span maker shares, and closing spans.

A ``Trace`` owns the randomness of its trace, so every span it opens draws from the same
``random.Random`` in the same order; that order is what keeps the sample deterministic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from app.sample import topology as tp
from app.sample.faults import Effects, FaultPlan
from app.sample.topology import Instance, Operation
from connectors.spans import Span, SpanEvent, StatusCode

NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class Run:
    """What every trace of a run shares: the pods, the fault plan, the Stripe key one pod leaks."""

    fleet: tp.Fleet
    plan: FaultPlan
    secret_key: str


@dataclass(frozen=True)
class OrderPlaced:
    """A Kafka message produced by checkout, waiting for the notification consumer."""

    trace_id: str
    span_id: str
    produced_ns: int
    consumed_ns: int
    seed: int
    order: int
    user: int
    total_cents: int
    partition: int
    offset: int


class Trace:
    """One trace being built: its randomness, its spans so far and their truth labels."""

    __slots__ = (
        "run",
        "rng",
        "start_ns",
        "effects",
        "trace_id",
        "spans",
        "truth",
        "messages",
        "slot",
    )

    def __init__(self, run: Run, rng: random.Random, start_ns: int, effects: Effects) -> None:
        self.run = run
        self.rng = rng
        self.start_ns = start_ns
        self.effects = effects
        self.trace_id = tp.trace_id(rng)
        self.spans: list[Span] = []
        self.truth: dict[str, str] = {}
        self.messages: list[OrderPlaced] = []
        self.slot = 0

    def pick(self, service: str) -> Instance:
        return self.run.fleet.pick(service, self.rng, self.start_ns)

    def open(
        self,
        op: Operation,
        inst: Instance,
        parent: Span | None,
        start: int,
        name: str,
        attributes: dict[str, Any],
    ) -> Span:
        span_id = tp.span_id(self.rng)
        span = Span(
            self.trace_id,
            span_id,
            None if parent is None else parent.span_id,
            name,
            op.kind,
            start,
            start,
            attributes,
            inst.resource,
            StatusCode.UNSET,
            "",
            op.scope.name,
            op.scope.version,
        )
        self.spans.append(span)
        self.truth[span_id] = op.label
        return span

    def lat(self, median_ms: float, sigma: float = 0.3) -> int:
        """A lognormal duration in nanoseconds."""
        return int(median_ms * self.rng.lognormvariate(0.0, sigma) * NS_PER_MS)

    def hop(self) -> int:
        """One way across the cluster network."""
        return self.lat(0.35, 0.35)


def close(span: Span, end: int, error: str | None = None) -> int:
    """End ``span`` at ``end`` (an error if ``error`` is given); returns ``end``."""
    span.end_unix_nano = end
    if error is not None:
        span.status_code = StatusCode.ERROR
        span.status_message = error
    return end


def record_exception(span: Span, at: int, kind: str, message: str, stacktrace: str) -> None:
    """Add the ``exception`` event OpenTelemetry SDKs record for an exception."""
    span.events.append(
        SpanEvent(
            "exception",
            at,
            {
                "exception.type": kind,
                "exception.message": message,
                "exception.stacktrace": stacktrace,
            },
        )
    )
