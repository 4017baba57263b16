"""``app.web.catalog`` reads what ``PatternStore.load`` and the API give, only faster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ddsketch import DDSketch

from app.classify.store import ClassificationStore
from app.discovery.documents import pattern_row, sample_document
from app.discovery.heads import encoded_quantiles_ms, read_heads
from app.discovery.run import pattern_store_path
from app.discovery.sample_traces import sample_trace
from app.discovery.sketches import SKETCH_ACCURACY, encode_sketch
from app.discovery.store import PatternStore
from app.web.catalog import complete_names, merge_candidates, read_gists
from tests.app.web.conftest import MARKED_TRACE


@pytest.fixture
def store(data_dir: Path) -> Iterator[PatternStore]:
    opened = PatternStore(pattern_store_path(data_dir))
    yield opened
    opened.close()


def test_heads_hold_the_numbers_of_pattern_row_for_every_pattern(store: PatternStore) -> None:
    patterns = store.load(timelines=False)
    heads = read_heads(store)
    assert [h.id for h in heads] == [p.id for p in patterns]
    for pattern, head in zip(patterns, heads, strict=True):
        row = pattern_row(pattern)
        assert (head.name, head.service, head.span_kind, head.operation) == (
            row["name"],
            row["service"],
            row["span_kind"],
            row["operation"],
        )
        assert (head.count, head.p50_ms, head.p99_ms) == (
            row["count"],
            row["p50_ms"],
            row["p99_ms"],
        )
        assert round(head.error_rate, 6) == row["error_rate"]
        assert dict(head.parents) == dict(pattern.parents)
        assert dict(head.children) == dict(pattern.children)
        assert head.matcher_fields == tuple(m.field_name for m in pattern.matchers)


@pytest.mark.parametrize(
    "values",
    [
        [5.0],
        [0.0, 0.0, 3.0],  # spans of 0 ms sit in the zero bucket
        [0.0] * 10,
        [float(v) for v in range(1, 1001)],
        [0.013, 7.5, 7.5, 7.5, 120_000.0],
    ],
)
def test_quantiles_of_an_encoded_sketch_are_ddsketchs(values: list[float]) -> None:
    sketch = DDSketch(SKETCH_ACCURACY)
    for value in values:
        sketch.add(value)
    quantiles = (0.0, 0.5, 0.9, 0.99, 1.0)
    expected = [float(sketch.get_quantile_value(q) or 0.0) for q in quantiles]
    assert encoded_quantiles_ms(encode_sketch(sketch), quantiles) == expected


def test_an_empty_sketch_has_zero_quantiles() -> None:
    assert encoded_quantiles_ms(encode_sketch(DDSketch(SKETCH_ACCURACY)), (0.5,)) == [0.0]


def test_gists_are_the_current_classifications(store: PatternStore) -> None:
    classifications = ClassificationStore(store)
    current = classifications.current(store.load(sketches=False))
    gists = read_gists(classifications)
    assert gists.keys() == current.keys()
    for pattern_id, stored in current.items():
        gist = gists[pattern_id]
        assert (gist.description, gist.category, gist.verdict) == (
            stored.classification.description,
            stored.classification.category,
            stored.classification.verdict,
        )


def test_a_sample_trace_reads_only_what_it_needs_and_finds_what_a_full_load_finds(
    store: PatternStore,
) -> None:
    patterns = store.load()
    slowest = max(patterns, key=lambda p: p.stats.count).stats.slowest_spans()[0]
    for trace_id in (slowest.trace_id, MARKED_TRACE):
        found: dict[str, dict[str, object]] = {}
        for pattern in sorted(patterns, key=lambda p: p.id):  # every statistic decoded
            stats = pattern.stats
            for span in [*stats.typical, *stats.slowest_spans(), *stats.errors]:
                if span.trace_id == trace_id and span.span_id not in found:
                    found[span.span_id] = {
                        **sample_document(span),
                        "service": pattern.service,
                        "pattern": pattern.name,
                    }
        expected = sorted(found.values(), key=lambda span: span["start_unix_nano"])
        assert expected and sample_trace(store, trace_id) == expected
    assert sample_trace(store, "0" * 32) == []


def test_names_complete_by_prefix_then_word_then_anywhere(store: PatternStore) -> None:
    hits = complete_names(store, "redis", limit=200)
    assert hits and all("redis" in h.name for h in hits)
    assert [h.name.startswith("redis") for h in hits] == sorted(
        (h.name.startswith("redis") for h in hits), reverse=True
    )
    word = complete_names(store, "stripe", limit=50)
    assert {h.name for h in word} >= {"http_call_stripe_post_charges"}
    counts = [h.count for h in word if "_stripe" in h.name]
    assert counts == sorted(counts, reverse=True)  # busiest first within a rank
    assert complete_names(store, "no_such_thing_at_all") == []


def test_merge_candidates_share_service_kind_and_fields(store: PatternStore) -> None:
    patterns = store.load(sketches=False)
    charges = next(p for p in patterns if p.name == "http_call_stripe_post_charges")
    candidates = merge_candidates(store, charges)
    assert candidates and charges.id not in {c.id for c in candidates}
    fields = tuple(m.field_name for m in charges.matchers)
    for candidate in candidates:
        assert (candidate.service, candidate.span_kind) == (charges.service, charges.span_kind)
        assert candidate.matcher_fields == fields and candidate.live
