"""A trace's waterfall and the service map, from plain inputs."""

from __future__ import annotations

from typing import Any

from app.discovery.heads import PatternHead
from app.web.service_map import service_map
from app.web.waterfall import MAX_DEPTH_SHOWN, waterfall

MS = 1_000_000


def span(
    span_id: str, parent: str | None, start_ms: float, duration_ms: float, **extra: Any
) -> dict[str, Any]:
    return {
        "trace_id": "ab" * 16,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": f"span {span_id}",
        "start_unix_nano": 1_000_000 * MS + int(start_ms * MS),
        "duration_ms": duration_ms,
        "status": extra.pop("status", "unset"),
        "status_message": "",
        "attributes": {},
        "events": [],
        "service": extra.pop("service", "frontend"),
        **extra,
    }


def test_spans_nest_under_their_parents_in_time_order() -> None:
    drawn = waterfall(
        [
            span("c2", "root", 50, 10, service="cart"),
            span("root", None, 0, 100),
            span("c1", "root", 10, 30, service="cart"),
            span("g1", "c1", 12, 5, status="error", service="db"),
            span("lost", "not-kept", 60, 20),  # its parent was not kept as a sample
        ]
    )
    assert [(row.span["span_id"], row.depth) for row in drawn.rows] == [
        ("root", 0),
        ("c1", 1),
        ("g1", 2),
        ("c2", 1),
        ("lost", 0),
    ]
    rows = {row.span["span_id"]: row for row in drawn.rows}
    assert rows["lost"].orphan and not rows["root"].orphan
    assert rows["root"].offset_pct == 0 and rows["root"].width_pct == 100
    assert rows["c2"].offset_pct == 50 and rows["c2"].width_pct == 10
    assert rows["g1"].failed and drawn.errors == 1
    assert [service for service, _ in drawn.services] == ["frontend", "cart", "db"]
    assert len({color for _, color in drawn.services}) == 3
    assert drawn.duration_ms == 100 and drawn.ticks[0] == (0.0, "0 ms")
    assert drawn.ticks[-1][0] <= 100


def test_deep_and_cyclic_traces_still_show_every_span_once() -> None:
    chain = [span("s0", None, 0, 50)] + [span(f"s{i}", f"s{i - 1}", i, 1) for i in range(1, 30)]
    drawn = waterfall(chain)
    assert len(drawn.rows) == 30 and drawn.rows[-1].depth == 29
    assert drawn.rows[-1].indent == MAX_DEPTH_SHOWN
    cycle = waterfall([span("a", "b", 0, 1), span("b", "a", 1, 1)])  # bad data: a loop
    assert [(row.span["span_id"], row.depth) for row in cycle.rows] == [("a", 0), ("b", 1)]
    assert waterfall([]).rows == []


def head(
    pattern_id: int, service: str, kind: str, count: int, errors: int = 0, **edges: Any
) -> PatternHead:
    return PatternHead(
        id=pattern_id,
        name=f"{service}_{kind}_{pattern_id}",
        service=service,
        span_kind=kind,
        family=edges.pop("family", "http_server"),
        operation="op",
        matcher_fields=(),
        merged_into=None,
        parents=edges.pop("parents", {}),
        children=edges.pop("children", {}),
        hints=edges.pop("hints", {}),
        count=count,
        error_count=errors,
        first_seen_unix_nano=0,
        last_seen_unix_nano=0,
        p50_ms=1.0,
        p99_ms=2.0,
    )


def test_calls_between_services_and_to_the_outside() -> None:
    heads = [
        head(0, "frontend", "server", 100, children={1: 100}),
        head(
            1, "frontend", "client", 100, family="http_client", parents={0: 100}, children={2: 100}
        ),
        head(2, "checkout", "server", 100, errors=10, parents={1: 100}, children={3: 80}),
        head(
            3,
            "checkout",
            "client",
            80,
            errors=4,
            family="database",
            parents={2: 80},
            hints={"system": "postgresql"},
        ),
        head(4, "checkout", "client", 5, family="http_client", hints={"peer": "api.stripe.com"}),
    ]
    drawn = service_map(heads)
    edges = {(e.source, e.target_name): e for e in drawn.edges}
    assert set(edges) == {
        ("frontend", "checkout"),
        ("checkout", "postgresql"),
        ("checkout", "api.stripe.com"),
    }
    call = edges[("frontend", "checkout")]
    assert call.calls == 100 and round(call.error_rate, 3) == 0.1  # of the spans called
    assert not call.external and edges[("checkout", "postgresql")].external
    assert edges[("checkout", "postgresql")].error_rate == 0.05
    nodes = {n.name: n for n in drawn.nodes}
    assert nodes["checkout"].entry_spans == 100 and nodes["checkout"].error_rate == 0.1
    assert nodes["postgresql"].external
    # callers to the left of callees, the outside last
    assert nodes["frontend"].x < nodes["checkout"].x < nodes["postgresql"].x
    assert all(e.path.startswith("M") for e in drawn.drawn_edges)
