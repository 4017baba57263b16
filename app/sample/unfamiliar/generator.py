"""Traces of a randomly composed system, generated deterministically from a seed.

Each trace starts with a request from outside at the edge service (or a Kubernetes probe at
any service). Page views publish to Kafka; the worker consumes each message in a trace of
its own whose root links back to the producer span, a few milliseconds later. Traces come
out lazily, in order of their root span's start.

Determinism: the system is composed from ``random.Random(system seed)``, arrivals come from
one ``random.Random(seed)``, and each trace from a ``random.Random`` seeded by the arrivals;
no wall clock is read.

What ``UnfamiliarConfig.traces`` counts: requests arriving from outside. Consumer traces come
on top; those that would start after ``end_time_unix_nano`` are left out.
"""

from __future__ import annotations

import gzip
import heapq
import itertools
import random
from bisect import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, cast

from app.sample.generator import GeneratedTrace
from app.sample.unfamiliar.compose import Composed, compose_system
from app.sample.unfamiliar.steps import Build, GrpcMethod, Message, Route
from app.sample.unfamiliar.system import Operation, Position
from connectors.otlp import encode_otlp_json
from connectors.spans import Span

BROWSER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "okhttp/4.12.0",
)
PROBE_AGENT = "kube-probe/1.29"


@dataclass(frozen=True)
class UnfamiliarConfig:
    """What to generate.

    ``id_pool_min`` and ``id_pool_max`` bound how many distinct values each kind of id
    draws from (each pool's size is drawn log-uniformly between them); ``id_skew_max`` how
    unevenly (1 is uniform; each pool draws its skew in ``[1, id_skew_max]``).
    ``system_seed`` composes the system (its services, operations and id pools); by default
    it is ``seed``, and setting it apart gives other traffic on the same system.
    """

    seed: int = 42
    traces: int = 2000
    end_time_unix_nano: int = 1_795_274_715_000_000_000
    spread_s: float = 900.0
    id_pool_min: int = 300
    id_pool_max: int = 3000
    id_skew_max: float = 1.3
    system_seed: int | None = None

    def __post_init__(self) -> None:
        if self.traces < 0:
            raise ValueError("traces must not be negative")
        if self.spread_s <= 0:
            raise ValueError("spread_s must be positive")
        if not 2 <= self.id_pool_min <= self.id_pool_max <= 3000:
            raise ValueError("need 2 <= id_pool_min <= id_pool_max <= 3000")
        if self.id_skew_max < 1.0:
            raise ValueError("id_skew_max must be at least 1 (uniform)")

    @property
    def composition_seed(self) -> int:
        return self.seed if self.system_seed is None else self.system_seed


@dataclass
class UnfamiliarTrace(GeneratedTrace):
    """A generated trace, and the id value each span carries at each variable position."""

    values: dict[str, dict[str, str]] = field(default_factory=dict)
    """span_id -> {position name: value}; spans without variable positions are left out."""


def compose(config: UnfamiliarConfig) -> Composed:
    """The system ``config`` generates traces of (composed once, then reused)."""
    return _compose(
        config.composition_seed, config.id_pool_min, config.id_pool_max, config.id_skew_max
    )


@lru_cache(maxsize=8)
def _compose(seed: int, pool_min: int, pool_max: int, skew_max: float) -> Composed:
    return compose_system(seed, pool_min, pool_max, skew_max)


def true_operations(config: UnfamiliarConfig) -> dict[str, Operation]:
    """Every operation the config's system can perform, by truth label."""
    return dict(compose(config).system.operations)


def position_descriptions(config: UnfamiliarConfig) -> dict[str, dict[str, str]]:
    """Label -> {position name: the shape and pool of its ids}, for test messages."""
    return {
        label: {p.name: p.describe() for p in positions}
        for label, positions in compose(config).system.positions().items()
    }


def id_positions(config: UnfamiliarConfig) -> dict[str, Position]:
    """Every kind of id of the system, by position name."""
    return {name: Position(name, pool) for name, pool in compose(config).system.pools.items()}


def generate_spans(config: UnfamiliarConfig) -> Iterator[Span]:
    """The spans of ``generate_traces(config)``, trace after trace."""
    for trace in generate_traces(config):
        yield from trace.spans


def generate_traces(config: UnfamiliarConfig) -> Iterator[UnfamiliarTrace]:
    """The traces, lazily, in order of their root span's start."""
    composed = compose(config)
    entries, cum_weights = composed.entries, composed.cum_weights
    spread_ns = int(config.spread_s * 1e9)
    end_ns = config.end_time_unix_nano
    begin_ns = end_ns - spread_ns
    arrivals = random.Random(f"unfamiliar:{config.seed}:arrivals")
    step_ns = spread_ns / max(config.traces, 1)
    pending: list[tuple[int, int, Message]] = []
    order = itertools.count()

    def consume(item: tuple[int, int, Message]) -> UnfamiliarTrace:
        start, _, message = item
        b = Build(random.Random(message.seed), start)
        message.consumer.consume(b, message)
        name = f"kafka {message.consumer.op.what}"
        return UnfamiliarTrace(b.trace_id, name, b.spans, b.truth, b.values)

    for slot in range(config.traces):
        start = begin_ns + int((slot + arrivals.random()) * step_ns)
        seed = arrivals.getrandbits(64)
        while pending and pending[0][0] <= start:
            yield consume(heapq.heappop(pending))
        b = Build(random.Random(seed), start)
        rng = b.rng
        entry = entries[_pick(cum_weights, rng.random())]
        endpoint = entry.endpoint
        target = endpoint.routes[endpoint.pick(rng)]
        if isinstance(target, GrpcMethod):
            target.serve(b, None, start)
        else:
            route = cast(Route, target)
            if entry.probe:
                peer, agent = f"10.{rng.randrange(16, 32)}.0.1", PROBE_AGENT
            else:
                peer = (
                    f"{rng.choice(('203.0.113', '198.51.100', '192.0.2'))}.{rng.randrange(1, 255)}"
                )
                agent = rng.choice(BROWSER_AGENTS)
            route.serve(b, None, start, route.prepare(b), peer, agent)
        yield UnfamiliarTrace(b.trace_id, entry.name, b.spans, b.truth, b.values)
        for message in b.messages:
            at = message.produced_ns + b.lat(25.0, 0.8)
            heapq.heappush(pending, (at, next(order), message))
    while pending and pending[0][0] <= end_ns:
        yield consume(heapq.heappop(pending))


def _pick(cum_weights: tuple[float, ...], u: float) -> int:
    return bisect(cum_weights, u * cum_weights[-1])


def write_otlp_jsonl(traces: Iterable[GeneratedTrace], path: Path) -> int:
    """Write one OTLP/JSON document per trace, one per line (gzip-compressed if ``path``
    ends in ``.gz``), as the Collector's file exporter does, so that ``spanwise discover
    --file`` reads them; returns how many traces were written."""
    count = 0
    opened = gzip.open(path, "wb") if path.suffix == ".gz" else path.open("wb")
    with cast(IO[bytes], opened) as out:
        for trace in traces:
            out.write(encode_otlp_json(trace.spans))
            out.write(b"\n")
            count += 1
    return count
