"""Which attribute values the slow spans of a pattern share more than its other spans do.

The BubbleUp question: among the spans slower than the pattern's 90th percentile, is some
value (``service.version=1.43.0``, ``db.name=reports``, ``k8s.pod.name=payment-7f9c``)
far more common than among all of its spans? Discovery keeps, per pattern, how often each
value of each attribute was seen and how often on a slow span, from a sample of at most
``PROFILED_PER_BATCH`` spans per batch, every span of a young pattern and one in
``LATER_EVERY`` later (counted that many times), so that its cost does not grow with
traffic. Span attributes count, and the resource attributes that tell deployments apart.

Memory stays bounded by the number of patterns: at most ``MAX_KEYS`` attributes per
pattern and ``MAX_VALUES`` values per attribute. An attribute with more distinct values
(user ids, URLs) says nothing about a cause in a few values and is dropped for good.
"Slow" is slower than the 90th percentile of the pattern's spans before it (as of the
batch before), which is what shows a change such as a deploy that made things slower; it
starts once the pattern has ``MIN_SPANS`` spans, so that the percentile means something.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain

from connectors.spans import Span

PROFILED_PER_BATCH = 64
FULL_PROFILE = 500
LATER_EVERY = 8
MAX_KEYS = 16
MAX_VALUES = 8
MAX_VALUE_CHARS = 80
MIN_SPANS = 20
SLOW_QUANTILE = 0.9
RESOURCE_KEYS = (
    "service.version",
    "service.instance.id",
    "k8s.pod.name",
    "k8s.node.name",
    "host.name",
    "cloud.region",
    "cloud.availability_zone",
)
"""Resource attributes that tell one deployment of a service from another."""

MIN_SLOW = 20
"""Slow spans profiled before any value is called over-represented."""
MIN_SLOW_SHARE = 0.5
MIN_GAP = 0.25


@dataclass(frozen=True)
class Skew:
    """A value far more common among slow spans than among all of them."""

    attribute: str
    value: str
    slow_share: float
    overall_share: float
    slow_spans: int


@dataclass
class AttributeProfile:
    profiled: int = 0
    profiled_slow: int = 0
    values: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    """attribute -> value -> [spans seen with it, slow spans seen with it]."""
    dropped: set[str] = field(default_factory=set)
    """Attributes with too many distinct values to say anything."""
    phase: int = 0
    """Where the next batch's one-in-``stride`` sampling starts, so that none is skipped."""

    def add(
        self, spans: Sequence[Span], durations_ms: Sequence[float], threshold_ms: float
    ) -> None:
        """Profile a batch's spans against ``threshold_ms``: every one until the pattern has
        ``FULL_PROFILE`` profiled, then one in ``LATER_EVERY``. Slow and all spans are
        sampled alike, so their shares compare."""
        stride = 1 if self.profiled < FULL_PROFILE else LATER_EVERY
        stride = max(stride, -(-len(spans) // PROFILED_PER_BATCH))
        start = self.phase % stride
        values = self.values
        deployments: dict[int, list[tuple[str, object]]] = {}  # spans share resource dicts
        for index in range(start, len(spans), stride):
            span = spans[index]
            slow = 1 if durations_ms[index] > threshold_ms else 0
            self.profiled += 1
            self.profiled_slow += slow
            resource = span.resource
            deployment = deployments.get(id(resource))
            if deployment is None:
                deployment = [(k, resource[k]) for k in RESOURCE_KEYS if k in resource]
                deployments[id(resource)] = deployment
            for key, value in chain(deployment, span.attributes.items()):
                counts = values.get(key)
                # the common case inline: a known attribute with a known value
                if counts is not None:
                    entry = counts.get(value if type(value) is str else str(value))
                    if entry is not None:
                        entry[0] += 1
                        entry[1] += slow
                        continue
                self._count(key, value, 1, slow)
        self.phase = (start - len(spans)) % stride

    def _count(self, key: str, raw: object, seen: int, slow: int) -> None:
        if key in self.dropped:
            return
        counts = self.values.get(key)
        if counts is None:
            if len(self.values) >= MAX_KEYS:
                return
            counts = self.values[key] = {}
        value = str(raw)[:MAX_VALUE_CHARS]
        entry = counts.get(value)
        if entry is None:
            if len(counts) >= MAX_VALUES:
                del self.values[key]
                self.dropped.add(key)
                return
            entry = counts[value] = [0, 0]
        entry[0] += seen
        entry[1] += slow

    def merge(self, other: AttributeProfile) -> None:
        """Add another pattern's profile, as if its spans had been profiled here."""
        self.profiled += other.profiled
        self.profiled_slow += other.profiled_slow
        for key in other.dropped:
            self.values.pop(key, None)
            self.dropped.add(key)
        for key, counts in other.values.items():
            for value, (seen, slow) in counts.items():
                self._count(key, value, seen, slow)

    def over_represented(self, limit: int = 3) -> list[Skew]:
        """Values at least half of the slow spans have, ``MIN_GAP`` more than of all spans."""
        if self.profiled_slow < MIN_SLOW or not self.profiled:
            return []
        found = []
        for key, counts in self.values.items():
            for value, (seen, slow) in counts.items():
                slow_share = slow / self.profiled_slow
                overall = seen / self.profiled
                if slow_share >= MIN_SLOW_SHARE and slow_share - overall >= MIN_GAP:
                    found.append(Skew(key, value, slow_share, overall, slow))
        found.sort(key=lambda skew: (skew.overall_share - skew.slow_share, skew.attribute))
        return found[:limit]
