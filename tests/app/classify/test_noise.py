"""Keep or noise: probes, static files, probe work, connection checks, trivial steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.classify.noise import (
    TRIVIAL_MIN_COUNT,
    TRIVIAL_MIN_RATE_PER_S,
    TRIVIAL_P95_MS,
    judge,
)
from app.classify.reading import read
from app.classify.verdict import Verdict
from app.discovery.patterns import SpanPattern
from connectors.spans import Span, SpanKind

CLIENT, SERVER, INTERNAL = SpanKind.CLIENT, SpanKind.SERVER, SpanKind.INTERNAL


def verdict_of(pattern: SpanPattern, graph: dict[int, SpanPattern] | None = None) -> tuple:
    return judge(pattern, read(pattern), graph or {pattern.id: pattern})


def route(path: str, method: str = "GET") -> dict[str, Any]:
    return {"http.request.method": method, "http.route": path}


@pytest.mark.parametrize(
    ("attributes", "kind", "probe"),
    [
        (route("/health"), SERVER, "health check"),
        (route("/healthz"), SERVER, "health check"),
        (route("/api/healthz"), SERVER, "health check"),
        (route("/v1/health/{component}"), SERVER, "health check"),
        (route("/readyz"), SERVER, "readiness probe"),
        (route("/ready"), SERVER, "readiness probe"),
        (route("/livez"), SERVER, "liveness probe"),
        (route("/actuator/health"), SERVER, "health check"),
        (route("/actuator/health/readiness"), SERVER, "readiness probe"),
        (route("/actuator/health/liveness"), SERVER, "liveness probe"),
        (route("/actuator/prometheus"), SERVER, "metrics scrape"),
        (route("/metrics"), SERVER, "metrics scrape"),
        (route("/ping"), SERVER, "ping"),
        (route("/api/v2/ping"), SERVER, "ping"),
        # a service checking another's health is no user traffic either
        (
            {"http.request.method": "GET", "url.full": "http://cart.shop.svc:8080/healthz"},
            CLIENT,
            "health check",
        ),
        (
            {"rpc.system": "grpc", "rpc.service": "grpc.health.v1.Health", "rpc.method": "Check"},
            SERVER,
            "health check",
        ),
        (
            {"rpc.system": "grpc", "rpc.service": "grpc.health.v1.Health", "rpc.method": "Watch"},
            CLIENT,
            "health check",
        ),
    ],
)
def test_probes_are_noise(
    pattern_of: Callable[..., SpanPattern], attributes: dict, kind: SpanKind, probe: str
) -> None:
    verdict, reason = verdict_of(pattern_of("probe", kind=kind, attributes=attributes))
    assert verdict is Verdict.NOISE
    assert probe in reason and "not user traffic" in reason


@pytest.mark.parametrize(
    "path",
    [
        "/v1/orders/{id}/status",
        "/orders/{id}/ready",  # ready, live, ping, metrics: probes only as the whole route
        "/api/v1/metrics/query",
        "/v1/pings/{id}",
        "/healthcare/providers",
        "/checkout",
        "/",
    ],
)
def test_routes_that_only_look_like_probes_are_kept(
    pattern_of: Callable[..., SpanPattern], path: str
) -> None:
    verdict, _ = verdict_of(pattern_of("GET", kind=SERVER, attributes=route(path)))
    assert verdict is Verdict.KEEP


@pytest.mark.parametrize(
    ("attributes", "noise"),
    [
        ({"http.request.method": "GET", "url.path": "/static/js/app.3f9a1c.js"}, True),
        ({"http.request.method": "GET", "url.path": "/favicon.ico"}, True),
        ({"http.request.method": "GET", "url.path": "/img/SKU-00123.webp"}, True),
        (route("/assets/*"), True),
        (route("/_next/static/:file"), True),
        (route("/assets/manifest"), False),  # under a static mount but no file
        (route("/products/{id}"), False),
        ({"http.request.method": "GET", "url.path": "/sitemap.xml"}, False),  # a page
    ],
)
def test_static_files_are_noise(
    pattern_of: Callable[..., SpanPattern], attributes: dict, noise: bool
) -> None:
    verdict, reason = verdict_of(pattern_of("GET", kind=SERVER, attributes=attributes))
    assert (verdict is Verdict.NOISE) is noise
    if noise:
        assert reason.startswith("Static files")


def test_work_done_only_for_probes_is_noise_and_shared_work_is_kept(
    make_span: Callable[..., Span], cluster: Callable[[list[Span]], list[SpanPattern]]
) -> None:
    def redis(span_id: int, parent: int, statement: str) -> Span:
        attributes = {"db.system": "redis", "db.statement": statement}
        return make_span(
            "redis", kind=CLIENT, span_id=span_id, parent=parent, attributes=attributes
        )

    spans = [
        make_span("GET", kind=SERVER, span_id=1, attributes=route("/healthz")),
        redis(2, 1, "PING"),
        redis(3, 1, "GET feature:flags"),
        make_span("GET", kind=SERVER, span_id=4, attributes=route("/products/{id}")),
        redis(5, 4, "GET feature:flags"),
    ]
    patterns = cluster(spans)
    graph = {p.id: p for p in patterns}
    verdicts = {p.operation: verdict_of(p, graph) for p in patterns}
    assert verdicts["redis PING"][0] is Verdict.NOISE
    assert "only for health checks" in verdicts["redis PING"][1]
    assert "checkout's GET /healthz" in verdicts["redis PING"][1]
    assert verdicts["redis GET feature:flags"][0] is Verdict.KEEP


@pytest.mark.parametrize(
    ("statement", "noise"),
    [("SELECT 1", True), ("select 1 from dual", False), ("SELECT id FROM t WHERE id = 1", False)],
)
def test_connection_checks_are_noise(
    pattern_of: Callable[..., SpanPattern], statement: str, noise: bool
) -> None:
    attributes = {"db.system": "postgresql", "db.statement": statement}
    verdict, reason = verdict_of(pattern_of("SELECT", kind=CLIENT, attributes=attributes))
    assert (verdict is Verdict.NOISE) is noise
    if noise:
        assert "connection check" in reason


def internal_steps(
    make_span: Callable[..., Span],
    *,
    count: int = TRIVIAL_MIN_COUNT + 200,
    every_ms: float = 10.0,
    duration_ms: float = 0.2,
    errors: int = 0,
    with_child: bool = False,
) -> list[Span]:
    spans = [
        make_span(
            "serialize response",
            span_id=number + 1,
            start_ms=number * every_ms,
            duration_ms=duration_ms,
            error=number < errors,
        )
        for number in range(count)
    ]
    if with_child:
        spans.append(make_span("write buffer", span_id=count + 1, parent=1, duration_ms=0.1))
    return spans


@pytest.mark.parametrize(
    ("options", "noise"),
    [
        ({}, True),
        ({"duration_ms": TRIVIAL_P95_MS * 3}, False),  # takes time
        ({"errors": 1}, False),  # fails sometimes
        ({"with_child": True}, False),  # calls something
        ({"count": TRIVIAL_MIN_COUNT - 1}, False),  # too few to matter
        ({"every_ms": 1000 / TRIVIAL_MIN_RATE_PER_S * 2}, False),  # too rare
    ],
)
def test_trivial_high_volume_internal_steps_are_noise(
    make_span: Callable[..., Span],
    cluster: Callable[[list[Span]], list[SpanPattern]],
    options: dict,
    noise: bool,
) -> None:
    patterns = cluster(internal_steps(make_span, **options))
    graph = {p.id: p for p in patterns}
    step = next(p for p in patterns if p.operation == "serialize response")
    verdict, reason = verdict_of(step, graph)
    assert (verdict is Verdict.NOISE) is noise
    if noise:
        assert reason.startswith("A trivial internal step: p95 0.20 ms, never fails")
    else:
        assert reason.startswith("An internal step that")


@pytest.mark.parametrize(
    ("kind", "attributes", "start"),
    [
        (SERVER, route("/v1/checkout", "POST"), "A real endpoint of checkout"),
        (
            CLIENT,
            {"http.request.method": "POST", "url.full": "https://api.stripe.com/v1/charges"},
            "A dependency on api.stripe.com",
        ),
        (CLIENT, {"db.system": "postgresql", "db.statement": "DELETE FROM t"}, "Database work"),
        (CLIENT, {"db.system": "redis", "db.statement": "GET a:1"}, "Cache work on a:{id}"),
    ],
)
def test_kept_patterns_say_what_they_are_worth(
    pattern_of: Callable[..., SpanPattern], kind: SpanKind, attributes: dict, start: str
) -> None:
    verdict, reason = verdict_of(pattern_of("op", kind=kind, attributes=attributes))
    assert verdict is Verdict.KEEP
    assert reason.startswith(start)
