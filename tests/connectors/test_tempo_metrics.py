"""TraceQL metrics, range and instant, as Tempo 2.10.8 answered them for wave 2."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from itertools import pairwise
from typing import Any

import pytest
import respx

from connectors.tempo import TempoClient
from connectors.tempo_models import MetricsInstantResult, MetricsRangeResult

pytestmark = pytest.mark.anyio

Serve = Callable[[respx.MockRouter, str], respx.Route]
CallRecorded = Callable[[Any, str], Awaitable[Any]]
SERVICES = {"cart", "checkout", "frontend", "inventory", "notification", "payment"}


@pytest.fixture
def replay(
    serve: Serve, call_recorded: CallRecorded, tempo_client: Callable[..., TempoClient]
) -> Callable[[str], Any]:
    async def run(name: str) -> Any:
        with respx.mock() as router:
            serve(router, name)
            async with tempo_client() as client:
                return await call_recorded(client, name)

    return run


async def test_rate_by_service_has_one_series_per_service_and_empty_steps_without_value(
    replay: Callable[[str], Any],
) -> None:
    result = await replay("metrics_query_range_rate_by_service.json")

    assert isinstance(result, MetricsRangeResult)
    assert {s.labels["resource.service.name"] for s in result.series} == SERVICES
    cart = next(s for s in result.series if s.labels["resource.service.name"] == "cart")
    assert len(cart.samples) == 13
    steps = [b.timestamp_ms - a.timestamp_ms for a, b in pairwise(cart.samples)]
    assert set(steps) == {60_000}  # step=60s
    assert [s.value for s in cart.samples if s.value is not None] == [3.15, 6.966666666666667]
    assert cart.samples[0].value is None  # Tempo left "value" out
    assert result.metrics.completed_jobs == result.metrics.total_jobs == 1


async def test_quantiles_carry_the_quantile_label_and_exemplars_with_padded_trace_ids(
    replay: Callable[[str], Any], tempo_manifest: Callable[[str], list[dict[str, Any]]]
) -> None:
    result = await replay("metrics_query_range_p99_by_name.json")
    wave2 = {t["trace_id"] for t in tempo_manifest("manifest_wave2_seed7.json")}

    assert all(s.labels["p"] == 0.99 for s in result.series)
    assert "GET /products/:sku" in {s.labels["name"] for s in result.series}
    exemplars = [e for s in result.series for e in s.exemplars]
    assert len(exemplars) == 10
    # One exemplar's id lost its leading zero: 2ad9d2b0... is wave 2's 02ad9d2b0...
    assert "02ad9d2b004b7fd099df209bca5d5e7d" in {e.trace_id for e in exemplars}
    assert {e.trace_id for e in exemplars} <= wave2


async def test_error_counts_use_a_30s_step(replay: Callable[[str], Any]) -> None:
    result = await replay("metrics_query_range_errors_count.json")

    samples = result.series[0].samples
    assert {b.timestamp_ms - a.timestamp_ms for a, b in pairwise(samples)} == {30_000}
    counts = [s.value for series in result.series for s in series.samples if s.value]
    assert counts and all(count == int(count) for count in counts)


async def test_a_histogram_has_one_series_per_bucket(replay: Callable[[str], Any]) -> None:
    result = await replay("metrics_query_range_histogram.json")

    buckets = [s.labels["__bucket"] for s in result.series]
    assert len(buckets) == 11
    assert buckets == sorted(buckets) and buckets[0] == 0.000262144


async def test_a_window_without_recent_spans_has_no_series(replay: Callable[[str], Any]) -> None:
    result = await replay("metrics_query_range_old_window.json")

    assert result.series == []
    assert result.metrics.completed_jobs == 1 and result.metrics.total_jobs == 0


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("metrics_query_instant_rate_by_service.json", "resource.service.name"),
        ("metrics_query_instant_p99_by_name.json", "name"),
    ],
)
async def test_an_instant_query_gives_one_value_per_series(
    name: str, label: str, replay: Callable[[str], Any]
) -> None:
    result = await replay(name)

    assert isinstance(result, MetricsInstantResult)
    assert result.series and all(s.value is not None and s.value > 0 for s in result.series)
    assert all(label in s.labels for s in result.series)


async def test_the_instant_rate_matches_the_services(replay: Callable[[str], Any]) -> None:
    result = await replay("metrics_query_instant_rate_by_service.json")

    rates = {s.labels["resource.service.name"]: s.value for s in result.series}
    assert set(rates) == SERVICES
    assert rates["frontend"] == pytest.approx(3.2155172413793105)
