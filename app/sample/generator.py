"""Traces of the sample shop, generated deterministically from a seed.

Each trace starts with a request that arrives at the frontend (or a Kubernetes probe at any
service); checkouts publish to Kafka, and the notification service consumes each message in a
trace of its own whose root links back to the producer span. Traces come out lazily, ordered
by the start of their root span, so millions of spans need no memory.

Determinism: the only randomness is ``random.Random`` instances seeded from the config's seed,
one for the arrival schedule and one per trace; no wall clock is read. A trace's randomness
depends only on the seed and its position, so a fault changes the traces in its window and
nothing else.

What ``SampleConfig.traces`` counts: requests arriving from outside (browsers, probes). The
notification traces that orders cause, and the extra probes of ``noisy_health_check``, come
on top; consumer traces that would start after ``end_time_unix_nano`` are left out, as their
messages would still wait in the topic.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from app.sample import topology as tp
from app.sample.faults import Fault, FaultPlan
from app.sample.scenarios import healthz_poll, pick_scenario
from app.sample.services.notification import consume_order_placed
from app.sample.trace_builder import Run, Trace
from connectors.spans import Span


@dataclass(frozen=True)
class SampleConfig:
    """What to generate: how many requests, over which time range, with which faults."""

    seed: int = 42
    traces: int = 2000
    end_time_unix_nano: int = 1_795_274_715_000_000_000
    spread_s: float = 900.0
    faults: tuple[Fault, ...] = ()

    def __post_init__(self) -> None:
        if self.traces < 0:
            raise ValueError("traces must not be negative")
        if self.spread_s <= 0:
            raise ValueError("spread_s must be positive")


@dataclass
class GeneratedTrace:
    """One trace and, for each of its spans, the operation it truly belongs to."""

    trace_id: str
    scenario: str
    spans: list[Span]
    truth: dict[str, str] = field(default_factory=dict)
    """span_id -> truth label (``service|kind|what``, see ``topology.Operation``)."""


def generate_spans(config: SampleConfig) -> Iterator[Span]:
    """The spans of ``generate_traces(config)``, trace after trace."""
    for trace in generate_traces(config):
        yield from trace.spans


def generate_traces(config: SampleConfig) -> Iterator[GeneratedTrace]:
    """The sample's traces, lazily, in order of their root span's start."""
    spread_ns = int(config.spread_s * 1e9)
    end_ns = config.end_time_unix_nano
    begin_ns = end_ns - spread_ns
    plan = FaultPlan(config.faults, end_ns, config.spread_s)
    run = Run(
        fleet=tp.Fleet(random.Random(f"{config.seed}:fleet"), plan.rollouts()),
        plan=plan,
        secret_key=tp.fake_secret_key(random.Random(f"{config.seed}:secrets")),
    )
    arrivals = random.Random(config.seed)
    step_ns = spread_ns / max(config.traces, 1)
    # (start_ns, tie-breaker, scenario function, seed, argument) of traces caused by others
    pending: list[tuple[int, int, Callable[..., str], int, Any]] = []
    order = itertools.count()

    def run_pending(item: tuple[int, int, Callable[..., str], int, Any]) -> GeneratedTrace:
        start, _, scenario, seed, argument = item
        trace = Trace(run, random.Random(seed), start, plan.at(start))
        name = scenario(trace, argument)
        return GeneratedTrace(trace.trace_id, name, trace.spans, trace.truth)

    for slot in range(config.traces):
        start = begin_ns + int((slot + arrivals.random()) * step_ns)
        seed = arrivals.getrandbits(64)
        while pending and pending[0][0] <= start:
            yield run_pending(heapq.heappop(pending))
        effects = plan.at(start)
        trace = Trace(run, random.Random(seed), start, effects)
        trace.slot = slot
        scenario = pick_scenario(trace.rng)
        name = scenario(trace)
        yield GeneratedTrace(trace.trace_id, name, trace.spans, trace.truth)
        for message in trace.messages:
            at = message.consumed_ns + plan.consumer_lag_ns(message.produced_ns)
            heapq.heappush(pending, (at, next(order), consume_order_placed, message.seed, message))
        if effects.healthz_polls:
            slot_end = begin_ns + int((slot + 1) * step_ns)
            polls = effects.healthz_polls
            for j in range(polls):
                at = start + int((j + trace.rng.random()) * (slot_end - start) / polls)
                poll_seed = trace.rng.getrandbits(64)
                heapq.heappush(pending, (at, next(order), healthz_poll, poll_seed, None))
    while pending and pending[0][0] <= end_ns:
        yield run_pending(heapq.heappop(pending))
