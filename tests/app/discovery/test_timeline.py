"""Per-pattern timelines: bounded buckets, exact merges, and a round trip through the store."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from app.discovery.cluster import PatternClusterer
from app.discovery.normalize import normalize
from app.discovery.run import sample_batches
from app.discovery.store import PatternStore
from app.discovery.timeline import BASE_WIDTH_S, MAX_BUCKETS, Timeline


def test_buckets_stay_bounded_and_counts_survive_coarsening() -> None:
    timeline = Timeline()
    rng = random.Random(3)
    starts = [1_700_000_000 + i * 7 for i in range(20_000)]  # 39 hours of spans
    durations = [rng.uniform(1, 100) for _ in starts]
    errors = [i % 50 == 0 for i in range(len(starts))]
    for chunk in range(0, len(starts), 1000):
        part = slice(chunk, chunk + 1000)
        timeline.add(starts[part], durations[part], errors[part])
    assert len(timeline.buckets) <= MAX_BUCKETS
    assert timeline.width_s % BASE_WIDTH_S == 0 and timeline.width_s > BASE_WIDTH_S
    assert sum(b.count for b in timeline.buckets.values()) == len(starts)
    assert sum(b.errors for b in timeline.buckets.values()) == sum(errors)
    assert all(start % timeline.width_s == 0 for start in timeline.buckets)


def test_merging_timelines_of_different_widths_adds_them_up() -> None:
    fine, coarse = Timeline(), Timeline(240)
    fine.add([1000, 1100, 1300], [1.0, 2.0, 3.0], [False, True, False])
    coarse.add([1000, 2000], [10.0, 20.0], [False, False])
    fine.merge(coarse)
    assert fine.width_s == 240
    assert {start: b.count for start, b in fine.buckets.items()} == {960: 3, 1200: 1, 1920: 1}
    assert fine.buckets[960].errors == 1


def test_a_pattern_timeline_round_trips_through_the_store(tmp_path: Path) -> None:
    clusterer = PatternClusterer(normalize)
    for batch in sample_batches(seed=2, traces=200):
        clusterer.accept(batch)
    store = PatternStore(tmp_path / "p.sqlite")
    store.save(clusterer.patterns)
    for before, after in zip(clusterer.patterns, store.load(), strict=True):
        assert after.stats.timeline.width_s == before.stats.timeline.width_s
        assert {k: b.count for k, b in after.stats.timeline.buckets.items()} == {
            k: b.count for k, b in before.stats.timeline.buckets.items()
        }
        assert sum(b.count for b in after.stats.timeline.buckets.values()) == after.stats.count
        for key, bucket in before.stats.timeline.buckets.items():
            restored = after.stats.timeline.buckets[key].quantile_ms(0.5)
            assert restored == pytest.approx(bucket.quantile_ms(0.5), rel=1e-9)
