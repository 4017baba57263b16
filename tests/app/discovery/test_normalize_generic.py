"""The generic fallback: span names with ids masked, matched by ``name``."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.discovery.normalize.generic import (
    NAME_SEPARATORS,
    escape,
    mask_text,
    mask_tokens,
    normalize_generic,
    template_name,
)
from app.discovery.normalize.ids import IN_NAME
from app.discovery.operation import Family, MatchType
from app.sample import FaultName, SampleConfig, faults_by_name, generate_traces
from connectors.spans import Span, SpanKind
from tests.app.discovery.conftest import assert_each_span_is_its_patterns_alone

ALL_FAULTS = faults_by_name([f.value for f in FaultName])
FAMILY_ATTRIBUTES = (
    "db.system",
    "db.system.name",
    "messaging.system",
    "rpc.system",
    "http.request.method",
    "http.method",
)


def _span(name: str, kind: SpanKind = SpanKind.INTERNAL) -> Span:
    return Span(
        trace_id="0" * 31 + "1",
        span_id="0" * 15 + "1",
        parent_span_id=None,
        name=name,
        kind=kind,
        start_unix_nano=0,
        end_unix_nano=1,
    )


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("HTTP GET", "HTTP GET"),
        ("GET", "GET"),
        ("SELECT db.table", "SELECT db.table"),
        ("PaymentController.charge", "PaymentController.charge"),
        ("middleware - auth", "middleware - auth"),
        ("render email order_confirmation", "render email order_confirmation"),
        ("process order 5512", "process order {id}"),
        ("render template product_8841.html", "render template product_{id}.html"),
        ("render template category.html", "render template category.html"),
        # templated by the instrumentation: reads as it is
        ("/api/v1/contactservice/contacts/{id}", "/api/v1/contactservice/contacts/{id}"),
        ("/api/v1/contactservice/contacts/4711", "/api/v1/contactservice/contacts/{id}"),
        ("/users/{userId}/orders", "/users/{userId}/orders"),  # not one of our placeholders
        ("GET /v1/payments/c798d232-2af5-48a4-a42b-bdf9963da1d7", "GET /v1/payments/{id}"),
        ("charge ch_3PqL9xA2bC refunded", "charge {id} refunded"),  # kept whole, not cut at _
        ("mail jane.doe+news@example.org", "mail {email}"),  # kept whole, not cut at . or @
        ("<jane@example.org>", "<{email}>"),
        ("report 2024-01-02", "report {date}"),
        ("report 2024-01-02T10:00:00Z", "report {date}"),
        ("batch 2024-01-02 10:00:00", "batch {date} {id}:{id}:{id}"),  # the space cuts it
        ("session=3f2a9c0e1b7d4a6f ok", "session={id} ok"),
        ("job 0xDEADBEEF", "job 0xDEADBEEF"),  # not a whole id, and no separator inside
        ("worker-3 tick", "worker-{id} tick"),
        ("v1.2.3", "v1.{id}.{id}"),
        ("cache:user:4821", "cache:user:{id}"),
        ("SELECT * FROM t WHERE id='17'", "SELECT * FROM t WHERE id='{id}'"),
        ("retry #3 (of 5)", "retry #{id} (of {id})"),
        ("4821", "{id}"),
        ("", ""),
        ("  ", "  "),
        ("line\nbreak 12", "line\nbreak {id}"),
        ("grüße 42 straße", "grüße {id} straße"),
        ("a.b*c(d)[e]{f}|g^h$i?j+k\\l", "a.b*c(d)[e]{f}|g^h$i?j+k\\l"),
    ],
)
def test_names_key_with_their_ids_masked(name: str, key: str) -> None:
    operation = normalize_generic(_span(name))
    assert operation.family is Family.GENERIC
    assert operation.key == key
    (matcher,) = operation.matchers
    assert matcher.field_name == "name"
    assert matcher.matches(_span(name))


@pytest.mark.parametrize(
    ("name", "match_type"),
    [
        ("HTTP GET", MatchType.EXACT),
        ("SELECT db.table", MatchType.EXACT),
        ("process order 5512", MatchType.REGEX),
        ("/api/v1/contactservice/contacts/{id}", MatchType.REGEX),  # it may hold a real id
    ],
)
def test_exact_matcher_unless_the_key_holds_a_placeholder(name: str, match_type: MatchType) -> None:
    (matcher,) = normalize_generic(_span(name)).matchers
    assert matcher.match_type is match_type


def test_regex_is_built_from_the_same_pieces_as_the_key() -> None:
    (matcher,) = normalize_generic(_span("render template product_8841.html")).matchers
    assert matcher.match_value == r"render template product_\S+\.html"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("process order 5512", "process order 77"),
        ("process order 5512", "process order {id}"),
        ("render template product_8841.html", "render template product_{id}.html"),
        ("GET /v1/payments/1", "GET /v1/payments/c798d232-2af5-48a4-a42b-bdf9963da1d7"),
    ],
)
def test_same_operation_same_key_and_each_matches_the_other(one: str, other: str) -> None:
    a, b = normalize_generic(_span(one)), normalize_generic(_span(other))
    assert a.key == b.key
    assert all(m.matches(_span(other)) for m in a.matchers)
    assert all(m.matches(_span(one)) for m in b.matchers)


NAME_CORPUS = [
    "HTTP GET",
    "HTTP POST",
    "GET",
    "GET /",
    "GET /users",
    "GET /users/17",
    "GET /users/{id}",
    "GET /users/17/orders",
    "GET /users/me",
    "GET /users/jane@example.com",
    "GET /users/{email}",
    "SELECT db.table",
    "SELECT db.table2",
    "SELECT shop.orders",
    "process order 5512",
    "process order",
    "process orders 5512",
    "process order 5512 again",
    "process order ord_3PqL9x",
    "render template product_8841.html",
    "render template product_.html",
    "render template product_8841_big.html",
    "render template category.html",
    "render template product_8841.htm",
    "report 2024-01-02",
    "report 2024-01-02T10:00:00Z",
    "report 20240102",
    "report {date}",
    "worker-3 tick",
    "worker-3-4 tick",
    "worker- tick",
    "worker 3 tick",
    "worker_3 tick",
    "a.b",
    "a.1",
    "a.1.2",
    "a..1",
    "a 1",
    "a  1",
    "a\t1",
    "{id}",
    "17",
    "x{id}",
    "",
]


def test_no_name_is_matched_by_another_keys_pattern() -> None:
    spans = [_span(name) for name in NAME_CORPUS]
    assert_each_span_is_its_patterns_alone(normalize_generic, spans)


def test_escape_matches_every_character_literally() -> None:
    for char in [chr(c) for c in range(0x250)] + ["\u2028", "😀", "\ufeff"]:
        assert re.fullmatch(escape(char), char, re.DOTALL), repr(char)
        assert re.fullmatch(escape(char + "x"), char) is None, repr(char)


def test_escape_leaves_readable_characters_alone() -> None:
    assert escape("middleware - auth #1 & co ~ /x") == "middleware - auth #1 & co ~ /x"
    assert escape("a.b*c") == r"a\.b\*c"


@settings(max_examples=250, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                ["order", "v1", "42", "ch_3PqL9xA2", "2024-01-02", "jane@example.org", "{id}"]
                + ["c798d232-2af5-48a4-a42b-bdf9963da1d7", "deadbeef01", "SKU", "é"]
            ),
            st.sampled_from([" ", "/", ":", ".", "-", "_", "=", ",", "#", "@", "(", "\n"]),
            st.text(max_size=4),
        ),
        max_size=8,
    ).map("".join)
)
def test_masking_is_idempotent_and_its_regex_matches_the_name(name: str) -> None:
    text = mask_text(name, NAME_SEPARATORS)
    assert mask_text(text, NAME_SEPARATORS) == text
    template = mask_tokens(text, NAME_SEPARATORS, IN_NAME)
    assert template == template_name(name)
    assert re.fullmatch(template.regex, name, re.DOTALL)


# --- the sample system -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_spans() -> dict[str, list[tuple[Span, str]]]:
    runs = {"seed 1": (1, ()), "seed 42": (42, ()), "seed 42, every fault": (42, ALL_FAULTS)}
    return {
        run: [
            (span, trace.truth[span.span_id])
            for trace in generate_traces(SampleConfig(seed=seed, traces=1500, faults=faults))
            for span in trace.spans
        ]
        for run, (seed, faults) in runs.items()
    }


@pytest.mark.parametrize("run", ["seed 1", "seed 42", "seed 42, every fault"])
def test_sample_spans_without_conventions_key_by_their_true_operation(
    sample_spans: dict[str, list[tuple[Span, str]]], run: str
) -> None:
    keys_of_label: dict[str, set[str]] = defaultdict(set)
    labels_of_key: dict[tuple[str, SpanKind, str], set[str]] = defaultdict(set)
    for span, label in sample_spans[run]:
        if any(name in span.attributes for name in FAMILY_ATTRIBUTES):
            continue
        key = normalize_generic(span).key
        keys_of_label[label].add(key)
        labels_of_key[(span.service_name, span.kind, key)].add(label)
    assert len(keys_of_label) >= 10
    assert {label: keys for label, keys in keys_of_label.items() if len(keys) > 1} == {}
    assert {key: labels for key, labels in labels_of_key.items() if len(labels) > 1} == {}


@pytest.mark.parametrize("run", ["seed 1", "seed 42, every fault"])
def test_sample_names_match_their_own_key_and_no_other(
    sample_spans: dict[str, list[tuple[Span, str]]], run: str
) -> None:
    # Every span's name, whatever its family, as if the fallback had to key it.
    by_scope: dict[tuple[str, SpanKind], dict[str, Span]] = defaultdict(dict)
    for span, _ in sample_spans[run]:
        by_scope[(span.service_name, span.kind)].setdefault(span.name, span)
    for names in by_scope.values():
        keys = {name: normalize_generic(span).key for name, span in names.items()}
        operations = {keys[name]: normalize_generic(span) for name, span in names.items()}
        for operation in operations.values():
            for name, span in names.items():
                matches = all(m.matches(span) for m in operation.matchers)
                assert matches == (keys[name] == operation.key), (operation.key, name)
