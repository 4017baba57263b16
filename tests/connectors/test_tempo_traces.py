"""Traces by id: v2 and the v1 fallback, JSON and protobuf, ids with or without leading zeros."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx

from connectors.spans import Span, SpanKind, StatusCode
from connectors.tempo import TempoClient
from connectors.tempo_errors import TempoEndpointNotFound, TraceNotFound

pytestmark = pytest.mark.anyio

Serve = Callable[[respx.MockRouter, str], respx.Route]
CallRecorded = Callable[[Any, str], Awaitable[Any]]

TRACE_IDS = {
    "checkout_ok": "c30f3c6921ffcf729b0fcaa7d56c478f",
    "checkout_err": "7f328d478d2a09fda59e98e97631148e",
    "checkout_slow": "f943375e141b9098889277fecf2e45ef",
    "notification": "f659f1886676cc7566995af51d24181c",
    "browse": "08e3f771b6dcbd05da9bccc1e71c681a",
    "leading_zero": "0b8b56f7ead44e111397a29f8d0df6f6",
}


@pytest.fixture
def span_counts(tempo_manifest: Callable[[str], list[dict[str, Any]]]) -> dict[str, int]:
    return {t["trace_id"]: t["span_count"] for t in tempo_manifest("manifest_wave1_seed42.json")}


def without_trace_v2(router: respx.MockRouter, recorded: Callable[[str], httpx.Response]) -> None:
    """An older Tempo: its router answers ``404 page not found`` for /api/v2/traces."""
    router.get(url__regex=r"/api/v2/traces/").mock(return_value=recorded("err_unknown_path.txt"))


def by_span_id(spans: list[Span]) -> dict[str, Span]:
    return {span.span_id: span for span in spans}


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("which", list(TRACE_IDS))
async def test_a_trace_by_id_has_every_span_the_generator_made(
    which: str,
    version: str,
    serve: Serve,
    recorded: Callable[[str], httpx.Response],
    tempo_client: Callable[..., TempoClient],
    span_counts: dict[str, int],
) -> None:
    trace_id = TRACE_IDS[which]
    with respx.mock() as router:
        if version == "v1":
            without_trace_v2(router, recorded)
        serve(router, f"trace_{version}_{which}.json")
        async with tempo_client() as tempo:
            batch = await tempo.trace(trace_id)

    assert batch.rejected == []
    assert len(batch.spans) == span_counts[trace_id]
    assert {span.trace_id for span in batch.spans} == {trace_id}
    assert len([span for span in batch.spans if span.is_root]) == 1


async def test_checkout_ok_has_28_spans_over_five_services(
    serve: Serve, tempo_client: Callable[..., TempoClient]
) -> None:
    with respx.mock() as router:
        serve(router, "trace_v2_checkout_ok.json")
        async with tempo_client() as tempo:
            batch = await tempo.trace(TRACE_IDS["checkout_ok"])

    assert len(batch.spans) == 28
    assert {span.service_name for span in batch.spans} == {
        "frontend",
        "checkout",
        "cart",
        "payment",
        "inventory",
    }


async def test_checkout_err_has_an_error_root(
    serve: Serve, tempo_client: Callable[..., TempoClient]
) -> None:
    with respx.mock() as router:
        serve(router, "trace_v2_checkout_err.json")
        async with tempo_client() as tempo:
            batch = await tempo.trace(TRACE_IDS["checkout_err"])

    (root,) = [span for span in batch.spans if span.is_root]
    assert root.status_code is StatusCode.ERROR
    assert root.attributes["http.response.status_code"] == 500


async def test_a_notification_is_a_consumer_trace_linked_to_its_checkout(
    serve: Serve, tempo_client: Callable[..., TempoClient]
) -> None:
    with respx.mock() as router:
        serve(router, "trace_v2_notification.json")
        async with tempo_client() as tempo:
            batch = await tempo.trace(TRACE_IDS["notification"])

    (root,) = [span for span in batch.spans if span.is_root]
    assert root.kind is SpanKind.CONSUMER
    (link,) = root.links
    assert link.trace_id != TRACE_IDS["notification"] and len(link.trace_id) == 32


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("which", ["checkout_ok", "notification"])
async def test_protobuf_gives_the_same_spans_as_json(
    which: str,
    version: str,
    serve: Serve,
    recorded: Callable[[str], httpx.Response],
    tempo_client: Callable[..., TempoClient],
) -> None:
    with respx.mock() as router:
        if version == "v1":
            without_trace_v2(router, recorded)
        # serve() requires the recorded Accept header: application/protobuf, or JSON.
        serve(router, f"trace_{version}_{which}_protobuf.pb")
        async with tempo_client() as tempo:
            from_protobuf = await tempo.trace(TRACE_IDS[which], protobuf=True)
    with respx.mock() as router:
        serve(router, f"trace_v2_{which}.json")
        async with tempo_client() as tempo:
            from_json = await tempo.trace(TRACE_IDS[which])

    assert len(from_protobuf.spans) == len(from_json.spans) > 0
    assert by_span_id(from_protobuf.spans) == by_span_id(from_json.spans)


@pytest.mark.parametrize(
    "asked",
    [
        "0b8b56f7ead44e111397a29f8d0df6f6",
        "b8b56f7ead44e111397a29f8d0df6f6",  # as search results give it
        "0B8B56F7EAD44E111397A29F8D0DF6F6",
    ],
)
async def test_ids_with_or_without_leading_zeros_fetch_the_same_trace(
    asked: str, serve: Serve, tempo_client: Callable[..., TempoClient]
) -> None:
    with respx.mock() as router:
        route = serve(router, "trace_v2_leading_zero.json")  # the padded id's request
        async with tempo_client() as tempo:
            batch = await tempo.trace(asked)

    assert route.call_count == 1
    assert {span.trace_id for span in batch.spans} == {"0b8b56f7ead44e111397a29f8d0df6f6"}


def test_tempo_answers_a_stripped_id_like_the_padded_one(
    tempo_body: Callable[[str], bytes],
) -> None:
    # Why padding is safe: the recording for the id without its leading 0 is the same trace.
    stripped = tempo_body("trace_v2_leading_zero_stripped.json")
    assert stripped == tempo_body("trace_v2_leading_zero.json")


async def test_start_and_end_are_sent_with_a_trace_request(
    serve: Serve,
    call_recorded: CallRecorded,
    recorded: Callable[[str], httpx.Response],
    tempo_client: Callable[..., TempoClient],
) -> None:
    with respx.mock() as router:
        without_trace_v2(router, recorded)
        serve(router, "trace_v1_with_range.json")  # /api/traces/<id>?start=...&end=...
        async with tempo_client() as tempo:
            batch = await call_recorded(tempo, "trace_v1_with_range.json")

    assert len(batch.spans) == 6


async def test_the_v1_fallback_is_remembered(
    serve: Serve,
    recorded: Callable[[str], httpx.Response],
    tempo_client: Callable[..., TempoClient],
) -> None:
    with respx.mock() as router:
        v2 = router.get(url__regex=r"/api/v2/traces/").mock(
            return_value=recorded("err_unknown_path.txt")
        )
        v1 = serve(router, "trace_v1_browse.json")
        async with tempo_client() as tempo:
            await tempo.trace(TRACE_IDS["browse"])
            await tempo.trace(TRACE_IDS["browse"])

    assert (v2.call_count, v1.call_count) == (1, 2)


async def test_a_tempo_with_v2_is_never_asked_v1(
    serve: Serve, tempo_client: Callable[..., TempoClient]
) -> None:
    with respx.mock(assert_all_called=False) as router:
        v1 = router.get(url__regex=r"/api/traces/")
        v2 = serve(router, "trace_v2_browse.json")
        async with tempo_client() as tempo:
            await tempo.trace(TRACE_IDS["browse"])

    assert (v2.call_count, v1.call_count) == (1, 0)


async def test_an_unknown_id_is_trace_not_found_in_v1_and_v2(
    serve: Serve,
    call_recorded: CallRecorded,
    recorded: Callable[[str], httpx.Response],
    tempo_client: Callable[..., TempoClient],
) -> None:
    unknown = "0123456789abcdef0123456789abcdef"
    with respx.mock() as router:
        serve(router, "err_trace_v2_not_found.json")  # 200 {"trace":{},"metrics":{}}
        async with tempo_client() as tempo:
            with pytest.raises(TraceNotFound, match=unknown) as v2_error:
                await tempo.trace(unknown)
    with respx.mock() as router:
        without_trace_v2(router, recorded)
        serve(router, "err_trace_not_found.txt")  # 404, empty body, no Content-Type
        async with tempo_client() as tempo:
            with pytest.raises(TraceNotFound, match=unknown) as v1_error:
                await tempo.trace(unknown)

    assert v2_error.value.trace_id == v1_error.value.trace_id == unknown


async def test_a_tempo_without_either_trace_api_says_so(
    recorded: Callable[[str], httpx.Response], tempo_client: Callable[..., TempoClient]
) -> None:
    with respx.mock() as router:
        router.get(url__regex=r"/api/(v2/)?traces/").mock(
            return_value=recorded("err_unknown_path.txt")
        )
        async with tempo_client() as tempo:
            with pytest.raises(TempoEndpointNotFound, match="path prefix"):
                await tempo.trace(TRACE_IDS["browse"])
