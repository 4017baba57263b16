"""Tag names and values, v1 (flat strings) and v2 (scoped names, typed values)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import respx

from connectors.tempo import TempoClient
from connectors.tempo_models import TagScope, TagValue

pytestmark = pytest.mark.anyio

Serve = Callable[[respx.MockRouter, str], respx.Route]
CallRecorded = Callable[[Any, str], Awaitable[Any]]


@pytest.fixture
def replay(
    serve: Serve, call_recorded: CallRecorded, tempo_client: Callable[..., TempoClient]
) -> Callable[[str], Any]:
    """Send a recording's request through TempoClient and return what the client made of it."""

    async def run(name: str) -> Any:
        with respx.mock() as router:
            serve(router, name)
            async with tempo_client() as client:
                return await call_recorded(client, name)

    return run


async def test_v1_tag_names_are_one_flat_list(replay: Callable[[str], Any]) -> None:
    names = await replay("search_tags_v1.json")
    span_names = await replay("search_tags_v1_scope_span.json")

    assert len(names) == 79
    assert {"service.name", "http.route", "exception.type", "db.statement"} <= set(names)
    assert "http.route" in span_names and "service.name" not in span_names  # scope=span


async def test_v2_tag_names_are_grouped_by_scope(replay: Callable[[str], Any]) -> None:
    scopes = await replay("search_tags_v2.json")

    assert all(isinstance(scope, TagScope) for scope in scopes)
    by_name = {scope.name: scope.tags for scope in scopes}
    assert set(by_name) == {"link", "intrinsic", "resource", "span", "event"}
    assert "service.name" in by_name["resource"]
    assert "exception.type" in by_name["event"]
    assert {"status", "kind", "rootServiceName", "span:duration"} <= set(by_name["intrinsic"])


async def test_v2_tag_names_narrowed_by_scope_window_and_query(
    replay: Callable[[str], Any],
) -> None:
    resource = await replay("search_tags_v2_scope_resource.json")
    payment_span = await replay("search_tags_v2_scope_span_q.json")

    assert [scope.name for scope in resource] == ["resource"]
    assert len(resource[0].tags) == 15
    ((name, tags),) = [(scope.name, scope.tags) for scope in payment_span]
    assert name == "span"
    assert "app.payment.currency" in tags and "app.cart.items" not in tags


@pytest.mark.parametrize(
    ("name", "values"),
    [
        (
            "search_tag_values_v1_service_name.json",
            ["cart", "checkout", "frontend", "inventory", "notification", "payment"],
        ),
        ("search_tag_values_v1_http_route.json", None),
    ],
)
async def test_v1_tag_values_are_plain_strings(
    name: str, values: list[str] | None, replay: Callable[[str], Any]
) -> None:
    got = await replay(name)

    assert all(isinstance(value, str) for value in got) and got
    if values is not None:
        assert got == values
    else:
        assert "/v1/checkout" in got and "/orders/:orderId" in got


@pytest.mark.parametrize(
    ("name", "types", "some_value"),
    [
        ("search_tag_values_v2_resource_service_name.json", {"string"}, "payment"),
        ("search_tag_values_v2_span_http_route_q.json", {"string"}, "/v1/checkout"),
        ("search_tag_values_v2_status_code_int.json", {"int"}, "502"),  # values stay strings
        ("search_tag_values_v2_intrinsic_status.json", {"keyword"}, "error"),
        ("search_tag_values_v2_intrinsic_kind.json", {"keyword"}, "consumer"),
        ("search_tag_values_v2_db_system.json", {"string"}, "postgresql"),
    ],
)
async def test_v2_tag_values_are_typed(
    name: str, types: set[str], some_value: str, replay: Callable[[str], Any]
) -> None:
    got = await replay(name)

    assert all(isinstance(value, TagValue) for value in got)
    assert {value.type for value in got} == types
    assert some_value in {value.value for value in got}


async def test_a_query_narrows_v2_tag_values(replay: Callable[[str], Any]) -> None:
    # Only checkout's routes, from { resource.service.name = "checkout" }.
    got = await replay("search_tag_values_v2_span_http_route_q.json")

    assert got == [TagValue("string", "/v1/orders/{orderId}"), TagValue("string", "/v1/checkout")]


async def test_an_unknown_tag_has_no_values(replay: Callable[[str], Any]) -> None:
    assert await replay("search_tag_values_v2_unknown.json") == []
