"""Duration sketches: DDSketch at 0.5% relative accuracy, filled many values at a time."""

from __future__ import annotations

import math
from math import ceil, log2

from ddsketch import DDSketch
from ddsketch.mapping import LogarithmicMapping

SKETCH_ACCURACY = 0.005
"""Every quantile within 1% of the exact value, with room to spare."""

_BUCKET_MULTIPLIER = math.log(2) / math.log1p(2 * SKETCH_ACCURACY / (1 - SKETCH_ACCURACY))
"""``DDSketch(SKETCH_ACCURACY)``'s logarithmic mapping: a value's bucket is
``ceil(log2(value) * _BUCKET_MULTIPLIER)`` (``ddsketch.mapping.LogarithmicMapping.key``)."""
_SMALLEST = LogarithmicMapping(SKETCH_ACCURACY).min_possible


def add_durations_ms(sketch: DDSketch, values: list[float]) -> None:
    """Add many values to ``sketch`` with one insert per distinct bucket.

    Values are grouped by the bucket the sketch's mapping puts them in, and the first value
    of each group is added with the group's size as its weight. Quantiles come from bucket
    counts alone, so they are what one insert per value gives (a test compares the bins);
    only the sketch's own sum and minimum, which Spanwise does not use, differ.
    """
    if len(values) < 4:
        for value in values:
            sketch.add(value)
        return
    by_bucket: dict[int, list[float]] = {}
    multiplier = _BUCKET_MULTIPLIER
    for value in values:
        bucket = ceil(log2(value) * multiplier) if value > _SMALLEST else _ZERO_BUCKET
        found = by_bucket.get(bucket)
        if found is None:
            by_bucket[bucket] = [value, 1.0]
        else:
            found[1] += 1.0
    for value, weight in by_bucket.values():
        sketch.add(value, weight)


_ZERO_BUCKET = -(2**62)
