"""The unfamiliar generator: deterministic traces whose truth holds and whose ids vary a lot.

These tests check the data, never discovery: that each span's truth label names an operation
of the composed system, that spans of one operation differ only in ids and literals, that
each id position draws many values and each stable position few, and that what the brief of
the generator promises (literal siblings, both conventions, missing attributes, Kafka links,
OTLP/JSON lines) is in the spans.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from operator import attrgetter
from pathlib import Path

import msgspec
import pytest

from app.sample.unfamiliar import (
    UnfamiliarConfig,
    UnfamiliarTrace,
    compose,
    generate_spans,
    generate_traces,
    id_positions,
    position_descriptions,
    true_operations,
    write_otlp_jsonl,
)
from connectors.otlp_files import read_otlp_file
from connectors.spans import Span, SpanKind, StatusCode

CONFIG = UnfamiliarConfig(seed=11, traces=2000)
SEEDS = (1, 2, 3)
"""Other systems, for the properties every composed system must have."""

CURRENT_KEYS = frozenset(
    {
        "http.request.method",
        "url.full",
        "url.path",
        "http.response.status_code",
        "server.address",
        "client.address",
        "db.system.name",
        "db.query.text",
        "db.operation.name",
        "db.collection.name",
        "messaging.destination.name",
        "messaging.operation.type",
    }
)
LEGACY_KEYS = frozenset(
    {
        "http.method",
        "http.url",
        "http.target",
        "http.status_code",
        "net.peer.name",
        "net.host.name",
        "db.system",
        "db.statement",
        "db.operation",
        "db.sql.table",
        "messaging.destination",
        "messaging.operation",
    }
)

# What the values of each shape look like; a pool's values must all match their shape.
SHAPES = {
    "lowercase": re.compile(r"[a-z]{8,12}"),
    "prefixed": re.compile(r"[a-z]+_[a-z0-9]{10}"),
    "slug": re.compile(r"[a-z]+(-[a-z]+){1,3}"),
    "shard": re.compile(r"shard-\d{2,4}"),
    "tenant": re.compile(r"tenant-[a-z]+"),
    "cell": re.compile(r"[a-z]+-[a-z]+-cell-\d{1,3}"),
    "nanoid": re.compile(r"[A-Za-z0-9_-]{21}"),
    "username": re.compile(r"[a-z]+|[a-z]\.[a-z]+|[a-z]+_\d{1,3}|[a-z]+\.[a-z]+"),
}


@pytest.fixture(scope="module")
def traces() -> list[UnfamiliarTrace]:
    return list(generate_traces(CONFIG))


@pytest.fixture(scope="module", params=SEEDS)
def other_system(request: pytest.FixtureRequest) -> tuple[UnfamiliarConfig, list[UnfamiliarTrace]]:
    config = UnfamiliarConfig(seed=request.param, traces=1000)
    return config, list(generate_traces(config))


def labelled(traces: list[UnfamiliarTrace]) -> Iterator[tuple[UnfamiliarTrace, Span, str]]:
    for trace in traces:
        for span in trace.spans:
            yield trace, span, trace.truth[span.span_id]


def span_text(span: Span) -> str:
    """Everything of a span a value could be written in: its name and string attributes."""
    return "\n".join([span.name, *(v for v in span.attributes.values() if isinstance(v, str))])


def test_the_same_config_gives_the_same_spans() -> None:
    config = UnfamiliarConfig(seed=5, traces=300)
    first, second = list(generate_traces(config)), list(generate_traces(config))
    assert msgspec.json.encode([t.spans for t in first]) == msgspec.json.encode(
        [t.spans for t in second]
    )
    assert [(t.truth, t.values) for t in first] == [(t.truth, t.values) for t in second]
    other = list(generate_spans(UnfamiliarConfig(seed=6, traces=300)))
    assert [s.name for s in other] != [s.name for t in first for s in t.spans]


def test_a_system_seed_keeps_the_system_and_changes_the_traffic() -> None:
    a = UnfamiliarConfig(seed=5, traces=200, system_seed=9)
    b = UnfamiliarConfig(seed=6, traces=200, system_seed=9)
    assert true_operations(a).keys() == true_operations(b).keys()
    assert [s.trace_id for s in generate_spans(a)] != [s.trace_id for s in generate_spans(b)]


def test_every_span_carries_a_true_operation_of_its_service_and_kind(
    traces: list[UnfamiliarTrace],
) -> None:
    operations = true_operations(CONFIG)
    for trace in traces:
        assert trace.truth.keys() == {s.span_id for s in trace.spans}
        for span in trace.spans:
            op = operations[trace.truth[span.span_id]]
            assert (op.service, op.kind) == (span.service_name, span.kind), op.label


def test_every_operation_of_the_system_occurs() -> None:
    config = UnfamiliarConfig(seed=CONFIG.seed, traces=6000)
    seen = {trace.truth[s.span_id] for trace in generate_traces(config) for s in trace.spans}
    assert set(true_operations(config)) - seen == set()


def test_traces_are_well_formed(traces: list[UnfamiliarTrace]) -> None:
    starts = [t.spans[0].start_unix_nano for t in traces]
    assert starts == sorted(starts)
    for trace in traces:
        by_id = {s.span_id: s for s in trace.spans}
        assert len(by_id) == len(trace.spans)
        roots = [s for s in trace.spans if s.parent_span_id is None]
        assert roots == [trace.spans[0]]
        for span in trace.spans:
            assert span.trace_id == trace.trace_id and len(span.span_id) == 16
            assert span.end_unix_nano >= span.start_unix_nano
            if span.parent_span_id is not None:
                parent = by_id[span.parent_span_id]
                assert span.start_unix_nano >= parent.start_unix_nano


def test_each_id_position_draws_many_distinct_values(traces: list[UnfamiliarTrace]) -> None:
    descriptions = position_descriptions(CONFIG)
    pools = id_positions(CONFIG)
    seen: dict[tuple[str, str], list[str]] = defaultdict(list)
    by_kind: dict[str, set[str]] = defaultdict(set)
    for trace, span, label in labelled(traces):
        carried = trace.values.get(span.span_id, {})
        assert carried.keys() == descriptions.get(label, {}).keys(), label
        text = span_text(span)
        for name, value in carried.items():
            assert value in text, f"{label}: {value!r} of {{{name}}} is not in the span"
            seen[(label, name)].append(value)
            by_kind[name].add(value)
    for (label, name), values in seen.items():
        n, distinct = len(values), len(set(values))
        pool = len(pools[name].pool.values)
        where = f"{label} {descriptions[label][name]}: {distinct} distinct of {n}"
        # values rarely repeat: an id, not a literal that happens to vary
        assert distinct >= 0.5 * min(n, pool), where
        if n >= 150:
            assert distinct > 100, where
    for name, kind_values in by_kind.items():
        assert len(kind_values) > 50, f"{{{name}}}: {len(kind_values)} values over the run"
    assert sum(len(v) > 100 for v in by_kind.values()) >= 0.8 * len(by_kind)


def test_id_values_take_the_shapes_shape_rules_do_not_know() -> None:
    shapes = {}
    for name, position in id_positions(CONFIG).items():
        kind = position.pool.shape.name.split(":")[0].rstrip("0123456789")
        shapes[name] = kind
        pattern = SHAPES[kind]
        assert all(pattern.fullmatch(v) for v in position.pool.values), position.describe()
        assert 300 <= len(position.pool.values) <= 3000, position.describe()
        if kind == "prefixed":  # only some values hold a digit
            with_digit = sum(any(c.isdigit() for c in v) for v in position.pool.values)
            assert 0.1 < with_digit / len(position.pool.values) < 0.7
    assert {"lowercase", "prefixed", "slug", "tenant", "cell", "nanoid", "username"} <= set(
        shapes.values()
    )


def test_pool_sizes_follow_the_config() -> None:
    config = UnfamiliarConfig(seed=3, traces=10, id_pool_min=500, id_pool_max=500)
    assert {len(p.pool.values) for p in id_positions(config).values()} == {500}


def test_stable_positions_take_only_their_few_values(traces: list[UnfamiliarTrace]) -> None:
    operations = true_operations(CONFIG)
    declared: dict[tuple[str, str], set[str]] = defaultdict(set)
    for op in operations.values():
        for name, value in op.stable:
            declared[(op.family, name)].add(value)
    observed: dict[tuple[str, str], set[str]] = defaultdict(set)
    for _, span, label in labelled(traces):
        op = operations[label]
        for name, value in op.stable:
            assert value in span_text(span), f"{label}: stable {name}={value} not in the span"
            observed[(op.family, name)].add(value)
    assert all(observed[key] <= values for key, values in declared.items())
    assert all(len(values) <= 5 for values in declared.values())
    most = {
        name: max(len(v) for (_, n), v in observed.items() if n == name) for _, name in observed
    }
    assert most == {"version": 2, "locale": 5, "region": 3}


def test_literal_siblings_are_a_sizeable_share_of_their_path(
    traces: list[UnfamiliarTrace],
) -> None:
    operations = true_operations(CONFIG)
    counts = Counter(label for _, _, label in labelled(traces))
    siblings: dict[str, list[str]] = defaultdict(list)
    for op in operations.values():
        if op.sibling_of:
            siblings[op.sibling_of].append(op.label)
    assert len(siblings) >= 2
    for id_label, literal_labels in siblings.items():
        assert not operations[id_label].sibling_of and operations[id_label].positions
        total = counts[id_label] + sum(counts[label] for label in literal_labels)
        if total < 50:  # a rare call site (a backend calling v2 of another): too few to tell
            continue
        for label in literal_labels:
            assert not operations[label].positions or "{" not in label.split(" ")[-1]
            assert 0.04 < counts[label] / total < 0.45, f"{label}: {counts[label]} of {total}"


def test_spans_of_one_operation_differ_only_in_ids_and_literals(
    traces: list[UnfamiliarTrace],
) -> None:
    names: dict[str, set[str]] = defaultdict(set)
    statements: dict[str, set[str]] = defaultdict(set)
    for trace, span, label in labelled(traces):
        name = span.name
        for value in trace.values.get(span.span_id, {}).values():
            # the whole value, not a user name inside a word ('ines' in 'invoice_lines')
            name = re.sub(rf"(?<![a-z0-9]){re.escape(value)}(?![a-z0-9])", "{}", name)
        names[label].add(name)
        statement = span.attributes.get("db.statement") or span.attributes.get("db.query.text")
        if isinstance(statement, str) and span.attributes.get(
            "db.system", span.attributes.get("db.system.name")
        ) in ("postgresql", "mysql"):
            statements[label].add(sql_shape(statement))
    assert {label: n for label, n in names.items() if len(n) > 1} == {}
    assert {label: s for label, s in statements.items() if len(s) > 1} == {}


def sql_shape(statement: str) -> str:
    """A statement with its literals, parameters, IN lists and comments left out."""
    shape = re.sub(r"\s*/\*.*?\*/", "", statement)
    shape = re.sub(r"'[^']*'|%\([a-z_0-9]+\)s|\$\d+|\b\d+\b|\?", "_", shape)
    return re.sub(r"\(_(, ?_)*\)", "(_)", shape)


def test_sql_is_written_by_hand_and_by_orms_in_both_dialects(traces: list[UnfamiliarTrace]) -> None:
    by_label: dict[str, list[str]] = defaultdict(list)
    systems = set()
    for _, span, label in labelled(traces):
        statement = span.attributes.get("db.statement") or span.attributes.get("db.query.text")
        system = span.attributes.get("db.system") or span.attributes.get("db.system.name")
        if system in ("postgresql", "mysql"):
            systems.add(system)
            if isinstance(statement, str):
                by_label[label].append(statement)
    statements = [s for values in by_label.values() for s in values]
    assert systems == {"postgresql", "mysql"}
    assert any(re.match(r"(select|insert into|update) .*'", s) for s in statements)  # by hand
    assert any(re.search(r"%\([a-z_0-9]+\)s|\$1|\?", s) for s in statements)  # by an ORM
    assert any(s.endswith("*/") and "traceparent='00-" in s for s in statements)  # sqlcommenter
    in_lists = [
        {
            len(re.findall(r"[^,(]+", m))
            for s in values
            for m in re.findall(r"(?i) in \(([^)]*)\)", s)
        }
        for values in by_label.values()
    ]
    assert any(len(lengths) > 3 for lengths in in_lists)  # IN lists of varying length
    literal_sets = [
        {tuple(re.findall(r"'[^']*'|\b\d+\b", s)) for s in values} for values in by_label.values()
    ]
    assert any(len(literals) > 50 for literals in literal_sets)


def test_both_conventions_occur_and_a_service_mixes_them(
    other_system: tuple[UnfamiliarConfig, list[UnfamiliarTrace]],
) -> None:
    config, traces = other_system
    keys: dict[str, set[str]] = defaultdict(set)
    for _, span, _ in labelled(traces):
        keys[span.service_name].update(span.attributes)
    services = compose(config).system.services
    observed = {}
    for name, found in keys.items():
        current, legacy = bool(found & CURRENT_KEYS), bool(found & LEGACY_KEYS)
        observed[name] = "mixed" if current and legacy else "current" if current else "legacy"
        assert observed[name] == services[name].habits.style, name
    assert set(observed.values()) == {"current", "legacy", "mixed"}


def test_instrumentation_leaves_out_attributes(
    other_system: tuple[UnfamiliarConfig, list[UnfamiliarTrace]],
) -> None:
    _, traces = other_system
    spans = [span for trace in traces for span in trace.spans]
    # a server span with the raw path only, ids and all
    assert any(
        s.kind is SpanKind.SERVER
        and "http.route" not in s.attributes
        and re.search(
            r"/v\d/[a-z]+/[^/]+",
            str(s.attributes.get("url.path", s.attributes.get("http.target", ""))),
        )
        for s in spans
    )
    # a client span with no URL, only the server's address and the path
    assert any(
        s.kind is SpanKind.CLIENT
        and {"server.address", "url.path"} <= s.attributes.keys()
        and "url.full" not in s.attributes
        for s in spans
    )
    # a database span with no statement, only the operation and the table
    assert any(
        (
            {"db.operation", "db.sql.table"} <= s.attributes.keys()
            and "db.statement" not in s.attributes
        )
        or (
            {"db.operation.name", "db.collection.name"} <= s.attributes.keys()
            and "db.query.text" not in s.attributes
        )
        for s in spans
    )


def test_services_are_varied_and_call_each_other(
    other_system: tuple[UnfamiliarConfig, list[UnfamiliarTrace]],
) -> None:
    config, traces = other_system
    names = list(compose(config).system.services)
    assert 5 <= len(names) <= 8
    assert any(re.fullmatch(r"[a-z]+-[a-z]+", n) for n in names)  # kebab-case
    assert any(re.fullmatch(r"[a-z]+_[a-z]+", n) for n in names)  # snake_case
    assert any(re.fullmatch(r"[a-z]+\.[a-z]+\.[a-z]+", n) for n in names)  # dotted
    spans = {s.span_id: s for t in traces for s in t.spans}
    calls = set()
    for span in spans.values():
        parent = spans.get(span.parent_span_id or "")
        if parent is not None and parent.service_name != span.service_name:
            calls.add("grpc" if "rpc.system" in span.attributes else "http")
    assert calls >= {"http", "grpc"}
    systems = {
        s.attributes.get("db.system") or s.attributes.get("db.system.name") for s in spans.values()
    }
    assert {"postgresql", "mysql", "redis"} <= systems
    assert {"kafka", "rabbitmq"} <= {s.attributes.get("messaging.system") for s in spans.values()}


def test_kafka_consumers_link_back_to_their_producer(traces: list[UnfamiliarTrace]) -> None:
    producers = {s.span_id: s for t in traces for s in t.spans if s.kind is SpanKind.PRODUCER}
    consumers = [t.spans[0] for t in traces if t.spans[0].kind is SpanKind.CONSUMER]
    assert len(consumers) > 100
    for consumer in consumers:
        (link,) = consumer.links
        producer = producers[link.span_id]
        assert producer.trace_id == link.trace_id != consumer.trace_id
        assert consumer.start_unix_nano > producer.end_unix_nano
        destination = "messaging.destination.name", "messaging.destination"
        assert {producer.attributes.get(k) for k in destination} & {
            consumer.attributes.get(k) for k in destination
        } - {None}


def test_some_spans_fail(traces: list[UnfamiliarTrace]) -> None:
    spans = [s for t in traces for s in t.spans]
    errors = [s for s in spans if s.status_code is StatusCode.ERROR]
    assert 0.001 < len(errors) / len(spans) < 0.05
    assert any(e.name == "exception" for s in errors for e in s.events)
    statuses = Counter(
        s.attributes.get("http.response.status_code", s.attributes.get("http.status_code"))
        for s in spans
    )
    assert statuses[404] and (statuses[500] or statuses[502]) and statuses[503]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_otlp_json_lines_read_back_to_the_same_spans(tmp_path: Path, suffix: str) -> None:
    generated = list(generate_traces(UnfamiliarConfig(seed=4, traces=150)))
    path = tmp_path / f"traces{suffix}"
    assert write_otlp_jsonl(generated, path) == len(generated)
    documents = list(read_otlp_file(path))
    assert [d.error for d in documents] == [None] * len(generated)
    for trace, document in zip(generated, documents, strict=True):
        assert document.batch.rejected == []
        by_id = attrgetter("span_id")
        assert sorted(document.batch.spans, key=by_id) == sorted(trace.spans, key=by_id)


@pytest.mark.parametrize(
    "changes",
    [
        {"traces": -1},
        {"spread_s": 0.0},
        {"id_pool_min": 1},
        {"id_pool_min": 600, "id_pool_max": 500},
        {"id_pool_max": 5000},  # more than the smallest shape holds
        {"id_skew_max": 0.5},
    ],
)
def test_config_rejects_impossible_knobs(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        UnfamiliarConfig(**changes)  # type: ignore[arg-type]
