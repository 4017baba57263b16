"""Where a pattern's time goes: the critical path of each span over its children, added up
per child pattern for slow and typical calls, from whole traces however their spans arrive."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.discovery.cluster import PatternClusterer
from app.discovery.operation import Family, FieldType, Matcher, MatchType, Operation
from app.discovery.overrides import merge_into
from app.discovery.store import PatternStore
from app.discovery.time_profile import TimeProfile, critical_path
from app.discovery.trace_buffer import TraceBuffer
from connectors.spans import Span, SpanKind, StatusCode

BASE_NS = 1_700_000_000_000_000_000


@pytest.mark.parametrize(
    ("children", "self_ns", "on_path"),
    [
        ([], 100, {}),
        # one after the other: both on the path, the gaps are its own
        ([(1, 10, 30), (2, 40, 90)], 30, {1: 20, 2: 50}),
        # in parallel: only the one that finished last was waited on
        ([(1, 10, 90), (2, 20, 50)], 20, {1: 80}),
        # overlapping: the later one from its start, the earlier one up to there
        ([(1, 10, 60), (2, 50, 90)], 20, {1: 40, 2: 40}),
        # clock skew puts a child outside its parent: clipped to it
        ([(1, -10, 120)], 0, {1: 100}),
        # a child that starts after the parent ended (skew again) takes no time
        ([(1, 120, 150)], 100, {}),
        # two calls of one child pattern add up
        ([(1, 0, 20), (1, 30, 50)], 60, {1: 40}),
    ],
)
def test_critical_path_of_one_span(
    children: list[tuple[int, int, int]], self_ns: int, on_path: dict[int, int]
) -> None:
    assert critical_path(0, 100, children) == (self_ns, on_path)


@given(
    st.lists(
        st.tuples(st.integers(1, 4), st.integers(-50, 1050), st.integers(0, 600)).map(
            lambda c: (c[0], c[1], c[1] + c[2])
        ),
        max_size=12,
    )
)
def test_self_time_and_the_childrens_time_on_the_path_make_the_duration(
    children: list[tuple[int, int, int]],
) -> None:
    self_ns, on_path = critical_path(0, 1000, children)
    assert self_ns >= 0 and all(ns > 0 for ns in on_path.values())
    assert self_ns + sum(on_path.values()) == 1000


def by_name(span: Span) -> Operation:
    matcher = Matcher(FieldType.SPAN_FIELD, "name", MatchType.EXACT, span.name)
    return Operation(Family.GENERIC, span.name, (matcher,), {"operation": span.name})


def span(
    trace: int, span_id: int, name: str, start_ms: float, end_ms: float, parent: int | None
) -> Span:
    return Span(
        trace_id=f"{trace:032x}",
        span_id=f"{trace:08x}{span_id:08x}",
        parent_span_id=f"{trace:08x}{parent:08x}" if parent is not None else None,
        name=name,
        kind=SpanKind.SERVER if parent is None else SpanKind.CLIENT,
        start_unix_nano=BASE_NS + trace * 10**9 + int(start_ms * 1e6),
        end_unix_nano=BASE_NS + trace * 10**9 + int(end_ms * 1e6),
        attributes={},
        resource={"service.name": "checkout"},
        status_code=StatusCode.UNSET,
    )


def checkout_trace(trace: int, slow: bool) -> list[Span]:
    """A request that reads a cache and, in parallel, a database, then charges a card: in
    its slow calls the charge waits 400 ms more."""
    charge_ms = 450.0 if slow else 50.0
    return [
        span(trace, 1, "POST /checkout", 0, 23 + charge_ms, None),
        span(trace, 2, "GET cache", 1, 5, 1),
        span(trace, 3, "SELECT orders", 1, 20, 1),
        span(trace, 4, "POST charges", 21, 21 + charge_ms, 1),
    ]


def profiled(batches: list[list[Span]], clusterer: PatternClusterer | None = None):
    clusterer = clusterer or PatternClusterer(by_name)
    for batch in batches:
        clusterer.accept(batch)
    clusterer.finish()
    return clusterer, {p.name: p for p in clusterer.patterns}


def test_slow_calls_wait_on_the_charge_typical_ones_on_little() -> None:
    traces = [checkout_trace(i, slow=i % 10 == 9) for i in range(200)]
    _, patterns = profiled([[s for t in traces for s in t]])
    profile = patterns["checkout_server_post_checkout"].stats.time_profile
    charge = patterns["checkout_client_post_charges"].id
    select = patterns["checkout_client_select_orders"].id
    cache = patterns["checkout_client_get_cache"].id
    assert profile.spans == 200
    slow, typical = profile.slow, profile.typical
    assert slow.spans > 0 and typical.spans > slow.spans
    assert slow.mean_ms(slow.children[charge].path_ns) == pytest.approx(450, abs=1)
    assert typical.mean_ms(typical.children[charge].path_ns) == pytest.approx(50, abs=1)
    # the cache ran beside the SELECT, which finished later: nobody waited on the cache
    assert typical.children[cache].path_ns == 0 and typical.children[cache].calls
    assert typical.mean_ms(typical.children[select].path_ns) == pytest.approx(19, abs=1)
    assert typical.mean_ms(typical.self_ns) == pytest.approx(4, abs=0.5)
    # leaves keep no profile: their time is all their own
    assert not patterns["checkout_client_post_charges"].stats.time_profile.spans


def test_a_trace_split_across_batches_in_any_order_is_profiled_whole() -> None:
    traces = [checkout_trace(i, slow=False) for i in range(30)]
    # children first, their parents in a later batch, one child of each later still
    batches = [
        [s for t in traces for s in t[1:3]],
        [t[0] for t in traces],
        [t[3] for t in traces],
    ]
    _, patterns = profiled(batches)
    profile = patterns["checkout_server_post_checkout"].stats.time_profile
    assert profile.spans == 30
    charge = patterns["checkout_client_post_charges"].id
    assert profile.typical.children[charge].calls == 30
    assert profile.typical.mean_ms(profile.typical.self_ns) == pytest.approx(4, abs=0.5)


def test_traces_wait_in_flight_until_later_spans_have_come_or_the_run_ends() -> None:
    clusterer = PatternClusterer(by_name)
    clusterer.accept(checkout_trace(1, slow=False))
    parent = next(p for p in clusterer.patterns if p.name.endswith("server_post_checkout"))
    assert not parent.stats.time_profile.spans  # its trace may not be whole yet
    clusterer.finish()
    assert parent.stats.time_profile.spans == 1


def test_the_buffer_of_traces_in_flight_stays_bounded() -> None:
    buffer = TraceBuffer(close_after_spans=100, max_spans=500, max_trace_spans=10)
    done = 0
    for batch in range(50):
        touched = []
        for trace in range(20):
            trace_id = f"{batch}-{trace}"
            touched.append(trace_id)
            buffer.traces[trace_id] = [("s", None, 0, 0, 1)] * 10
        done += len(buffer.batch_done(touched, 200))
        assert buffer.held <= 500 + 200
    assert done + len(buffer.close_all()) == 1000
    assert buffer.held == 0 and not buffer.traces


def test_merging_child_patterns_adds_up_their_time_under_the_one_kept() -> None:
    traces = [checkout_trace(i, slow=i % 10 == 9) for i in range(100)]
    clusterer, patterns = profiled([[s for t in traces for s in t]])
    parent = patterns["checkout_server_post_checkout"]
    select, charge = (
        patterns["checkout_client_select_orders"],
        patterns["checkout_client_post_charges"],
    )
    before = {
        band: (b.children[select.id].path_ns + b.children[charge.id].path_ns, b.total_ns)
        for band, b in zip(("slow", "typical"), parent.stats.time_profile.bands, strict=True)
    }
    merge_into(select, [charge], clusterer.patterns)
    for band, b in zip(("slow", "typical"), parent.stats.time_profile.bands, strict=True):
        assert charge.id not in b.children
        assert (b.children[select.id].path_ns, b.total_ns) == before[band]


def test_time_profiles_survive_the_store(tmp_path: Path) -> None:
    traces = [checkout_trace(i, slow=i % 10 == 9) for i in range(100)]
    clusterer, patterns = profiled([[s for t in traces for s in t]])
    store = PatternStore(tmp_path / "patterns.sqlite")
    store.save(clusterer.patterns)
    loaded = {p.name: p for p in store.load()}
    for name, pattern in patterns.items():
        assert loaded[name].stats.time_profile == pattern.stats.time_profile, name
    # and merging statistics (``patterns merge``) adds profiles up
    merged = TimeProfile()
    parent = loaded["checkout_server_post_checkout"].stats
    merged.merge(parent.time_profile)
    merged.merge(parent.time_profile)
    assert merged.spans == 2 * parent.time_profile.spans
    assert Counter({i: c.calls for i, c in merged.typical.children.items()}) == Counter(
        {i: 2 * c.calls for i, c in parent.time_profile.typical.children.items()}
    )


def test_profiles_of_shuffled_spans_equal_those_of_ordered_ones() -> None:
    traces = [checkout_trace(i, slow=i % 10 == 9) for i in range(100)]
    ordered = [s for t in traces for s in t]
    shuffled = ordered[:]
    random.Random(5).shuffle(shuffled)
    _, first = profiled([ordered])
    _, second = profiled([shuffled[:150], shuffled[150:]])
    name = "checkout_server_post_checkout"
    a, b = first[name].stats.time_profile, second[name].stats.time_profile
    assert a.spans == b.spans == 100
    assert a.typical.self_ns + a.slow.self_ns == b.typical.self_ns + b.slow.self_ns


def test_past_the_first_spans_traces_are_sampled_whole() -> None:
    buffer = TraceBuffer()
    masks = []
    for _ in range(20):
        masks.append(buffer.sampling_mask)
        buffer.batch_done([], 100_000)
    # each step holds a subset of the traces the one before held
    assert masks == sorted(masks) and set(masks) == {0, 1, 3, 7, 15}
    clusterer = PatternClusterer(by_name)
    clusterer._traces.batch_done([], 1_000_000)  # as after a million spans
    traces = [checkout_trace(i, slow=False) for i in range(400)]
    # each trace's spans in two batches: a sampled trace is held whole, the others not at all
    clusterer.accept([s for t in traces for s in t[:2]])
    clusterer.accept([s for t in traces for s in t[2:]])
    held = dict(clusterer._traces.traces)
    assert 400 / 16 / 2 < len(held) < 400 / 16 * 2
    assert all(len(spans) == 4 * 5 for spans in held.values())
    clusterer.finish()
    parent = next(p for p in clusterer.patterns if p.name == "checkout_server_post_checkout")
    assert parent.stats.time_profile.spans == len(held)
