"""TraceQL from patterns: what Tempo would select, checked by evaluating it here.

``_compile`` below is a small TraceQL reader and evaluator for the subset ``traceql_for``
writes, with Tempo 2.10's semantics (typed comparisons, Go string literals, fully anchored
``(?s)`` regexes, arrays matching when any element does). Parsing a query is the
structural check; running it over the sample system's spans checks that each pattern's
query selects exactly the spans the clusterer put in the pattern.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from msgspec.structs import replace

from app.discovery.cluster import PatternClusterer
from app.discovery.normalize import normalize
from app.discovery.operation import Family, FieldType, Matcher, MatchType
from app.discovery.overrides import merged_matchers
from app.discovery.patterns import SpanPattern
from app.discovery.run import sample_batches
from app.discovery.traceql import (
    INT_ATTRIBUTES,
    attribute_name,
    grafana_explore_url,
    re2_quote,
    string_literal,
    traceql_for,
    traceql_metrics_for,
)
from app.sample import FaultName, faults_by_name
from connectors.spans import Span, SpanKind, StatusCode

# --- a TraceQL evaluator for the subset traceql_for writes -----------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\\n]|\\.)*")
    | (?P<field>(?:span|resource)\.(?:"(?:[^"\\]|\\["\\])*"|[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)
               |name|kind|status)(?![\w."])
    | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
    | (?P<word>[a-z]+)
    | (?P<op>&&|\|\||!=|!~|=~|=|!|\{|\}|\(|\))
    )""",
    re.VERBOSE,
)
_GO_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_KEYWORDS = {kind.label for kind in SpanKind} | {status.label for status in StatusCode}

Predicate = Callable[[Span], bool]


def _go_unquote(literal: str) -> str:
    """Go's strconv.Unquote for a double-quoted literal, written independently of the code
    under test; raises on what Go rejects (a raw newline, an unknown escape)."""
    assert literal[0] == literal[-1] == '"' and "\n" not in literal, literal
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            assert char != '"', literal
            out.append(char)
            i += 1
            continue
        escape = body[i + 1]
        if escape in _GO_ESCAPES:
            out.append(_GO_ESCAPES[escape])
            i += 2
        elif escape in '\\"':
            out.append(escape)
            i += 2
        elif escape in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[escape]
            out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        else:
            raise ValueError(f"Go rejects the escape \\{escape} in {literal}")
    return "".join(out)


def _attribute_key(written: str) -> str:
    if written.startswith('"'):
        return re.sub(r'\\(["\\])', r"\1", written[1:-1])
    return written


def _field_value(field: str) -> Callable[[Span], Any]:
    if field == "name":
        return lambda span: span.name
    if field == "kind":
        return lambda span: ("keyword", span.kind.label)
    if field == "status":
        return lambda span: ("keyword", span.status_code.label)
    scope, _, written = field.partition(".")
    key = _attribute_key(written)
    if scope == "span":
        return lambda span: span.attributes.get(key)
    return lambda span: span.resource.get(key)


def _equals(value: Any, kind: str, literal: Any) -> bool:
    if isinstance(value, list):  # Tempo: an array matches when any element does
        return any(_equals(element, kind, literal) for element in value)
    if kind == "string":
        return isinstance(value, str) and value == literal
    if kind == "number":  # Tempo compares ints and floats as numbers
        return isinstance(value, int | float) and not isinstance(value, bool) and value == literal
    if kind == "bool":
        return isinstance(value, bool) and value is literal
    if kind == "nil":
        return value is None
    return value == ("keyword", literal)


def _regex(value: Any, expression: re.Pattern[str]) -> bool:
    if isinstance(value, list):
        return any(_regex(element, expression) for element in value)
    return isinstance(value, str) and expression.fullmatch(value) is not None


class _Reader:
    def __init__(self, query: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(query.rstrip()):
            match = _TOKEN.match(query, position)
            assert match is not None and match.end() > position, f"cannot read {query[position:]!r}"
            kind = match.lastgroup
            assert kind is not None
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.index = 0

    def take(self, kind: str, text: str | None = None) -> str:
        found_kind, found = self.tokens[self.index]
        assert found_kind == kind and (text is None or found == text), (
            f"expected {text or kind}, found {found!r} at token {self.index}"
        )
        self.index += 1
        return found

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def query(self) -> Predicate:
        self.take("op", "{")
        terms = [self.term()]
        while self.peek() == ("op", "&&"):
            self.take("op", "&&")
            terms.append(self.term())
        self.take("op", "}")
        assert self.peek() is None, f"trailing tokens {self.tokens[self.index :]}"
        return lambda span: all(term(span) for term in terms)

    def term(self) -> Predicate:
        if self.peek() == ("op", "!"):  # only before a disjunction, as Tempo 2.10 reads it
            self.take("op", "!")
            inner = self.term()
            return lambda span: not inner(span)
        if self.peek() in (("word", "false"), ("word", "true")):
            constant = self.take("word") == "true"
            return lambda span: constant
        if self.peek() != ("op", "("):
            return self.comparison()
        self.take("op", "(")
        options = [self.comparison()]
        joiner = self.peek()
        while self.peek() == joiner and joiner in (("op", "||"), ("op", "&&")):
            self.take("op")
            options.append(self.comparison())
        self.take("op", ")")
        if joiner == ("op", "&&"):
            return lambda span: all(option(span) for option in options)
        return lambda span: any(option(span) for option in options)

    def comparison(self) -> Predicate:
        value_of = _field_value(self.take("field"))
        operator = self.take("op")
        kind, text = self.tokens[self.index]
        self.index += 1
        if operator in ("=~", "!~"):
            assert kind == "string", f"{operator} takes a string, not {text}"
            expression = re.compile(_go_unquote(text), re.DOTALL | re.ASCII)  # RE2: ^(?s:...)$
            if operator == "!~":  # false where the attribute is missing or not a string
                return lambda span: (
                    isinstance(value_of(span), str) and not _regex(value_of(span), expression)
                )
            return lambda span: _regex(value_of(span), expression)
        assert operator in ("=", "!="), operator
        literal: Any
        if kind == "string":
            literal = _go_unquote(text)
        elif kind == "number":
            literal = float(text) if "." in text else int(text)
        elif text in ("true", "false"):
            kind, literal = "bool", text == "true"
        elif text == "nil":
            kind, literal = "nil", None
        else:
            assert text in _KEYWORDS, f"unknown keyword {text}"
            kind, literal = "keyword", text
        if operator == "!=":  # false where the attribute is missing or of another type
            return lambda span: (
                _comparable(value_of(span), kind) and not _equals(value_of(span), kind, literal)
            )
        return lambda span: _equals(value_of(span), kind, literal)


def _comparable(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    return value is not None


def _compile(query: str) -> Predicate:
    return _Reader(query).query()


# --- helpers ----------------------------------------------------------------------------------


def _pattern(*matchers: Matcher, service: str = "shop", kind: str = "server") -> SpanPattern:
    return SpanPattern(
        id=0,
        service=service,
        span_kind=kind,
        family=Family.GENERIC,
        operation="op",
        matchers=matchers,
        hints={},
        name="a_pattern",
    )


def _span(
    attributes: dict[str, Any] | None = None,
    *,
    name: str = "op",
    kind: SpanKind = SpanKind.SERVER,
    status: StatusCode = StatusCode.UNSET,
    resource: dict[str, Any] | None = None,
) -> Span:
    return Span(
        trace_id="0" * 32,
        span_id="1" * 16,
        parent_span_id=None,
        name=name,
        kind=kind,
        start_unix_nano=0,
        end_unix_nano=1,
        attributes=attributes or {},
        resource={"service.name": "shop"} if resource is None else resource,
        status_code=status,
    )


def _span_attribute(name: str, match_type: MatchType, value: str) -> Matcher:
    return Matcher(FieldType.SPAN_ATTRIBUTE, name, match_type, value)


def _discovered(seed: int, traces: int, faults: tuple = ()) -> tuple[PatternClusterer, list]:
    clusterer = PatternClusterer(normalize)
    spans = [span for batch in sample_batches(seed, traces, faults) for span in batch]
    assigned = [clusterer.add(span).id for span in spans]
    return clusterer, list(zip(spans, assigned, strict=True))


ALL_FAULTS = faults_by_name([f.value for f in FaultName])


# --- the important one: exactly the pattern's spans ------------------------------------------


@pytest.mark.parametrize(
    ("seed", "faults"),
    [(42, ()), (7, ALL_FAULTS)],
    ids=["seed 42", "seed 7 with every fault"],
)
def test_each_patterns_query_selects_exactly_its_spans(seed: int, faults: tuple) -> None:
    clusterer, assigned = _discovered(seed, 400, faults)
    for pattern in clusterer.patterns:
        selects = _compile(traceql_for(pattern))
        wrong = [
            (span.name, pattern_id)
            for span, pattern_id in assigned
            if selects(span) != (pattern_id == pattern.id)
        ]
        assert not wrong, f"{pattern.name}: {traceql_for(pattern)[:200]} misselects {wrong[:3]}"


def test_learned_variables_and_literal_siblings_select_exactly_their_spans() -> None:
    rng = random.Random(3)
    spans = []
    for number in range(600):
        order = "search" if number % 4 == 0 else "".join(rng.choices("abcdefghjk", k=9))
        url = f"http://cart/orders/{order}?page={number}"
        spans.append(_span({"http.request.method": "GET", "url.full": url}, kind=SpanKind.CLIENT))
    spans = [replace(s, span_id=f"{n:016x}", trace_id=f"{n:032x}") for n, s in enumerate(spans, 1)]
    clusterer = PatternClusterer(normalize)
    clusterer.accept(spans)
    live = [p for p in clusterer.patterns if p.merged_into is None]
    assert sorted(p.operation for p in live) == [
        "GET cart /orders/search",
        "GET cart /orders/{order_id}",
    ]
    for pattern in live:
        query = traceql_for(pattern)
        selects = _compile(query)
        assert sum(map(selects, spans)) == pattern.stats.count, query
        assert all(selects(span) == pattern.matches(span) for span in spans), query
    general = next(p for p in live if "{order_id}" in p.operation)
    assert 'span.url.full !~ "https?://cart(?::(?:80|443))?/orders/search(?:[?#].*)?"' in (
        traceql_for(general)
    )


def test_siblings_told_apart_by_one_field_share_one_condition() -> None:
    pattern = _pattern(_span_attribute("url.path", MatchType.REGEX, "/orders/[^/?#]+"))
    pattern.exclusions = (
        (_span_attribute("url.path", MatchType.EXACT, "/orders/search"),),
        (_span_attribute("url.path", MatchType.REGEX, "/orders/me(?:[?#].*)?"),),
    )
    query = traceql_for(pattern)
    assert query.count("!~") == 1 and "/orders/search|(?:/orders/me" in query
    selects = _compile(query)
    assert selects(_span({"url.path": "/orders/42"}))
    assert not selects(_span({"url.path": "/orders/search"}))
    assert not selects(_span({"url.path": "/orders/me?x=1"}))


def test_an_exclusion_of_several_fields_is_any_of_them_negated() -> None:
    pattern = _pattern(_span_attribute("http.route", MatchType.REGEX, "/a/.*"))
    pattern.exclusions = (
        (
            _span_attribute("http.route", MatchType.EXACT, "/a/b"),
            _span_attribute("http.response.status_code", MatchType.EXACT, "404"),
        ),
    )
    query = traceql_for(pattern)
    assert '(span.http.route != "/a/b" || span.http.response.status_code != 404)' in query
    selects = _compile(query)
    assert selects(_span({"http.route": "/a/b", "http.response.status_code": 200}))
    assert not selects(_span({"http.route": "/a/b", "http.response.status_code": 404}))
    assert selects(_span({"http.route": "/a/c", "http.response.status_code": 404}))


def test_a_merged_patterns_query_selects_the_spans_of_every_source() -> None:
    clusterer, assigned = _discovered(42, 300)
    frontend_get = [
        p
        for p in clusterer.patterns
        if (p.service, p.span_kind) == ("frontend", "server")
        and [m.field_name for m in p.matchers] == ["http.request.method", "http.route"]
    ]
    sources = frontend_get[:3]
    assert len(sources) == 3
    merged = _pattern(*merged_matchers(sources), service="frontend", kind="server")
    selects = _compile(traceql_for(merged))
    ids = {p.id for p in sources}
    assert all(selects(span) == (pattern_id in ids) for span, pattern_id in assigned)


# --- types ------------------------------------------------------------------------------------


def test_status_codes_are_typed_int_in_tempo(tempo_fixtures_dir: Path) -> None:
    # What a real Tempo 2.10.8 reports for the attribute: int values, so an int literal.
    recorded = json.loads(
        (tempo_fixtures_dir / "search_tag_values_v2_status_code_int.json").read_text()
    )
    assert {value["type"] for value in recorded["tagValues"]} == {"int"}
    assert "http.response.status_code" in INT_ATTRIBUTES


@pytest.mark.parametrize(
    ("matcher", "query_part", "selected", "not_selected"),
    [
        (
            _span_attribute("http.response.status_code", MatchType.EXACT, "404"),
            "span.http.response.status_code = 404",
            [404],
            [200, "404", 404.5],
        ),
        (  # patterns merged after a split by status code: an alternation of integers
            _span_attribute("http.status_code", MatchType.REGEX, "(?:(?:404)|(?:410))|(?:500)"),
            "(span.http.status_code = 404 || span.http.status_code = 410 || "
            "span.http.status_code = 500)",
            [404, 410, 500],
            [200, 4040, "404"],
        ),
        (  # an attribute of unknown type: compared as a number and as text
            _span_attribute("shop.tier", MatchType.EXACT, "2"),
            '(span.shop.tier = 2 || span.shop.tier = "2")',
            [2, "2", [2]],
            [3, "02", True],
        ),
        (
            _span_attribute("cache.hit", MatchType.EXACT, "true"),
            '(span.cache.hit = true || span.cache.hit = "true")',
            [True, "true"],
            [False, 1, "True"],
        ),
        (
            _span_attribute("shop.ratio", MatchType.EXACT, "1.5"),
            '(span.shop.ratio = 1.5 || span.shop.ratio = "1.5")',
            [1.5, "1.5"],
            [1, "1.50"],
        ),
        (  # 2.0 as a number would also match int 2, which a matcher reads as "2"
            _span_attribute("shop.ratio", MatchType.EXACT, "2.0"),
            'span.shop.ratio = "2.0"',
            ["2.0"],
            [2, "2"],
        ),
        (  # not canonical: no int reads as 0404, so compare as text only
            _span_attribute("http.response.status_code", MatchType.EXACT, "0404"),
            'span.http.response.status_code = "0404"',
            ["0404"],
            [404],
        ),
    ],
)
def test_typed_attributes_compare_as_tempo_stores_them(
    matcher: Matcher, query_part: str, selected: list[Any], not_selected: list[Any]
) -> None:
    query = traceql_for(_pattern(matcher))
    assert query.endswith(f"&& {query_part} }}")
    selects = _compile(query)
    for value in selected:
        assert selects(_span({matcher.field_name: value})), value
    for value in not_selected:
        assert not selects(_span({matcher.field_name: value})), value


@pytest.mark.parametrize(
    ("matcher", "query_part"),
    [
        (Matcher(FieldType.SPAN_FIELD, "status", MatchType.EXACT, "error"), "status = error"),
        (  # an enum regex becomes the keywords it accepts
            Matcher(FieldType.SPAN_FIELD, "status", MatchType.REGEX, "ok|unset"),
            "(status = unset || status = ok)",
        ),
        (  # starts_with too
            Matcher(FieldType.SPAN_FIELD, "kind", MatchType.STARTS_WITH, "c"),
            "(kind = client || kind = consumer)",
        ),
        (Matcher(FieldType.SPAN_FIELD, "status", MatchType.EXACT, "broken"), "false"),
    ],
)
def test_kind_and_status_matchers_become_keywords(matcher: Matcher, query_part: str) -> None:
    assert traceql_for(_pattern(matcher)).endswith(f"&& {query_part} }}")


def test_spans_without_a_service_name_are_found_as_unknown_service() -> None:
    selects = _compile(traceql_for(_pattern(service="unknown_service")))
    assert selects(_span(resource={}))
    assert selects(_span(resource={"service.name": ""}))
    assert selects(_span(resource={"service.name": "unknown_service"}))
    assert not selects(_span(resource={"service.name": "shop"}))


# --- lexical ----------------------------------------------------------------------------------


def test_a_simple_pattern_reads_as_people_write_traceql() -> None:
    pattern = _pattern(
        _span_attribute("http.request.method", MatchType.EXACT, "GET"),
        _span_attribute("http.route", MatchType.EXACT, "/category/:slug"),
        service="frontend",
    )
    assert traceql_for(pattern) == (
        '{ resource.service.name = "frontend" && kind = server'
        ' && span.http.request.method = "GET" && span.http.route = "/category/:slug" }'
    )


@pytest.mark.parametrize(
    "value",
    [
        'say "hi"',
        "C:\\temp\\new",
        "tab\there, new\nline, return\r",
        "ünïcödé ✓ 中文 🙂",
        "\x00control\x1f\x7f",
        "",
    ],
)
def test_string_literals_read_back_as_the_value(value: str) -> None:
    literal = string_literal(value)
    assert _go_unquote(literal) == value
    assert not re.search(r"[\x00-\x1f\x7f]", literal)
    selects = _compile(
        traceql_for(_pattern(Matcher(FieldType.SPAN_FIELD, "name", MatchType.EXACT, value)))
    )
    assert selects(_span(name=value))
    assert not selects(_span(name=value + "x"))


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("http.route", "http.route"),
        ("db.system.name", "db.system.name"),
        ("http.request.header.x-id", '"http.request.header.x-id"'),
        ("path/to", '"path/to"'),
        ("with space", '"with space"'),
        ('we"ird\\', '"we\\"ird\\\\"'),
        ("trailing.", '"trailing."'),
    ],
)
def test_attribute_names_are_quoted_unless_plain(name: str, written: str) -> None:
    assert attribute_name(name) == written
    pattern = _pattern(Matcher(FieldType.RESOURCE_ATTRIBUTE, name, MatchType.EXACT, "v"))
    selects = _compile(traceql_for(pattern))
    assert selects(_span(resource={"service.name": "shop", name: "v"}))
    assert not selects(_span(resource={"service.name": "shop", name: "w"}))


@pytest.mark.parametrize("prefix", ["/api/v1.2/(x)", "a+b*c?", "[x]{1}^$|\\", "ü.-#"])
def test_starts_with_prefixes_are_quoted_for_re2(prefix: str) -> None:
    matcher = _span_attribute("url.path", MatchType.STARTS_WITH, prefix)
    query = traceql_for(_pattern(matcher))
    assert f"=~ {string_literal(re2_quote(prefix) + '.*')}" in query
    selects = _compile(query)
    for value in (prefix, prefix + "/rest\nof it", prefix + "\\"):
        assert selects(_span({"url.path": value})) == matcher.matches(_span({"url.path": value}))
    assert not selects(_span({"url.path": prefix[:-1]}))
    assert not selects(_span({"url.path": "x" + prefix}))


def test_regexes_are_anchored_and_dot_matches_newlines_as_matchers_do() -> None:
    matcher = _span_attribute("db.query.text", MatchType.REGEX, "SELECT .* FROM orders")
    selects = _compile(traceql_for(_pattern(matcher)))
    for text in ("SELECT a,\nb FROM orders", "SELECT a FROM orders2", "xSELECT a FROM orders"):
        assert selects(_span({"db.query.text": text})) == matcher.matches(
            _span({"db.query.text": text})
        )


def test_an_unknown_span_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown span kind"):
        traceql_for(_pattern(kind="sideways"))


# --- metrics and links ------------------------------------------------------------------------


def test_metrics_queries_rate_errors_and_latency_quantiles() -> None:
    pattern = _pattern(_span_attribute("http.route", MatchType.EXACT, "/cart"))
    spans = traceql_for(pattern)
    queries = traceql_metrics_for(pattern)
    assert queries.rate == f"{spans} | rate()"
    assert queries.error_rate == f"{spans[:-2]} && status = error }} | rate()"
    assert queries.latency == f"{spans} | quantile_over_time(duration, .5, .95, .99)"


@pytest.mark.parametrize(
    ("base_url", "expected_path"),
    [
        ("https://grafana.example.com", "/explore"),
        ("https://grafana.example.com/", "/explore"),
        ("https://example.com/grafana/", "/grafana/explore"),
    ],
)
def test_explore_links_open_the_query_in_the_tempo_data_source(
    base_url: str, expected_path: str
) -> None:
    query = '{ resource.service.name = "ü & co" && span.http.route =~ "/a\\\\.b.*" }'
    url = grafana_explore_url(base_url, "tempo-1", query, 1795273515, 1795274958, org_id=2)
    parts = urlsplit(url)
    assert parts.path == expected_path
    assert " " not in url and '"' not in url
    parameters = parse_qs(parts.query, strict_parsing=True)
    assert parameters["schemaVersion"] == ["1"]
    assert parameters["orgId"] == ["2"]
    (pane,) = json.loads(parameters["panes"][0]).values()
    assert pane["datasource"] == "tempo-1"
    assert pane["range"] == {"from": "1795273515000", "to": "1795274958000"}
    (sent,) = pane["queries"]
    assert sent["query"] == query
    assert sent["datasource"] == {"type": "tempo", "uid": "tempo-1"}
    assert (sent["queryType"], sent["refId"], sent["tableType"]) == ("traceql", "A", "traces")


def test_an_explore_link_needs_a_time_range_that_ends_after_it_starts() -> None:
    with pytest.raises(ValueError, match="ends"):
        grafana_explore_url("https://g", "tempo", "{ }", 200, 100)


def test_an_exclusion_of_a_value_compared_both_ways_is_negated_whole() -> None:
    pattern = _pattern(_span_attribute("checkout.step", MatchType.REGEX, "[^/]+"))
    pattern.exclusions = ((_span_attribute("checkout.step", MatchType.EXACT, "1"),),)
    query = traceql_for(pattern)
    # (x != 1 && x != "1") would be false for every span: one side compares across types
    assert '!(span.checkout.step = 1 || span.checkout.step = "1")' in query
    selects = _compile(query)
    assert selects(_span({"checkout.step": "2"}))
    assert not selects(_span({"checkout.step": "1"}))


def test_unicode_spaces_are_not_spaces_to_matchers_as_to_re2() -> None:
    matcher = Matcher(FieldType.SPAN_FIELD, "name", MatchType.REGEX, r"order \S+")
    assert matcher.matches(_span(name="order 5\u00a0x"))  # RE2's \S takes a no-break space
