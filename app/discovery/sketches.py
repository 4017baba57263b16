"""Duration sketches: DDSketch at 0.5% relative accuracy, filled many values at a time."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from math import ceil, log2

import msgspec
from ddsketch import DDSketch
from ddsketch.mapping import LogarithmicMapping
from ddsketch.pb.ddsketch_pb2 import DDSketch as DDSketchMessage
from ddsketch.pb.proto import DDSketchProto

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


_FORMAT = b"swsk1"
"""Marks Spanwise's own sketch encoding; anything else is DDSketch's protobuf."""
_MAPPING = LogarithmicMapping(SKETCH_ACCURACY)
_codec_encoder = msgspec.msgpack.Encoder()
_codec_decoder = msgspec.msgpack.Decoder(tuple[float, list[tuple[int, float]]])


def encode_sketch(sketch: DDSketch) -> bytes:
    """The sketch's non-empty buckets, as (zero count, [(key, count)]).

    DDSketch's own protobuf keeps every bucket of its dense store, empty ones included, and
    reads them back one insert at a time; this keeps and reads only the ones that count.
    Negative durations do not occur (they are clamped to 0), so only positive buckets are
    kept; the sketch must hold none below zero.
    """
    store = sketch._store  # the dense store's bins and offset, as ddsketch's own codec reads
    buckets = [(store.offset + i, c) for i, c in enumerate(store.bins) if c]
    return _FORMAT + _codec_encoder.encode((sketch._zero_count, buckets))


def decode_sketch(data: bytes) -> DDSketch:
    if not data.startswith(_FORMAT):
        return DDSketchProto.from_proto(DDSketchMessage.FromString(data))  # type: ignore[no-any-return]
    zero_count, buckets = _codec_decoder.decode(data[len(_FORMAT) :])
    sketch = DDSketch(SKETCH_ACCURACY)
    if buckets:
        # the two ends first: the store then grows its range once, not once per bucket
        ordered = [buckets[0], buckets[-1], *buckets[1:-1]] if len(buckets) > 1 else buckets
        for key, count in ordered:
            sketch.add(_MAPPING.value(key), count)
    if zero_count:
        sketch.add(0.0, zero_count)
    return sketch


def count_above(sketch: DDSketch, value: float) -> float:
    """How many of the sketch's values lie above ``value`` (to the sketch's accuracy: values
    in ``value``'s own bucket are not counted)."""
    if value <= 0:
        return float(sketch.count - sketch._zero_count)
    store = sketch._store
    first = _MAPPING.key(value) + 1 - store.offset
    return float(sum(store.bins[max(first, 0) :]))


def merged_counts(encoded: Iterable[bytes]) -> tuple[float, dict[int, float]]:
    """The zero count and the count per bucket key of several encoded sketches together:
    what DDSketch holds once they are merged, without building one (a window's latency is
    read from many time buckets, and only their counts are needed)."""
    zero_count = 0.0
    counts: dict[int, float] = {}
    for data in encoded:
        sketch_zeros, buckets = _bucket_counts(data)
        zero_count += sketch_zeros
        for key, count in buckets:
            counts[key] = counts.get(key, 0.0) + count
    return zero_count, counts


def quantiles_of_counts(
    zero_count: float, counts: dict[int, float], quantiles: Sequence[float]
) -> list[float]:
    """The quantiles DDSketch gives for these counts (``get_quantile_value``); zeros when
    there are none."""
    total = zero_count + sum(counts.values())
    if total == 0:
        return [0.0 for _ in quantiles]
    keys = sorted(counts)
    found = []
    for quantile in quantiles:
        rank = quantile * (total - 1) - zero_count
        if rank < 0:
            found.append(0.0)
            continue
        running = 0.0
        chosen = keys[-1]
        for key in keys:
            running += counts[key]
            if running > rank:
                chosen = key
                break
        found.append(float(_MAPPING.value(chosen)))
    return found


def share_above_counts(zero_count: float, counts: dict[int, float], value: float) -> float:
    """The share of the counted values above ``value``, to the sketch's accuracy (values in
    ``value``'s own bucket are not counted, as ``count_above``)."""
    total = zero_count + sum(counts.values())
    if total == 0:
        return 0.0
    if value <= 0:
        return sum(counts.values()) / total
    first = _MAPPING.key(value) + 1
    return sum(count for key, count in counts.items() if key >= first) / total


def quantiles_of_encoded(encoded: Iterable[bytes], quantiles: Sequence[float]) -> list[float]:
    """The quantiles of the values of several encoded sketches together, as DDSketch gives
    them once merged."""
    return quantiles_of_counts(*merged_counts(encoded), quantiles)


def _bucket_counts(data: bytes) -> tuple[float, list[tuple[int, float]]]:
    if data.startswith(_FORMAT):
        zero_count, buckets = _codec_decoder.decode(data[len(_FORMAT) :])
        return zero_count, buckets
    sketch = decode_sketch(data)  # an older store's protobuf
    store = sketch._store
    return sketch._zero_count, [(store.offset + i, c) for i, c in enumerate(store.bins) if c]
