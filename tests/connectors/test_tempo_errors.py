"""Every recorded error answer of Tempo becomes the right exception, with Tempo's words."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx

from connectors.tempo import TempoClient
from connectors.tempo_errors import (
    TempoAuthError,
    TempoEndpointNotFound,
    TempoError,
    TempoQueryError,
    TempoResponseError,
    TempoTenantRequired,
    TraceNotFound,
)
from connectors.tempo_retry import RetryPolicy

pytestmark = pytest.mark.anyio

Serve = Callable[[respx.MockRouter, str], respx.Route]
CallRecorded = Callable[[Any, str], Awaitable[Any]]

BAD_REQUESTS = [
    "err_search_malformed_traceql.txt",
    "err_search_unknown_attr_op.txt",
    "err_search_bad_range_start_after_end.txt",
    "err_search_bad_range_not_number.txt",
    "err_search_range_too_long.txt",
    "err_trace_invalid_id.txt",
    "err_metrics_malformed.txt",
    "err_metrics_not_metrics_query.txt",
    "err_metrics_bad_step.txt",
    "err_tags_v2_bad_scope.txt",
]


@pytest.fixture
def replay(
    serve: Serve,
    call_recorded: CallRecorded,
    recorded: Callable[[str], httpx.Response],
    tempo_client: Callable[..., TempoClient],
) -> Callable[[str], Awaitable[Any]]:
    async def run(name: str) -> Any:
        with respx.mock(assert_all_called=False) as router:
            route = serve(router, name)
            # Some by-id errors were recorded at /api/traces (v1): for those, v2 is absent.
            router.get(url__regex=r"/api/v2/traces/").mock(
                return_value=recorded("err_unknown_path.txt")
            )
            client = tempo_client(retry=RetryPolicy(max_retries=0))
            async with client:
                try:
                    return await call_recorded(client, name)
                finally:
                    assert route.call_count == 1  # Tempo was asked once: no retry of a 400

    return run


@pytest.mark.parametrize("name", BAD_REQUESTS)
async def test_a_400_is_a_query_error_with_tempos_message_verbatim(
    name: str, replay: Callable[[str], Awaitable[Any]], tempo_body: Callable[[str], bytes]
) -> None:
    with pytest.raises(TempoQueryError) as caught:
        await replay(name)

    assert str(caught.value) == tempo_body(name).decode()
    assert caught.value.tempo_message == tempo_body(name).decode()
    assert caught.value.status == 400
    assert caught.value.url.startswith("http://tempo.test:3200/api/")


async def test_the_malformed_traceql_message_reaches_the_caller_unchanged(
    replay: Callable[[str], Awaitable[Any]],
) -> None:
    with pytest.raises(TempoQueryError) as caught:
        await replay("err_search_malformed_traceql.txt")

    assert str(caught.value) == (
        "invalid TraceQL query: parse error at line 1, col 12: syntax error: unexpected }"
    )


@pytest.mark.parametrize("name", ["err_trace_not_found.txt", "err_trace_v2_not_found.json"])
async def test_an_unknown_trace_is_trace_not_found(
    name: str, replay: Callable[[str], Awaitable[Any]]
) -> None:
    with pytest.raises(TraceNotFound) as caught:
        await replay(name)

    assert caught.value.trace_id == "0123456789abcdef0123456789abcdef"


async def test_an_unknown_route_is_endpoint_not_found(
    recorded: Callable[[str], httpx.Response],
    tempo_url: str,
    tempo_client: Callable[..., TempoClient],
) -> None:
    # An older Tempo, or a gateway path prefix left out: Go's router answers the same way.
    with respx.mock() as router:
        router.get(f"{tempo_url}/api/v2/search/tags").mock(
            return_value=recorded("err_unknown_path.txt")
        )
        async with tempo_client() as client:
            with pytest.raises(TempoEndpointNotFound) as caught:
                await client.tag_scopes()

    assert caught.value.url == f"{tempo_url}/api/v2/search/tags"


@pytest.mark.parametrize(
    "name",
    [
        "multitenancy/search_no_org_id.txt",
        "multitenancy/trace_v2_no_org_id.txt",
        "multitenancy/search_tags_v2_no_org_id.txt",
        "multitenancy/metrics_query_range_no_org_id.txt",
    ],
)
async def test_no_org_id_asks_for_a_tenant(
    name: str, replay: Callable[[str], Awaitable[Any]]
) -> None:
    with pytest.raises(TempoTenantRequired) as caught:
        await replay(name)

    message = str(caught.value)
    assert "X-Scope-OrgID" in message
    assert "--tenant" in message and "SPANWISE_TEMPO_TENANT" in message
    assert isinstance(caught.value, TempoAuthError)


@pytest.mark.parametrize("status", [401, 403])
async def test_other_refusals_are_auth_errors(
    status: int, tempo_url: str, tempo_client: Callable[..., TempoClient]
) -> None:
    # Not recorded (the test Tempo had no auth): a gateway refusing a token.
    with respx.mock() as router:
        router.get(f"{tempo_url}/api/search").respond(status, text="invalid token")
        async with tempo_client() as client:
            with pytest.raises(TempoAuthError) as caught:
                await client.search("{}")

    assert not isinstance(caught.value, TempoTenantRequired)
    assert caught.value.status == status
    assert "invalid token" in str(caught.value)
    assert "SPANWISE_TEMPO_TOKEN" in str(caught.value)


async def test_an_unexpected_status_is_a_response_error(
    tempo_url: str, tempo_client: Callable[..., TempoClient]
) -> None:
    with respx.mock() as router:
        router.get(f"{tempo_url}/api/echo").respond(418, text="teapot")
        async with tempo_client() as client:
            with pytest.raises(TempoResponseError, match="418 I'm a Teapot teapot"):
                await client.echo()


def test_every_error_is_a_tempo_error() -> None:
    for error in (
        TempoQueryError("x"),
        TempoTenantRequired(),
        TraceNotFound("1"),
        TempoEndpointNotFound(),
    ):
        assert isinstance(error, TempoError)
