"""HTTP server and client operations: method and route or templated path (and host)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from app.discovery.normalize.http import (
    normalize_http_client,
    normalize_http_server,
    target_regex,
    target_text,
)
from app.discovery.operation import Family, MatchType, Operation
from app.sample import FaultName, SampleConfig, faults_by_name, generate_traces
from connectors.otlp import decode_otlp_json
from connectors.spans import Span, SpanKind
from tests.app.discovery.conftest import assert_each_span_is_its_patterns_alone

TEMPO_TRACES = Path(__file__).parents[2] / "fixtures" / "tempo" / "2.10.8"
ALL_FAULTS = faults_by_name([f.value for f in FaultName])
OTHER_FAMILIES = ("db.system", "db.system.name", "messaging.system", "rpc.system")


def _span(attributes: dict[str, Any], kind: SpanKind = SpanKind.CLIENT, name: str = "") -> Span:
    return Span(
        trace_id="0" * 31 + "1",
        span_id="0" * 15 + "1",
        parent_span_id=None,
        name=name or str(attributes.get("http.request.method", "HTTP")),
        kind=kind,
        start_unix_nano=0,
        end_unix_nano=1,
        attributes=attributes,
    )


def _server(attributes: dict[str, Any]) -> Operation | None:
    return normalize_http_server(_span(attributes, SpanKind.SERVER))


def _client(attributes: dict[str, Any]) -> Operation | None:
    return normalize_http_client(_span(attributes))


def _matches(operation: Operation, span: Span) -> bool:
    return all(matcher.matches(span) for matcher in operation.matchers)


# --- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "text"),
    [
        ("/v1/cart/4724", "/v1/cart/{id}"),
        ("/v1/cart/4724/items", "/v1/cart/{id}/items"),
        ("/v1/payments/c798d232-2af5-48a4-a42b-bdf9963da1d7", "/v1/payments/{id}"),
        ("/v1/customers/cus_Esdarmm3DgtNyK", "/v1/customers/{id}"),
        ("/v1/charges/ch_2un7u59xhtx5x5", "/v1/charges/{id}"),
        ("/v1/related/SKU-01401", "/v1/related/SKU-{id}"),  # cut at - inside the segment
        ("/v1/search?q=trail%20running%20shoes&page=3", "/v1/search"),
        ("/search?q=keyboard", "/search"),  # a url.path that holds its query
        ("/orders/742303#details", "/orders/{id}"),
        ("/a?b#c", "/a"),
        ("?page=2", "/"),
        ("", "/"),
        ("/", "/"),
        ("//", "//"),
        ("/v1/cart/", "/v1/cart/"),  # a trailing slash is another route to most servers
        ("/users/jane.doe@example.com/orders", "/users/{email}/orders"),
        ("/reports/2024-01-02.pdf", "/reports/{date}.pdf"),
        ("/reports/2024-01-02T10:00:00Z", "/reports/{date}"),
        ("/invoices/INV-2024-0001", "/invoices/INV-{id}-{id}"),
        ("/v1/a;jsessionid=0123456789ABCDEF0123", "/v1/a;jsessionid={id}"),
        ("/tiles/12/2048/1361.png", "/tiles/{asset}"),
        ("/caf%C3%A9/42", "/caf%C3%A9/{id}"),
        ("/café/42", "/café/{id}"),
        ("/v2.1/items", "/v2.{id}/items"),
        ("/api/v1/{id}", "/api/v1/{id}"),  # an unfilled template keys as the filled one
        ("*", "*"),  # OPTIONS *
        ("relative/7", "relative/{id}"),
        # static files keep their mount only; bundle hashes are too short to be ids
        ("/static/js/app.3f9a1c.js", "/static/{asset}"),
        ("/static/css/main.8e21b0.css", "/static/{asset}"),
        ("/static/fonts/inter-var.2b7e4f.woff2", "/static/{asset}"),
        ("/static/img/products/SKU-00123.webp", "/static/{asset}"),
        ("/assets/index-BXsG2k9a.js?v=3", "/assets/{asset}"),
        ("/static/IMG_0042.JPG", "/static/{asset}"),
        ("/favicon.ico", "/{asset}"),
        ("/robots.txt", "/robots.txt"),  # not a web asset: a page of its own
        ("/api/users.json", "/api/users.json"),
        ("/static/js/", "/static/js/"),
    ],
)
def test_targets_are_templated(target: str, text: str) -> None:
    assert target_text(target) == text
    assert re.fullmatch(target_regex(text), target, re.DOTALL)


# --- server spans ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "key", "fields"),
    [
        (
            {"http.request.method": "GET", "http.route": "/products/:sku", "url.path": "/x/1"},
            "GET /products/:sku",
            ("http.request.method", "http.route"),
        ),
        (
            {"http.method": "POST", "http.route": "/v1/charges/{chargeId}", "http.target": "/v"},
            "POST /v1/charges/{chargeId}",
            ("http.method", "http.route"),
        ),
        (  # no route: the templated path, matched on the attribute it came from
            {"http.request.method": "GET", "url.path": "/static/js/vendor.91bd2e.js"},
            "GET /static/{asset}",
            ("http.request.method", "url.path"),
        ),
        (  # an empty route is no route
            {"http.method": "GET", "http.route": "", "http.target": "/orders/7?x=1"},
            "GET /orders/{id}",
            ("http.method", "http.target"),
        ),
        (
            {"http.method": "GET", "http.url": "https://shop.example.com/orders/7?x=1"},
            "GET /orders/{id}",
            ("http.method", "http.url"),
        ),
        (  # both conventions at once (OTEL_SEMCONV_STABILITY_OPT_IN=http/dup): current wins
            {
                "http.request.method": "GET",
                "http.method": "GET",
                "url.path": "/a",
                "http.target": "/a",
            },
            "GET /a",
            ("http.request.method", "url.path"),
        ),
        (  # a method the instrumentation did not know
            {"http.request.method": "_OTHER", "http.route": "/x"},
            "HTTP /x",
            ("http.request.method", "http.route"),
        ),
    ],
)
def test_server_spans_key_by_method_and_route_or_path(
    attributes: dict[str, Any], key: str, fields: tuple[str, ...]
) -> None:
    operation = _server(attributes)
    assert operation is not None
    assert operation.family is Family.HTTP_SERVER
    assert operation.key == key
    assert tuple(m.field_name for m in operation.matchers) == fields
    assert operation.matchers[0].match_type is MatchType.EXACT
    assert _matches(operation, _span(attributes, SpanKind.SERVER))


def test_server_route_matchers_are_exact() -> None:
    operation = _server({"http.request.method": "GET", "http.route": "/products/:sku"})
    assert operation is not None
    assert [m.as_dict() for m in operation.matchers] == [
        {
            "field_type": "span_attribute",
            "field_name": "http.request.method",
            "match_type": "exact",
            "match_value": "GET",
        },
        {
            "field_type": "span_attribute",
            "field_name": "http.route",
            "match_type": "exact",
            "match_value": "/products/:sku",
        },
    ]
    assert operation.hints == {
        "method": "GET",
        "route": "/products/:sku",
        "target": "/products/:sku",
    }


@pytest.mark.parametrize(
    "attributes",
    [
        {"http.request.method": "GET"},  # nothing says what was requested
        {"http.request.method": "", "url.path": "/a"},
        {"http.route": "/a"},
    ],
)
def test_server_spans_without_method_or_target_fall_back(attributes: dict[str, Any]) -> None:
    assert _server(attributes) is None


# --- client spans ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "key"),
    [
        (
            {"http.request.method": "POST", "url.full": "https://api.stripe.com/v1/charges"},
            "POST api.stripe.com /v1/charges",
        ),
        (
            {
                "http.method": "GET",
                "http.url": "https://api.stripe.com/v1/customers/cus_LsIZait7D61FRn",
            },
            "GET api.stripe.com /v1/customers/{id}",
        ),
        (
            {
                "http.request.method": "GET",
                "url.full": "http://search.shop.svc.cluster.local:8000/v1/related/SKU-01401?limit=8",
            },
            "GET search.shop.svc.cluster.local:8000 /v1/related/SKU-{id}",
        ),
        (  # the default ports are left out, whatever the scheme
            {"http.request.method": "GET", "url.full": "https://api.example.com:443/a"},
            "GET api.example.com /a",
        ),
        (
            {"http.request.method": "GET", "url.full": "http://api.example.com:80"},
            "GET api.example.com /",
        ),
        ({"http.request.method": "GET", "url.full": "https://h?x=1"}, "GET h /"),
        (  # user and password never reach a key
            {"http.request.method": "GET", "url.full": "https://REDACTED:REDACTED@h.example.com/a"},
            "GET {userinfo}@h.example.com /a",
        ),
        (
            {"http.request.method": "GET", "url.full": "http://10.42.3.7:8080/x"},
            "GET {id}.{id}.{id}.{id}:8080 /x",
        ),
        ({"http.request.method": "GET", "url.full": "http://[::1]:8080/x"}, "GET [::{id}]:8080 /x"),
        ({"http.request.method": "GET", "url.full": "ws://h:80/socket"}, "GET ws://h:80 /socket"),
        (
            {
                "http.request.method": "GET",
                "url.full": "https://cdn.example.net/assets/app-9f8e.js",
            },
            "GET cdn.example.net /assets/{asset}",
        ),
        (  # no absolute URL: host and path attributes stand in for it, the port left out
            {
                "http.request.method": "GET",
                "server.address": "api.example.com",
                "server.port": 8443,
                "url.path": "/v1/items/42",
            },
            "GET api.example.com /v1/items/{id}",
        ),
        (
            {"http.method": "GET", "net.peer.name": "api.example.com", "http.target": "/a?b=1"},
            "GET api.example.com /a",
        ),
        (  # a relative URL
            {"http.method": "GET", "http.url": "/v1/items/42?x=1", "http.host": "api.example.com"},
            "GET api.example.com /v1/items/{id}",
        ),
        ({"http.request.method": ["PUT"], "url.full": "https://h/a"}, "PUT h /a"),  # a list of one
    ],
)
def test_client_spans_key_by_method_host_and_path(attributes: dict[str, Any], key: str) -> None:
    operation = _client(attributes)
    assert operation is not None
    assert operation.family is Family.HTTP_CLIENT
    assert operation.key == key
    assert operation.matchers[0].match_type is MatchType.EXACT
    assert _matches(operation, _span(attributes))


def test_the_product_brief_example_is_one_pattern_that_excludes_longer_urls() -> None:
    spans = [
        _span(
            {
                "http.method": "POST",
                "url.full": "https://api.stripe.com/v1/charges",
                "http.status_code": status,
            },
            name="POST",
        )
        for status in (200, 402, 503)
    ]
    operations = [normalize_http_client(span) for span in spans]
    assert {op.key for op in operations if op} == {"POST api.stripe.com /v1/charges"}
    operation = operations[0]
    assert operation is not None
    method, url = operation.matchers
    assert (method.field_name, method.match_type, method.match_value) == (
        "http.method",
        MatchType.EXACT,
        "POST",
    )
    assert (url.field_name, url.match_type) == ("url.full", MatchType.REGEX)
    assert url.match_value == r"https?://api\.stripe\.com(?::(?:80|443))?/v1/charges(?:[?#].*)?"
    capture = _span(
        {"http.method": "POST", "url.full": "https://api.stripe.com/v1/charges/ch_1/capture"}
    )
    assert not url.matches(capture)
    assert operation.hints == {"method": "POST", "peer": "api.stripe.com", "target": "/v1/charges"}


@pytest.mark.parametrize(
    "attributes",
    [
        {"http.request.method": "GET"},
        {"http.request.method": "GET", "server.address": "api.example.com"},  # no path
        {"http.request.method": "GET", "url.path": "/a"},  # no host
        {"http.request.method": "GET", "url.full": "/a"},  # a relative URL and no host
        {"url.full": "https://h/a"},
    ],
)
def test_client_spans_without_url_or_host_and_path_fall_back(attributes: dict[str, Any]) -> None:
    assert _client(attributes) is None


def test_real_spans_of_another_system_key_as_people_name_them() -> None:
    keys = set()
    for path in TEMPO_TRACES.glob("trace_v2_*.json"):
        for span in decode_otlp_json(path.read_bytes()).spans:
            if any(name in span.attributes for name in OTHER_FAMILIES):
                continue
            if span.kind is SpanKind.SERVER:
                operation = normalize_http_server(span)
            else:
                operation = normalize_http_client(span)
            if operation is not None:
                keys.add((span.service_name, operation.key))
    assert keys == {
        ("frontend", "GET /products/:sku"),
        ("frontend", "GET /search"),
        ("frontend", "POST /checkout"),
        ("frontend", "POST checkout.shop.svc.cluster.local:8080 /v1/checkout"),
        ("checkout", "POST /v1/checkout"),
        ("checkout", "POST payment.shop.svc.cluster.local:8080 /v1/charges/{id}"),
        ("payment", "POST /v1/charges/{chargeId}"),
        ("payment", "POST api.psp.example.net /v1/charges/{id}"),
        ("notification", "POST smtp-relay.example.net /v3/mail/send"),
    }


# --- exactness -------------------------------------------------------------------------------

CLIENT_URLS = [
    "https://api.stripe.com/v1/charges",
    "https://api.stripe.com/v1/charges/",
    "https://api.stripe.com/v1/charges/ch_2un7u59xhtx5x5",
    "https://api.stripe.com/v1/charges/ch_2un7u59xhtx5x5/capture",
    "https://api.stripe.com/v1/charges?limit=3",
    "https://api.stripe.com/v1/charge",
    "https://api.stripe.com/v1/chargesX",
    "http://api.stripe.com/v1/charges",
    "https://api.stripe.com:443/v1/charges",
    "http://api.stripe.com:443/v1/charges",
    "https://api.stripe.com:8443/v1/charges",
    "https://api.stripe.com.evil.example/v1/charges",
    "https://user:pw@api.stripe.com/v1/charges",
    "ftp://api.stripe.com/v1/charges",
    "https://api.stripe.com",
    "https://api.stripe.com/",
    "https://api.stripe.com?x=1",
    "https://api.stripe.com/v1/customers/{id}",
    "https://api.stripe.com/v1/customers/cus_LsIZait7D61FRn",
    "https://api.stripe.com/v1/customers/jane@example.com",
    "https://api.stripe.com/v1/customers/2024-01-02",
    "https://api.stripe.com/v1/customers/me",
    "http://10.42.3.7:8080/x",
    "http://10.42.3.8:8080/x",
    "http://10.42.3.8:8081/x",
    "http://10.42.3.8/x",
    "https://cdn.example.net/static/app.3f9a1c.js",
    "https://cdn.example.net/static/js/vendor.91bd2e.js",
    "https://cdn.example.net/static/app.js.gz",
    "https://cdn.example.net/static.js",
    "https://cdn.example.net/static/",
    "https://cdn.example.net/favicon.ico",
    "https://cdn.example.net/other/favicon.ico",
    "http://search:8000/v1/related/SKU-01401?limit=8",
    "http://search:8000/v1/related/SKU-1",
    "http://search:8000/v1/related/SKU-",
    "http://search:8000/v1/related/SKU_1",
    "http://search:8000/v1/related/1",
]


def test_no_client_url_is_matched_by_another_keys_pattern() -> None:
    spans = [_span({"http.request.method": "GET", "url.full": url}) for url in CLIENT_URLS]
    assert_each_span_is_its_patterns_alone(normalize_http_client, spans)


SERVER_TARGETS = [
    "/",
    "",
    "/?x=1",
    "/orders",
    "/orders/",
    "/orders/7",
    "/orders/7?x=1",
    "/orders/7/cancel",
    "/orders/{id}",
    "/orders/abc",
    "/orders/7.5",
    "/orders/7-5",
    "/static/app.js",
    "/static/js/app.3f9a1c.js",
    "/static/js/app.3f9a1c.JS",
    "/static/js/app.jsx",
    "/static",
    "/static.js",
    "/favicon.ico",
    "//favicon.ico",
    "/a/b",
    "/a/b/c",
    "a/b",
    "*",
]


def test_no_server_target_is_matched_by_another_keys_pattern() -> None:
    spans = [
        _span({"http.request.method": "GET", "url.path": target}, SpanKind.SERVER)
        for target in SERVER_TARGETS
    ]
    assert_each_span_is_its_patterns_alone(normalize_http_server, spans)


_NOT_RE2 = re.compile(r"\(\?[=!<P]|\\[1-9]")
"""Look-around, named groups and back-references, which RE2 (TraceQL's ``=~``) lacks."""


def test_regexes_use_only_what_re2_supports() -> None:
    operations = [_client({"http.request.method": "GET", "url.full": url}) for url in CLIENT_URLS]
    operations += [_server({"http.request.method": "GET", "url.path": t}) for t in SERVER_TARGETS]
    regexes = {m.match_value for op in operations if op for m in op.matchers}
    assert len(regexes) > 20
    for regex in regexes:
        assert _NOT_RE2.search(regex) is None, regex


# --- the sample system -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_operations() -> dict[str, list[tuple[Span, Operation, str]]]:
    """Per run, the HTTP spans the dispatcher sends here, their operations and true labels."""
    runs = {"seed 1": (1, ()), "seed 42": (42, ()), "seed 42, every fault": (42, ALL_FAULTS)}
    found: dict[str, list[tuple[Span, Operation, str]]] = {}
    for run, (seed, faults) in runs.items():
        found[run] = []
        for trace in generate_traces(SampleConfig(seed=seed, traces=1500, faults=faults)):
            for span in trace.spans:
                attributes = span.attributes
                if any(name in attributes for name in OTHER_FAMILIES) or not (
                    "http.request.method" in attributes or "http.method" in attributes
                ):
                    continue
                if span.kind is SpanKind.SERVER:
                    operation = normalize_http_server(span)
                else:
                    operation = normalize_http_client(span)
                assert operation is not None, span
                found[run].append((span, operation, trace.truth[span.span_id]))
    return found


RUNS = ["seed 1", "seed 42", "seed 42, every fault"]


@pytest.mark.parametrize("run", RUNS)
def test_sample_spans_of_one_true_operation_share_a_key(
    sample_operations: dict[str, list[tuple[Span, Operation, str]]], run: str
) -> None:
    keys_of_label: dict[str, set[str]] = defaultdict(set)
    for _, operation, label in sample_operations[run]:
        keys_of_label[label].add(operation.key)
    assert len(keys_of_label) >= 40
    assert {label: keys for label, keys in keys_of_label.items() if len(keys) > 1} == {}


@pytest.mark.parametrize("run", RUNS)
def test_sample_spans_of_different_true_operations_get_different_keys(
    sample_operations: dict[str, list[tuple[Span, Operation, str]]], run: str
) -> None:
    labels_of_key: dict[tuple[str, SpanKind, str], set[str]] = defaultdict(set)
    for span, operation, label in sample_operations[run]:
        labels_of_key[(span.service_name, span.kind, operation.key)].add(label)
    assert {key: labels for key, labels in labels_of_key.items() if len(labels) > 1} == {}


@pytest.mark.parametrize("run", RUNS)
def test_sample_spans_satisfy_their_own_matchers_and_no_other_keys(
    sample_operations: dict[str, list[tuple[Span, Operation, str]]], run: str
) -> None:
    scopes: dict[tuple[str, SpanKind], list[tuple[Span, Operation]]] = defaultdict(list)
    for span, operation, _ in sample_operations[run]:
        scopes[(span.service_name, span.kind)].append((span, operation))
    for spans in scopes.values():
        patterns = {(op.key, tuple(m.field_name for m in op.matchers)): op for _, op in spans}
        for operation in patterns.values():
            for span, own in spans:
                if own.key == operation.key:
                    # one key, several matcher sets (legacy and current names): its own hold
                    assert _matches(own, span), (own.key, span.attributes)
                else:
                    assert not _matches(operation, span), (operation.key, own.key)
