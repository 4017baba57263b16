"""RPC spans: system, service and method, from attributes or the span name."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.discovery.normalize.rpc import normalize_rpc, parse_rpc_name
from app.discovery.operation import Family
from app.sample import FaultName, faults_by_name
from connectors.spans import Span, SpanKind


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("inventory.v1.InventoryService/Reserve", ("inventory.v1.InventoryService", "Reserve")),
        ("/inventory.v1.InventoryService/Reserve", ("inventory.v1.InventoryService", "Reserve")),
        ("grpc.health.v1.Health/Check", ("grpc.health.v1.Health", "Check")),
        ("Greeter/SayHello", ("Greeter", "SayHello")),  # no package
        (
            "org.apache.dubbo.demo.DemoService/sayHello",
            ("org.apache.dubbo.demo.DemoService", "sayHello"),
        ),
        ("Reserve", None),
        ("HTTP POST", None),
        ("POST /v1/reserve", None),  # an HTTP span name, not a method
        ("inventory.v1.InventoryService/", None),
        ("/Reserve", None),
        ("", None),
    ],
)
def test_span_name_reads_as_service_and_method(name: str, expected: tuple[str, str] | None) -> None:
    assert parse_rpc_name(name) == expected


def _span(attributes: dict, name: str, kind: SpanKind = SpanKind.CLIENT) -> Span:
    return Span(
        trace_id="0" * 32,
        span_id="1" * 16,
        parent_span_id=None,
        name=name,
        kind=kind,
        start_unix_nano=0,
        end_unix_nano=1,
        attributes=attributes,
    )


GRPC_RESERVE = {
    "rpc.system": "grpc",
    "rpc.service": "inventory.v1.InventoryService",
    "rpc.method": "Reserve",
}


@pytest.mark.parametrize(
    ("attributes", "name", "key", "fields"),
    [
        (
            {**GRPC_RESERVE, "rpc.grpc.status_code": 0, "server.port": 50051},
            "inventory.v1.InventoryService/Reserve",
            "grpc inventory.v1.InventoryService/Reserve",
            ("rpc.system", "rpc.service", "rpc.method"),
        ),
        (  # a failed call is the same operation
            {**GRPC_RESERVE, "rpc.grpc.status_code": 14, "error.type": "UNAVAILABLE"},
            "inventory.v1.InventoryService/Reserve",
            "grpc inventory.v1.InventoryService/Reserve",
            ("rpc.system", "rpc.service", "rpc.method"),
        ),
        (  # JSON-RPC names no service
            {"rpc.system": "jsonrpc", "rpc.method": "eth_getBalance", "rpc.jsonrpc.request_id": 7},
            "eth_getBalance",
            "jsonrpc eth_getBalance",
            ("rpc.system", "rpc.method"),
        ),
        (
            {
                "rpc.system": "apache_dubbo",
                "rpc.service": "org.apache.dubbo.demo.DemoService",
                "rpc.method": "sayHello",
            },
            "org.apache.dubbo.demo.DemoService/sayHello",
            "apache_dubbo org.apache.dubbo.demo.DemoService/sayHello",
            ("rpc.system", "rpc.service", "rpc.method"),
        ),
        (  # no method attribute: the span name, matched as it is
            {"rpc.system": "connect_rpc"},
            "acme.cart.v1.CartService/GetCart",
            "connect_rpc acme.cart.v1.CartService/GetCart",
            ("rpc.system", "name"),
        ),
        (  # a leading slash stays in the key: the name matcher is exact
            {"rpc.system": "grpc", "rpc.service": "cart.v1.CartService"},
            "/cart.v1.CartService/GetCart",
            "grpc /cart.v1.CartService/GetCart",
            ("rpc.system", "name"),
        ),
    ],
)
def test_span_operation(attributes: dict, name: str, key: str, fields: tuple[str, ...]) -> None:
    span = _span(attributes, name)
    operation = normalize_rpc(span)
    assert operation is not None
    assert operation.family is Family.RPC
    assert operation.key == key
    assert tuple(m.field_name for m in operation.matchers) == fields
    assert all(m.matches(span) for m in operation.matchers)


@pytest.mark.parametrize(("kind", "role"), [(SpanKind.CLIENT, "peer"), (SpanKind.SERVER, "target")])
def test_hints_name_system_method_and_service(kind: SpanKind, role: str) -> None:
    operation = normalize_rpc(_span(GRPC_RESERVE, "x", kind))
    assert operation is not None
    assert dict(operation.hints) == {
        "system": "grpc",
        "method": "Reserve",
        role: "inventory.v1.InventoryService",
    }


@pytest.mark.parametrize(
    ("attributes", "name"),
    [
        ({"rpc.system": "grpc"}, "Reserve"),  # no method anywhere
        ({"rpc.system": ""}, "inventory.v1.InventoryService/Reserve"),
    ],
)
def test_span_without_method_is_left_to_the_fallback(attributes: dict, name: str) -> None:
    assert normalize_rpc(_span(attributes, name)) is None


# --- The sample shop ------------------------------------------------------------------------

ALL_FAULTS = faults_by_name([f.value for f in FaultName])


def _is_rpc(span: Span) -> bool:
    attributes = span.attributes
    if attributes.get("db.system.name") or attributes.get("db.system"):
        return False
    return "messaging.system" not in attributes and "rpc.system" in attributes


@pytest.mark.parametrize(
    ("seed", "faults"), [(1, ()), (42, ()), (42, ALL_FAULTS)], ids=["1", "42", "42 faults"]
)
def test_sample_rpc_spans_key_by_true_operation_and_matchers_keep_them_apart(
    seed: int, faults: tuple, check_family_on_sample: Callable[..., None]
) -> None:
    check_family_on_sample(_is_rpc, normalize_rpc, seed, faults)
