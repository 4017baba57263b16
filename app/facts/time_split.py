"""Where a parent's time goes, from its traces: each child pattern's time on the critical
path and the span's own time, in its slow calls against its typical ones.

Read from the time profiles discovery keeps (``app.discovery.time_profile``). The child
that holds most of the slow calls' time is followed down the call chain, through its own
profile, to the pattern that spends the time itself: the one to look at next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.discovery.patterns import SpanPattern
from app.discovery.time_profile import TimeBand

CHILDREN_SHOWN = 5
CHAIN_DEPTH = 10
CHAIN_SHARE = 0.5
"""A child is followed when it holds at least this share of its parent's (slow) time."""


@dataclass(frozen=True)
class ChildTimeShare:
    name: str
    service: str
    pattern_id: int
    calls_per_span: float
    """Its calls per profiled call of the parent (all bands)."""
    slow_ms: float
    """Mean time on the critical path per slow call of the parent."""
    typical_ms: float


@dataclass(frozen=True)
class TimeSplit:
    slow_calls: int
    typical_calls: int
    slow_mean_ms: float
    typical_mean_ms: float
    slow_self_ms: float
    typical_self_ms: float
    children: list[ChildTimeShare]
    """The children with the most time in slow calls, first."""
    chain: list[ChildTimeShare]
    """Down the call chain, each the child of the one before that holds most of its (slow)
    time; the last spends it itself."""

    @property
    def calls(self) -> int:
        return self.slow_calls + self.typical_calls

    @property
    def banded(self) -> bool:
        """Slow calls were told from typical ones (the pattern had enough spans)."""
        return self.slow_calls > 0 and self.typical_calls > 0

    def as_dict(self) -> dict[str, object]:
        return {
            "source": "critical path of whole traces seen by discovery",
            "calls": self.calls,
            "slow_calls": {
                "calls": self.slow_calls,
                "mean_ms": round(self.slow_mean_ms, 3),
                "self_ms": round(self.slow_self_ms, 3),
            },
            "typical_calls": {
                "calls": self.typical_calls,
                "mean_ms": round(self.typical_mean_ms, 3),
                "self_ms": round(self.typical_self_ms, 3),
            },
            "children": [
                {
                    "name": child.name,
                    "calls_per_span": round(child.calls_per_span, 3),
                    "slow_ms": round(child.slow_ms, 3),
                    "typical_ms": round(child.typical_ms, 3),
                }
                for child in self.children
            ],
            "chain": [hop.name for hop in self.chain],
        }


def time_split(pattern: SpanPattern, graph: Mapping[int, SpanPattern]) -> TimeSplit | None:
    """None for a pattern with no profiled calls (a leaf, or spans never seen whole)."""
    profile = pattern.stats.time_profile
    if not profile.spans or not pattern.children:
        return None
    children = _shares(pattern, graph)
    return TimeSplit(
        slow_calls=profile.slow.spans,
        typical_calls=profile.typical.spans,
        slow_mean_ms=profile.slow.mean_ms(profile.slow.total_ns),
        typical_mean_ms=profile.typical.mean_ms(profile.typical.total_ns),
        slow_self_ms=profile.slow.mean_ms(profile.slow.self_ns),
        typical_self_ms=profile.typical.mean_ms(profile.typical.self_ns),
        children=children[:CHILDREN_SHOWN],
        chain=_chain(pattern, children, graph),
    )


def _leading(pattern: SpanPattern) -> TimeBand:
    """The band the time is read from: slow calls, or all when they were not told apart."""
    profile = pattern.stats.time_profile
    return profile.slow if profile.slow.spans else profile.typical


def _shares(pattern: SpanPattern, graph: Mapping[int, SpanPattern]) -> list[ChildTimeShare]:
    profile = pattern.stats.time_profile
    slow, typical = profile.slow, profile.typical
    leading = _leading(pattern)
    found = []
    for child_id in set(slow.children) | set(typical.children):
        child = graph.get(child_id)
        if child is None or child.merged_into is not None:
            continue
        in_slow, in_typical = slow.children.get(child_id), typical.children.get(child_id)
        calls = (in_slow.calls if in_slow else 0) + (in_typical.calls if in_typical else 0)
        found.append(
            ChildTimeShare(
                name=child.name,
                service=child.service,
                pattern_id=child_id,
                calls_per_span=calls / profile.spans,
                slow_ms=slow.mean_ms(in_slow.path_ns) if in_slow else 0.0,
                typical_ms=typical.mean_ms(in_typical.path_ns) if in_typical else 0.0,
            )
        )
    lead_is_slow = leading is slow
    found.sort(key=lambda c: -(c.slow_ms if lead_is_slow else c.typical_ms))
    return found


def _chain(
    pattern: SpanPattern, children: list[ChildTimeShare], graph: Mapping[int, SpanPattern]
) -> list[ChildTimeShare]:
    chain: list[ChildTimeShare] = []
    seen = {pattern.id}
    current, shares = pattern, children
    while shares and len(chain) < CHAIN_DEPTH:
        band = _leading(current)
        total_ms = band.mean_ms(band.total_ns)
        top = shares[0]
        held_ms = top.slow_ms if band is current.stats.time_profile.slow else top.typical_ms
        if total_ms <= 0 or held_ms < CHAIN_SHARE * total_ms or top.pattern_id in seen:
            break
        chain.append(top)
        seen.add(top.pattern_id)
        child = graph.get(top.pattern_id)
        if child is None or not child.stats.time_profile.spans:
            break
        current, shares = child, _shares(child, graph)
    return chain
