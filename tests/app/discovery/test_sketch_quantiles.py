"""Quantiles read from encoded sketches together are the merged sketch's quantiles."""

from __future__ import annotations

from ddsketch import DDSketch
from ddsketch.pb.proto import DDSketchProto
from hypothesis import given, settings
from hypothesis import strategies as st

from app.discovery.sketches import (
    SKETCH_ACCURACY,
    count_above,
    encode_sketch,
    merged_counts,
    quantiles_of_encoded,
    share_above_counts,
)

QUANTILES = [0.0, 0.01, 0.5, 0.9, 0.95, 0.99, 1.0]
durations = st.lists(st.one_of(st.just(0.0), st.floats(min_value=1e-4, max_value=1e6)), max_size=60)


def _sketch(values: list[float]) -> DDSketch:
    sketch = DDSketch(SKETCH_ACCURACY)
    for value in values:
        sketch.add(value)
    return sketch


@settings(max_examples=200, deadline=None)
@given(st.lists(durations, min_size=1, max_size=6))
def test_quantiles_of_encoded_sketches_are_the_merged_sketchs(groups: list[list[float]]) -> None:
    merged = DDSketch(SKETCH_ACCURACY)
    for values in groups:
        merged.merge(_sketch(values))
    found = quantiles_of_encoded([encode_sketch(_sketch(v)) for v in groups], QUANTILES)
    if merged.count == 0:
        assert found == [0.0] * len(QUANTILES)
        return
    expected = [merged.get_quantile_value(q) for q in QUANTILES]
    assert found == [float(value) for value in expected]


def test_an_older_stores_protobuf_sketches_are_read_too() -> None:
    old = DDSketchProto.to_proto(_sketch([1.0, 2.0, 300.0])).SerializeToString()
    new = encode_sketch(_sketch([4.0]))
    p50, p100 = quantiles_of_encoded([old, new], [0.5, 1.0])
    assert abs(p50 - 2.0) / 2.0 < 2 * SKETCH_ACCURACY
    assert abs(p100 - 300.0) / 300.0 < 2 * SKETCH_ACCURACY


@settings(max_examples=100, deadline=None)
@given(durations, st.floats(min_value=0.0, max_value=1e6))
def test_the_share_above_a_value_is_what_count_above_gives(
    values: list[float], threshold: float
) -> None:
    sketch = _sketch(values)
    zero_count, counts = merged_counts([encode_sketch(sketch)])
    share = share_above_counts(zero_count, counts, threshold)
    assert share == (count_above(sketch, threshold) / sketch.count if sketch.count else 0.0)
