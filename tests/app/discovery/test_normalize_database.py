"""Database spans: the system and the normalized statement, whatever the span is named."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from app.discovery.normalize import normalize
from app.discovery.normalize.database import normalize_database
from app.discovery.operation import Family, MatchType, Operation
from app.sample import FaultName, SampleConfig, faults_by_name, generate_traces
from connectors.otlp import decode_otlp_json
from connectors.spans import Span, SpanKind

TEMPO_TRACES = Path(__file__).parents[2] / "fixtures" / "tempo" / "2.10.8"
ALL_FAULTS = faults_by_name([f.value for f in FaultName])


def _span(attributes: dict[str, Any], name: str = "query") -> Span:
    return Span(
        trace_id="0" * 31 + "1",
        span_id="0" * 15 + "1",
        parent_span_id=None,
        name=name,
        kind=SpanKind.CLIENT,
        start_unix_nano=0,
        end_unix_nano=1,
        attributes=attributes,
    )


def _operation(attributes: dict[str, Any], name: str = "query") -> Operation:
    operation = normalize_database(_span(attributes, name))
    assert operation is not None
    return operation


@pytest.mark.parametrize(
    ("name", "attributes", "key"),
    [
        # Go's otelsql names every query alike: the statement tells them apart
        (
            "sql.conn.query",
            {
                "db.system": "postgresql",
                "db.query.text": "SELECT sku FROM order_items WHERE order_id = 7",
            },
            "postgresql SELECT sku FROM order_items WHERE order_id = ?",
        ),
        # Npgsql names the span after the database
        (
            "shop",
            {
                "db.system": "postgresql",
                "db.statement": "select id from products where id in (3, 1, 2)",
            },
            "postgresql SELECT id FROM products WHERE id IN (?)",
        ),
        # JDBC statements come sanitized already
        (
            "SELECT shop.payments",
            {"db.system": "postgresql", "db.statement": "SELECT id FROM payments WHERE id = ?"},
            "postgresql SELECT id FROM payments WHERE id = ?",
        ),
        # psycopg2's pyformat placeholders, over several indented lines
        (
            "SELECT",
            {
                "db.system": "postgresql",
                "db.statement": (
                    "\n  SELECT u.email\n    FROM users u\n   WHERE u.id = %(user_id)s\n  "
                ),
            },
            "postgresql SELECT u.email FROM users u WHERE u.id = ?",
        ),
        # current semantic conventions, with the system under its new name
        (
            "SELECT shop.orders",
            {
                "db.system.name": "postgresql",
                "db.query.text": "SELECT 1 FROM orders /*traceparent='00-a-b-01'*/",
            },
            "postgresql SELECT ? FROM orders",
        ),
        (
            "INSERT",
            {"db.system": "mysql", "db.statement": 'INSERT INTO t (a) VALUES ("x"), ("y")'},
            "mysql INSERT INTO t (a) VALUES (?)",
        ),
        # a JSON query names neither operation nor index: the attributes do
        (
            "search",
            {
                "db.system": "elasticsearch",
                "db.operation.name": "search",
                "db.collection.name": "products",
                "db.query.text": '{"query":{"term":{"sku":"SKU-1"}},"size":8}',
            },
            'elasticsearch search products {"query": {"term": {"sku": ?}}, "size": ?}',
        ),
        # no statement: the summary, else the operation and the table
        (
            "SELECT orders",
            {"db.system.name": "postgresql", "db.query.summary": "SELECT orders"},
            "postgresql SELECT orders",
        ),
        (
            "SELECT",
            {"db.system": "postgresql", "db.operation": "SELECT", "db.sql.table": "orders"},
            "postgresql SELECT orders",
        ),
        ("find", {"db.system": "mongodb", "db.operation.name": "find"}, "mongodb find"),
        # a statement that is all comment says nothing
        (
            "x",
            {"db.system": "postgresql", "db.statement": "-- nothing", "db.operation": "SELECT"},
            "postgresql SELECT",
        ),
    ],
)
def test_key_is_system_and_normalized_statement(
    name: str, attributes: dict[str, Any], key: str
) -> None:
    operation = _operation(attributes, name)
    assert operation.family is Family.DATABASE
    assert operation.key == key


@pytest.mark.parametrize(
    "attributes",
    [
        {"db.system": "postgresql"},
        {"db.system": "postgresql", "db.statement": ""},
        {"db.system": "postgresql", "db.name": "shop", "db.user": "svc"},
        {"db.statement": "SELECT 1"},
    ],
)
def test_nothing_but_the_system_falls_back_to_the_span_name(attributes: dict[str, Any]) -> None:
    assert normalize_database(_span(attributes)) is None


def test_matchers_name_the_attributes_the_span_carries() -> None:
    legacy = _operation({"db.system": "postgresql", "db.statement": "SELECT a FROM t WHERE id = 1"})
    current = _operation(
        {"db.system.name": "postgresql", "db.query.text": "SELECT a FROM t WHERE id = 2"}
    )
    assert legacy.key == current.key
    assert [(m.field_name, m.match_type) for m in legacy.matchers] == [
        ("db.system", MatchType.EXACT),
        ("db.statement", MatchType.REGEX),
    ]
    assert [(m.field_name, m.match_type) for m in current.matchers] == [
        ("db.system.name", MatchType.EXACT),
        ("db.query.text", MatchType.REGEX),
    ]
    assert legacy.matchers[0].match_value == "postgresql"


def test_statement_regex_tells_queries_of_one_table_apart() -> None:
    select = _operation({"db.system": "postgresql", "db.statement": "SELECT a FROM t WHERE id = 1"})
    regex = select.matchers[1]
    assert regex.matches(_span({"db.statement": "select a\n  from t\n where id = $1"}))
    assert not regex.matches(_span({"db.statement": "SELECT a FROM t WHERE id = 1 FOR UPDATE"}))
    assert not regex.matches(_span({"db.query.text": "SELECT a FROM t WHERE id = 1"}))


def test_matchers_without_statement_are_exact() -> None:
    operation = _operation(
        {"db.system": "mongodb", "db.operation": "find", "db.mongodb.collection": "orders"}
    )
    assert [(m.field_name, m.match_type, m.match_value) for m in operation.matchers] == [
        ("db.system", MatchType.EXACT, "mongodb"),
        ("db.operation", MatchType.EXACT, "find"),
        ("db.mongodb.collection", MatchType.EXACT, "orders"),
    ]


@pytest.mark.parametrize(
    ("attributes", "hints"),
    [
        (
            {
                "db.system": "postgresql",
                "db.statement": "SELECT a FROM inventory WHERE x = 1 FOR UPDATE",
            },
            {"system": "postgresql", "operation": "SELECT FOR UPDATE", "target": "inventory"},
        ),
        (
            {
                "db.system": "postgresql",
                "db.statement": "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = 2",
            },
            {"system": "postgresql", "operation": "UPSERT", "target": "t"},
        ),
        # parsed from the statement first, from the attributes when the parse finds nothing
        (
            {"db.system": "postgresql", "db.statement": "COMMIT", "db.sql.table": "inventory"},
            {"system": "postgresql", "operation": "COMMIT", "target": "inventory"},
        ),
        (
            {
                "db.system": "elasticsearch",
                "db.operation.name": "search",
                "db.collection.name": "products",
                "db.query.text": "{}",
            },
            {"system": "elasticsearch", "operation": "search", "target": "products"},
        ),
        ({"db.system": "redis", "db.operation": "GET"}, {"system": "redis", "operation": "GET"}),
    ],
)
def test_hints_name_system_operation_and_table(
    attributes: dict[str, Any], hints: dict[str, str]
) -> None:
    assert dict(_operation(attributes).hints) == hints


def test_deploy_rewrite_in_lower_case_keeps_the_key() -> None:
    # checkout 1.43.0 moved the query to sqlc (deploy_latency_shift), same operation
    before = (
        "SELECT id, user_id, status, total_cents, currency, payment_id, created_at "
        "FROM orders WHERE id = 8812"
    )
    after = (
        "-- name: GetOrder :one\n"
        "select id, user_id, status, total_cents, currency, payment_id, created_at\n"
        "from orders\nwhere id = 8813"
    )
    one = _operation({"db.system": "postgresql", "db.query.text": before}, "sql.conn.query")
    two = _operation({"db.system": "postgresql", "db.query.text": after}, "sql.conn.query")
    assert one.key == two.key
    assert all(
        m.matches(_span({"db.system": "postgresql", "db.query.text": after})) for m in one.matchers
    )


def test_real_spans_of_another_system_key_as_people_name_them() -> None:
    keys = set()
    for path in TEMPO_TRACES.glob("trace_v2_*.json"):
        for span in decode_otlp_json(path.read_bytes()).spans:
            operation = normalize(span)
            if operation.family is Family.DATABASE:
                keys.add((span.service_name, operation.key))
    assert keys == {
        ("inventory", "postgresql BEGIN"),
        ("inventory", "postgresql COMMIT"),
        ("inventory", "postgresql ROLLBACK"),
        ("inventory", "postgresql SELECT available FROM inventory WHERE sku = ? FOR UPDATE"),
        (
            "inventory",
            "postgresql UPDATE inventory SET available = available - ?, "
            "reserved = reserved + ? WHERE sku = ?",
        ),
        (
            "inventory",
            "postgresql SELECT id, sku, name FROM products WHERE name ILIKE ? "
            "ORDER BY popularity DESC LIMIT ?",
        ),
        (
            "checkout",
            "postgresql INSERT INTO orders (id, user_id, total_cents, currency, status) "
            "VALUES (?, ?, ?, ?, ?)",
        ),
        ("checkout", "postgresql INSERT INTO order_items (order_id, sku, qty) VALUES (?, ?, ?)"),
        (
            "payment",
            "postgresql INSERT INTO charges (id, order_id, amount_cents, currency, status) "
            "VALUES (?, ?, ?, ?, ?)",
        ),
        ("payment", "postgresql UPDATE charges SET status = ? WHERE id = ?"),
        (
            "notification",
            "postgresql SELECT email, locale FROM users "
            "WHERE id = (SELECT user_id FROM orders WHERE id = ?)",
        ),
    }


# --- the sample system -------------------------------------------------------------------------


@pytest.fixture(
    scope="module",
    params=[(1, False), (42, False), (42, True)],
    ids=["seed 1", "seed 42", "seed 42 with every fault"],
)
def sample(request: pytest.FixtureRequest) -> list[tuple[Span, str, Operation]]:
    seed, faults = request.param
    config = SampleConfig(seed=seed, traces=1500, faults=ALL_FAULTS if faults else ())
    out = []
    for trace in generate_traces(config):
        for span in trace.spans:
            operation = normalize(span)
            if operation.family is Family.DATABASE:
                out.append((span, trace.truth[span.span_id], operation))
    assert out
    return out


def test_sample_spans_of_one_operation_share_a_key(
    sample: list[tuple[Span, str, Operation]],
) -> None:
    keys_of_label: dict[str, set[str]] = defaultdict(set)
    for _, label, operation in sample:
        keys_of_label[label].add(operation.key)
    assert not {label: keys for label, keys in keys_of_label.items() if len(keys) > 1}


def test_sample_operations_of_one_service_and_kind_have_their_own_keys(
    sample: list[tuple[Span, str, Operation]],
) -> None:
    labels_of_key: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for span, label, operation in sample:
        labels_of_key[(span.service_name, span.kind.label, operation.key)].add(label)
    assert not {key: labels for key, labels in labels_of_key.items() if len(labels) > 1}


def test_sample_spans_meet_their_matchers_and_no_other_pattern(
    sample: list[tuple[Span, str, Operation]],
) -> None:
    patterns: dict[tuple[str, str], dict[tuple[str, tuple[str, ...]], Operation]] = defaultdict(
        dict
    )
    spans: dict[
        tuple[str, str], dict[tuple[Any, ...], tuple[Span, tuple[str, tuple[str, ...]]]]
    ] = defaultdict(dict)
    for span, _, operation in sample:
        scope = (span.service_name, span.kind.label)
        pattern = (operation.key, tuple(m.field_name for m in operation.matchers))
        patterns[scope].setdefault(pattern, operation)
        # spans alike in every attribute a matcher reads are checked once
        seen = tuple(sorted((k, str(v)) for k, v in span.attributes.items() if k.startswith("db.")))
        spans[scope].setdefault(seen, (span, pattern))
    for scope, of_scope in spans.items():
        for span, own in of_scope.values():
            for pattern, operation in patterns[scope].items():
                meets = all(m.matches(span) for m in operation.matchers)
                assert meets == (pattern == own), (scope, span.attributes, pattern[0], own[0])


@pytest.mark.parametrize("sample", [(42, True)], indirect=True, ids=["seed 42 with every fault"])
def test_sample_deploy_rewrite_keeps_its_key(sample: list[tuple[Span, str, Operation]]) -> None:
    # deploy_latency_shift: checkout 1.43.0 sends the order lookup lower-case, on four lines
    keys: dict[bool, set[str]] = defaultdict(set)
    for span, label, operation in sample:
        if label == "checkout|client|postgresql SELECT orders WHERE id = ?":
            rewritten = str(span.attributes["db.query.text"]).startswith("-- name: GetOrder")
            keys[rewritten].add(operation.key)
    assert keys[True] and keys[True] == keys[False]
