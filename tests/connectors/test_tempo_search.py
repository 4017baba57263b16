"""TraceQL and legacy search, replaying every recorded search answer of Tempo 2.10.8."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import respx

from connectors.tempo import TempoClient
from connectors.tempo_errors import TempoResponseError
from connectors.tempo_models import SearchResult

pytestmark = pytest.mark.anyio

SEARCHES = [
    "search_all.json",
    "search_status_error.json",
    "search_checkout_slow.json",
    "search_structural_server_desc_error.json",
    "search_select_route.json",
    "search_db_slow.json",
    "search_limit3_spss1.json",
    "search_no_range.json",
    "search_count_agg.json",
    "search_legacy_tags_service.json",
    "search_legacy_tags_http500.json",
]

Serve = Callable[[respx.MockRouter, str], respx.Route]
CallRecorded = Callable[[Any, str], Awaitable[Any]]
Search = Callable[[str], Awaitable[Any]]


@pytest.fixture
def ground_truth(tempo_manifest: Callable[[str], list[dict[str, Any]]]) -> dict[str, Any]:
    """Both waves' traces by full trace id."""
    traces = tempo_manifest("manifest_wave1_seed42.json") + tempo_manifest(
        "manifest_wave2_seed7.json"
    )
    return {t["trace_id"]: t for t in traces}


@pytest.fixture
def search(
    serve: Serve, call_recorded: CallRecorded, tempo_client: Callable[..., TempoClient]
) -> Callable[[str], Awaitable[Any]]:
    """Send a recorded search through TempoClient; answer only that exact request."""

    async def run(name: str) -> Any:
        with respx.mock() as router:
            serve(router, name)
            async with tempo_client() as client:
                return await call_recorded(client, name)

    return run


@pytest.mark.parametrize("name", SEARCHES)
async def test_every_recorded_search_gives_padded_ids_that_match_the_generator(
    name: str,
    search: Search,
    tempo_body: Callable[[str], bytes],
    ground_truth: dict[str, Any],
) -> None:
    result = await search(name)

    raw = json.loads(tempo_body(name))["traces"]
    assert isinstance(result, SearchResult)
    assert len(result.traces) == len(raw) > 0
    for summary, wire in zip(result.traces, raw, strict=True):
        truth = ground_truth[summary.trace_id]  # KeyError: an id the generator never made
        assert len(summary.trace_id) == 32
        assert summary.trace_id.lstrip("0") == wire["traceID"].lstrip("0")
        assert summary.root_service_name == truth["root_service"]
        assert summary.root_trace_name == truth["root_name"]
        assert summary.start_unix_nano == int(truth["start_unix_nano"])
        assert summary.duration_ms == int(truth["duration_ms"])  # Tempo truncates


async def test_search_all_pads_ids_that_lost_one_or_two_leading_zeros(
    search: Search,
) -> None:
    result = await search("search_all.json")

    first = result.traces[0]
    assert first.trace_id == "0067d1d57ed891a08cbbbcad32660912"  # Tempo sent 30 characters
    assert "013dbe57b1fa2ee0e2877087eee6f8ee" in {t.trace_id for t in result.traces}  # 31
    assert first.start_s == 1795274804
    assert first.service_stats["frontend"].span_count == 7
    assert [len(s.spans) for s in first.span_sets] == [3]  # spss=3
    assert first.span_sets[0].matched == 10
    assert first.span_sets[0].spans[0].duration_ns == 5606061
    metrics = result.metrics
    assert (metrics.inspected_bytes, metrics.total_blocks, metrics.total_jobs) == (853936, 1, 4)
    assert metrics.total_block_bytes == 4232028


async def test_every_trace_found_by_status_error_has_an_error_span(
    search: Search, ground_truth: dict[str, Any]
) -> None:
    result = await search("search_status_error.json")

    assert len(result.traces) == 20
    assert all(ground_truth[t.trace_id]["error"] for t in result.traces)
    assert all(
        sum(stats.error_count for stats in t.service_stats.values()) >= 1 for t in result.traces
    )
    spans = [span for t in result.traces for s in t.span_sets for span in s.spans]
    assert {span.attributes["status"] for span in spans} == {"error"}


async def test_select_adds_typed_span_attributes(
    search: Search,
) -> None:
    result = await search("search_select_route.json")

    span = result.traces[0].span_sets[0].spans[0]
    assert span.attributes == {
        "service.name": "frontend",
        "kind": "server",
        "http.response.status_code": 200,  # intValue "200" becomes an int
        "http.route": "/search",
    }


async def test_aggregate_queries_carry_the_aggregate_on_the_span_set(
    search: Search,
) -> None:
    result = await search("search_count_agg.json")

    for trace in result.traces:
        (span_set,) = trace.span_sets
        assert span_set.attributes["count()"] == span_set.matched > 3


async def test_spss_bounds_the_spans_of_each_span_set(
    search: Search,
) -> None:
    slow_db = await search("search_db_slow.json")
    small = await search("search_limit3_spss1.json")

    db_spans = [span for t in slow_db.traces for s in t.span_sets for span in s.spans]
    assert all(len(s.spans) <= 5 for t in slow_db.traces for s in t.span_sets)
    assert all(span.duration_ns > 500_000_000 for span in db_spans)
    assert len(small.traces) == 3
    assert all(len(s.spans) == 1 for t in small.traces for s in t.span_sets)


async def test_legacy_tag_search_sends_logfmt_tags_and_has_no_span_sets(
    search: Search,
) -> None:
    by_service = await search("search_legacy_tags_service.json")
    http500 = await search("search_legacy_tags_http500.json")

    assert len(by_service.traces) == 10
    assert all(100 <= t.duration_ms <= 10_000 for t in by_service.traces)  # min/maxDuration
    assert len(http500.traces) == 7
    assert http500.metrics.inspected_traces == 9600  # more than the 3600 stored: per job
    for trace in by_service.traces + http500.traces:
        assert trace.span_sets == [] and trace.service_stats == {}


async def test_a_search_without_a_window_sends_no_start_or_end(
    search: Search,
) -> None:
    # serve() matches the recorded query exactly, so an added start/end would not be answered.
    result = await search("search_no_range.json")

    assert len(result.traces) == 5
    assert result.metrics.total_blocks == 0  # only recent data was searched


async def test_a_body_without_tempos_shape_is_a_response_error(
    tempo_url: str, tempo_client: Callable[..., TempoClient]
) -> None:
    with respx.mock() as router:
        router.get(f"{tempo_url}/api/search").respond(200, text="<html>Bad gateway</html>")
        async with tempo_client() as client:
            with pytest.raises(TempoResponseError, match="does not look like Tempo's"):
                await client.search("{}")
