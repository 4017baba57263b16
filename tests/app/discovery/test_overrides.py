"""Split, merge and placeholder overrides: applied to stored patterns and to later spans."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgspec
import pytest

from app.discovery.normalize import normalize
from app.discovery.overrides import OverrideError
from app.discovery.patterns import SpanPattern
from app.discovery.rederive import add_placeholder, find_pattern, merge, split
from app.discovery.run import DiscoveryRun, replay_batches, sample_batches, sample_source
from app.discovery.store import PatternStore
from connectors.spans import Span, SpanKind

SEED, TRACES = 3, 400
BY_AGENT = "user_agent.original"


def discover_sample(store: PatternStore) -> list[SpanPattern]:
    run = DiscoveryRun(store, normalize, source=sample_source(SEED, TRACES))
    for batch in sample_batches(SEED, TRACES):
        run.accept(batch)
    run.finish()
    return store.load()


def sample_spans() -> list[Span]:
    return [span for batch in sample_batches(SEED, TRACES) for span in batch]


def live(patterns: list[SpanPattern]) -> list[SpanPattern]:
    return [p for p in patterns if p.merged_into is None and p.stats.count]


def busiest(patterns: list[SpanPattern], service: str, kind: str) -> SpanPattern:
    return max(
        (p for p in live(patterns) if p.service == service and p.span_kind == kind),
        key=lambda p: p.stats.count,
    )


def members(patterns: list[SpanPattern], spans: list[Span], pattern: SpanPattern) -> list[Span]:
    """Spans whose service and kind are the pattern's and which satisfy all its matchers."""
    return [
        s
        for s in spans
        if s.service_name == pattern.service
        and s.kind.label == pattern.span_kind
        and all(m.matches(s) for m in pattern.matchers)
    ]


def test_split_replays_the_recorded_run_and_counts_each_span_once(tmp_path: Path) -> None:
    store = PatternStore(tmp_path / "p.sqlite")
    before = discover_sample(store)
    target = busiest(before, "frontend", "server")
    untouched = {p.name: p.stats.count for p in live(before) if p.id != target.id}
    target_count, calls_before = target.stats.count, target.children.copy()
    spans = sample_spans()
    expected = Counter(str(s.attributes[BY_AGENT]) for s in members(before, spans, target))

    applied = split(
        before,
        target.name,
        BY_AGENT,
        resource=False,
        overrides=[],
        normalizer=normalize,
        runs=[source for source, _ in store.runs()],
        replay=lambda source: replay_batches(source, pytest.fail),
    )
    store.save_with_override(applied.patterns, applied.override, "ana")
    after = store.load()

    variants = [p for p in after if p.operation.startswith(target.operation + " [")]
    assert {p.operation.rsplit("=", 1)[1].rstrip("]"): p.stats.count for p in variants} == expected
    assert sum(p.stats.count for p in variants) + after[target.id].stats.count == target_count
    for variant in variants:  # each variant's matchers find exactly its spans
        assert len(members(after, spans, variant)) == variant.stats.count
        assert variant.children, "edges to what it calls are re-derived"
    assert {p.name: p.stats.count for p in live(after) if p.name in untouched} == untouched
    assert sum((v.children for v in variants), Counter()) == calls_before
    for child_id in calls_before:  # and the children's side of those edges
        assert target.id not in after[child_id].parents
        assert sum(after[child_id].parents[v.id] for v in variants) == calls_before[child_id]
    assert applied.replayed and not applied.not_replayed
    assert len(variants) > 1


def test_a_split_into_one_part_is_refused(tmp_path: Path) -> None:
    store = PatternStore(tmp_path / "p.sqlite")
    before = discover_sample(store)
    target = busiest(before, "frontend", "server")  # every one of its spans answered 200
    runs = [source for source, _ in store.runs()]
    for attribute, says in [
        ("http.response.status_code", "have the same http.response.status_code"),
        ("app.nothing", "none of"),
    ]:
        with pytest.raises(OverrideError, match=says):
            split(
                before,
                target.name,
                attribute,
                resource=False,
                overrides=[],
                normalizer=normalize,
                runs=runs,
                replay=lambda source: replay_batches(source, pytest.fail),
            )


def test_a_split_applies_to_the_spans_of_later_runs(tmp_path: Path) -> None:
    store = PatternStore(tmp_path / "p.sqlite")
    before = discover_sample(store)
    target = busiest(before, "frontend", "server")
    target_count = target.stats.count
    applied = split(
        before,
        target.name,
        "http.response.status_code",
        resource=False,
        overrides=[],
        normalizer=normalize,
        runs=[],  # nothing replayed: the next run fills the variants
        replay=lambda source: None,
    )
    store.save_with_override(applied.patterns, applied.override, "ana")
    assert store.load()[target.id].stats.count == 0
    patterns = discover_sample(PatternStore(tmp_path / "p.sqlite"))  # a new process
    variants = [p for p in patterns if p.operation.startswith(target.operation + " [")]
    assert sum(p.stats.count for p in variants) == target_count
    assert patterns[target.id].stats.count == 0  # every span of it has a status code


def test_merge_adds_statistics_and_edges_and_takes_later_spans(tmp_path: Path) -> None:
    store = PatternStore(tmp_path / "p.sqlite")
    patterns = discover_sample(store)
    servers = sorted(
        (p for p in live(patterns) if p.service == "frontend" and p.span_kind == "server"),
        key=lambda p: -p.stats.count,
    )
    into, other = servers[0], servers[1]
    total = into.stats.count + other.stats.count
    callers = into.parents + other.parents
    children = into.children + other.children
    applied = merge(patterns, [other.name], into.name)
    store.save_with_override(applied.patterns, applied.override, "ana")

    merged = store.load()
    assert merged[into.id].stats.count == total
    assert merged[into.id].parents == callers and merged[into.id].children == children
    assert merged[other.id].merged_into == into.id and merged[other.id].stats.count == 0
    for parent_id in callers:
        assert other.id not in merged[parent_id].children
    assert find_pattern(merged, other.name).id == into.id  # the old name still resolves
    spans = sample_spans()
    assert len(members(merged, spans, merged[into.id])) == total

    again = discover_sample(store)
    assert again[into.id].stats.count == 2 * total
    assert again[other.id].stats.count == 0
    assert len(live(again)) == len(live(merged))


def named(name: str, span_id: int, service: str = "worker") -> Span:
    start = 1_700_000_000_000_000_000 + span_id
    return Span(
        trace_id="ab" * 16,
        span_id=f"{span_id:016x}",
        parent_span_id=None,
        name=name,
        kind=SpanKind.INTERNAL,
        start_unix_nano=start,
        end_unix_nano=start + 1_000_000,
        attributes={"job.queue": "default"},
        resource={"service.name": service},
    )


def test_a_placeholder_rule_folds_operations_that_differ_only_there(tmp_path: Path) -> None:
    store = PatternStore(tmp_path / "p.sqlite")
    run = DiscoveryRun(store, normalize)
    run.accept([named("sync tenant-acme", 1), named("sync tenant-globex", 2)])
    run.accept([named("sync tenant-globex", 3), named("sync invoices", 4)])
    run.finish()
    patterns = store.load()
    assert len(patterns) == 3

    applied = add_placeholder(patterns, r"tenant-[a-z]+", "tenant", "worker")
    store.save_with_override(applied.patterns, applied.override, "ana")
    folded = [p for p in store.load() if p.operation == "sync {tenant}"]
    assert len(folded) == 1 and folded[0].stats.count == 3
    newcomer = named("sync tenant-initech", 5)
    assert all(m.matches(newcomer) for m in folded[0].matchers)
    assert not all(m.matches(named("sync invoices", 6)) for m in folded[0].matchers)

    run = DiscoveryRun(store, normalize)
    run.accept([newcomer, named("sync invoices", 7)])
    run.finish()
    after = {p.operation: p.stats.count for p in live(store.load())}
    assert after == {"sync {tenant}": 4, "sync invoices": 2}


def test_a_placeholder_rule_reaches_into_urls_as_their_matchers_spell_them() -> None:
    def call(tenant: str, span_id: int) -> Span:
        url = f"https://api.x.io/t/tenant-{tenant}/invoices"
        attributes = {"http.request.method": "GET", "url.full": url}
        return msgspec.structs.replace(
            named("GET", span_id), kind=SpanKind.CLIENT, attributes=attributes
        )

    run = DiscoveryRun(PatternStore(Path(":memory:")), normalize)
    run.accept([call("acme", 1), call("globex", 2)])
    applied = add_placeholder(run.patterns, r"tenant-[a-z]+", "tenant", "worker")
    (folded,) = live(applied.patterns)
    assert folded.operation == "GET api.x.io /t/{tenant}/invoices"
    assert folded.matches(call("initech", 3))  # a tenant never seen: the rule's, not a list
    assert len(folded.matchers[1].match_value) < 100


def test_overrides_refuse_what_cannot_work(tmp_path: Path) -> None:
    patterns = discover_sample(PatternStore(tmp_path / "p.sqlite"))
    frontend = busiest(patterns, "frontend", "server")
    cart = busiest(patterns, "cart", "server")
    with pytest.raises(OverrideError, match="one service and span kind"):
        merge(patterns, [cart.name], frontend.name)
    with pytest.raises(OverrideError, match="no pattern named"):
        merge(patterns, ["nope"], frontend.name)
    with pytest.raises(OverrideError, match="does not compile"):
        add_placeholder(patterns, "tenant-(", "tenant", None)
    with pytest.raises(OverrideError, match="matches no pattern"):
        add_placeholder(patterns, "zzz-never", "tenant", None)
    with pytest.raises(OverrideError, match="placeholder name"):
        add_placeholder(patterns, "x", "Bad Name", None)
