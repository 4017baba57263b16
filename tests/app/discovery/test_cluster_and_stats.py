"""Clustering into patterns, the pattern graph across batches, and bounded statistics."""

from __future__ import annotations

import random

import pytest
from ddsketch import DDSketch

from app.discovery.cluster import PatternClusterer, provisional_name
from app.discovery.operation import Family, FieldType, Matcher, MatchType, Operation
from app.discovery.stats import (
    ERROR_SAMPLES,
    MAX_DISTINCT,
    OTHER,
    SKETCH_ACCURACY,
    PatternStats,
    add_durations_ms,
)
from connectors.spans import Span, SpanEvent, SpanKind, SpanLink, StatusCode

TRACE = "0af7651916cd43dd8448eb211c80319c"


def by_name(span: Span) -> Operation:
    """A stand-in normalizer: the operation is the span's name."""
    matcher = Matcher(FieldType.SPAN_FIELD, "name", MatchType.EXACT, span.name)
    return Operation(Family.GENERIC, span.name, (matcher,), {"operation": span.name})


def make_span(
    span_id: int,
    name: str,
    *,
    parent: int | None = None,
    service: str = "checkout",
    duration_ms: float = 1.0,
    trace: str = TRACE,
    error: bool = False,
    kind: SpanKind = SpanKind.INTERNAL,
    links: list[SpanLink] | None = None,
    attributes: dict | None = None,
    events: list[SpanEvent] | None = None,
) -> Span:
    start = 1_700_000_000_000_000_000 + span_id * 1_000_000
    return Span(
        trace_id=trace,
        span_id=f"{span_id:016x}",
        parent_span_id=f"{parent:016x}" if parent is not None else None,
        name=name,
        kind=kind,
        start_unix_nano=start,
        end_unix_nano=start + int(duration_ms * 1e6),
        attributes=attributes or {},
        resource={"service.name": service},
        status_code=StatusCode.ERROR if error else StatusCode.UNSET,
        links=links or [],
        events=events or [],
    )


def test_same_operation_is_one_pattern_per_service_and_kind() -> None:
    clusterer = PatternClusterer(by_name)
    clusterer.accept(
        [
            make_span(1, "charge"),
            make_span(2, "charge"),
            make_span(3, "charge", service="payment"),  # another service: another pattern
            make_span(4, "charge", kind=SpanKind.CLIENT),  # another kind: another pattern
        ]
    )
    assert [p.stats.count for p in clusterer.patterns] == [2, 1, 1]
    assert len({p.name for p in clusterer.patterns}) == 3


@pytest.mark.parametrize("order", ["parent first", "child first", "shuffled batches"])
def test_parent_and_child_edges_resolve_in_any_arrival_order(order: str) -> None:
    spans = [
        make_span(1, "GET /checkout", service="frontend"),
        make_span(2, "charge", parent=1),
        make_span(3, "reserve", parent=1),
        make_span(4, "INSERT orders", parent=2, service="db"),
    ]
    clusterer = PatternClusterer(by_name)
    if order == "parent first":
        clusterer.accept(spans)
    elif order == "child first":
        clusterer.accept(list(reversed(spans)))
    else:
        for batch in ([spans[3]], [spans[1], spans[0]], [spans[2]]):
            clusterer.accept(batch)
    patterns = clusterer.by_name()
    root = patterns["frontend_internal_get_checkout"]
    charge = patterns["checkout_internal_charge"]
    insert = patterns["db_internal_insert_orders"]
    assert {clusterer.patterns[c].operation for c in root.children} == {"charge", "reserve"}
    assert charge.parents == {root.id: 1} and charge.children == {insert.id: 1}
    assert clusterer.callers(insert) == ["checkout"]


def test_consumer_links_make_the_producer_a_parent_pattern() -> None:
    producer = make_span(7, "orders.placed publish", kind=SpanKind.PRODUCER)
    consumer_trace = "1" * 32
    consumer = make_span(
        1,
        "orders.placed process",
        trace=consumer_trace,
        service="notification",
        kind=SpanKind.CONSUMER,
        links=[SpanLink(TRACE, producer.span_id)],
    )
    clusterer = PatternClusterer(by_name)
    clusterer.accept([consumer])  # the consumer's batch may come first
    clusterer.accept([producer])
    consumer_pattern = clusterer.patterns[0]
    assert clusterer.callers(consumer_pattern) == ["checkout"]


def test_edge_memory_is_bounded() -> None:
    clusterer = PatternClusterer(by_name, recent_spans=100, waiting_edges=50)
    for i in range(1, 5_000):
        clusterer.add(make_span(i, "step", parent=i + 10_000))  # parents never arrive
    assert len(clusterer._recent) <= 100
    assert len(clusterer._waiting) == 50
    assert len(clusterer.patterns) == 1


def test_quantiles_are_within_one_percent_of_exact() -> None:
    rng = random.Random(5)
    durations = [rng.lognormvariate(3, 1.2) for _ in range(20_000)]
    stats = PatternStats()
    for i, duration in enumerate(durations):
        stats.add(make_span(i + 1, "x", duration_ms=duration), rng)
    ordered = sorted(durations)
    for q in (0.5, 0.9, 0.95, 0.99):
        exact = ordered[int(q * (len(ordered) - 1))]
        assert stats.quantile_ms(q) == pytest.approx(exact, rel=0.01)
    assert stats.max_duration_ns == max(int(d * 1e6) for d in durations)


def test_samples_keep_typical_slowest_and_latest_errors() -> None:
    stats = PatternStats()
    rng = random.Random(1)
    for i in range(1, 1001):
        stats.add(make_span(i, "x", duration_ms=float(i), error=i % 100 == 0), rng)
    assert [s.duration_ms for s in stats.slowest_spans()] == [1000.0, 999.0, 998.0]
    assert [s.span_id for s in stats.errors] == [f"{i:016x}" for i in (800, 900, 1000)]
    assert len(stats.errors) == ERROR_SAMPLES
    assert len(stats.typical) == 5 and len({s.span_id for s in stats.typical}) == 5
    assert stats.error_count == 10 and stats.error_rate == pytest.approx(0.01)


def test_status_codes_and_exceptions_are_counted_with_bounded_keys() -> None:
    stats = PatternStats()
    rng = random.Random(1)
    exception = SpanEvent("exception", 1, {"exception.type": "CardDeclinedException"})
    stats.add(make_span(1, "x", attributes={"http.status_code": 402}, events=[exception]), rng)
    stats.add(make_span(2, "x", attributes={"rpc.grpc.status_code": 14}), rng)
    for i in range(MAX_DISTINCT + 10):
        stats.add(make_span(10 + i, "x", attributes={"http.response.status_code": 1000 + i}), rng)
    assert stats.status_codes["402"] == 1 and stats.status_codes["14"] == 1
    assert stats.exception_types == {"CardDeclinedException": 1}
    assert len(stats.status_codes) == MAX_DISTINCT + 1 and stats.status_codes[OTHER] == 12


def test_provisional_names_are_snake_case_from_the_hints() -> None:
    operation = Operation(
        Family.HTTP_CLIENT,
        "POST api.stripe.com /v1/charges",
        (),
        {"method": "POST", "peer": "api.stripe.com", "target": "/v1/charges"},
    )
    name = provisional_name("checkout", "client", operation)
    assert name == "checkout_client_post_api_stripe_com_v1_charges"


def test_batched_duration_inserts_fill_the_same_buckets_as_one_by_one() -> None:
    rng = random.Random(11)
    values = [rng.lognormvariate(2, 2) for _ in range(5_000)] + [0.0, 1e-12, 3.0, 3.0]
    one_by_one = DDSketch(SKETCH_ACCURACY)
    for value in values:
        one_by_one.add(value)
    batched = DDSketch(SKETCH_ACCURACY)
    add_durations_ms(batched, values[:2_000])
    add_durations_ms(batched, values[2_000:])
    assert batched.count == one_by_one.count
    assert batched._store.bins == one_by_one._store.bins
    assert batched._zero_count == one_by_one._zero_count
    for q in (0.0, 0.01, 0.5, 0.9, 0.99, 1.0):
        assert batched.get_quantile_value(q) == one_by_one.get_quantile_value(q)


def test_a_batch_adds_to_statistics_what_single_spans_add() -> None:
    spans = [
        make_span(
            i,
            "x",
            duration_ms=float(i % 37),
            error=i % 9 == 0,
            attributes={"http.response.status_code": 200 + i % 3},
        )
        for i in range(1, 400)
    ]
    batched, single = PatternStats(), PatternStats()
    batched.add_many(spans[:150], random.Random(3))
    batched.add_many(spans[150:], random.Random(4))
    for span in spans:
        single.add(span, random.Random(5))
    for field in (
        "count",
        "error_count",
        "first_seen_unix_nano",
        "last_seen_unix_nano",
        "max_duration_ns",
        "status_codes",
        "exception_types",
        "errors",
    ):
        assert getattr(batched, field) == getattr(single, field), field
    assert batched.slowest_spans() == single.slowest_spans()
    assert batched.quantile_ms(0.95) == single.quantile_ms(0.95)


def test_the_same_span_twice_with_the_slowest_duration_is_no_error() -> None:
    # A trace fetched twice (or a gateway repeating one) gives equal spans; the slowest-spans
    # heap must never have to compare two spans.
    stats, other = PatternStats(), PatternStats()
    span = make_span(1, "x", duration_ms=5.0)
    stats.add_many([span] * 5, random.Random(1))
    other.add_many([span] * 4, random.Random(2))
    stats.merge(other)
    assert stats.slowest_spans() == [span, span, span]
    assert stats.count == 9


def test_sketches_round_trip_through_their_encoding_and_the_old_protobuf() -> None:
    from ddsketch.pb.proto import DDSketchProto

    from app.discovery.sketches import decode_sketch, encode_sketch

    rng = random.Random(9)
    sketch = DDSketch(SKETCH_ACCURACY)
    add_durations_ms(sketch, [rng.lognormvariate(1, 2) for _ in range(3_000)] + [0.0, 0.0])
    for data in (encode_sketch(sketch), DDSketchProto.to_proto(sketch).SerializeToString()):
        restored = decode_sketch(data)
        assert restored.count == sketch.count
        for q in (0.0, 0.001, 0.25, 0.5, 0.9, 0.99, 1.0):
            assert restored.get_quantile_value(q) == pytest.approx(
                sketch.get_quantile_value(q), rel=1e-9
            )
    assert len(encode_sketch(sketch)) < len(DDSketchProto.to_proto(sketch).SerializeToString())
