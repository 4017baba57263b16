"""Tenants and credentials, as ``app.factory.build_tempo_client`` sets them up from Settings.

The multitenancy recordings come from a second Tempo 2.10.8 with ``multitenancy_enabled``:
tenant team-a holds 30 traces, team-b none.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.factory import NotConfigured, build_tempo_client
from app.settings import Settings
from connectors.tempo_errors import TempoTenantRequired, TraceNotFound

pytestmark = pytest.mark.anyio

Serve = Callable[[respx.MockRouter, str], respx.Route]
CallRecorded = Callable[[Any, str], Awaitable[Any]]
TEAM_A_TRACE = "6bcdcf547014b2fce1ecfcf814833575"


def settings(tempo_url: str, **values: Any) -> Settings:
    return Settings(tempo_url=tempo_url, **values)


@pytest.fixture
def team_a(tempo_manifest: Callable[[str], list[dict[str, Any]]]) -> dict[str, Any]:
    return {t["trace_id"]: t for t in tempo_manifest("multitenancy/manifest_team-a_seed99.json")}


async def test_without_a_tenant_data_endpoints_ask_for_one_and_echo_works(
    isolated_env: Path, serve: Serve, tempo_url: str
) -> None:
    with respx.mock() as router:
        serve(router, "multitenancy/echo_no_org_id.txt")
        serve(router, "multitenancy/buildinfo_no_org_id.json")
        serve(router, "multitenancy/search_no_org_id.txt")
        async with build_tempo_client(settings(tempo_url)) as client:
            assert await client.echo() == "echo"
            assert (await client.build_info()).version == "2.10.8"
            with pytest.raises(TempoTenantRequired):
                await client.search(
                    "{ status = error }", start=1795274652, end=1795275037, limit=3, spss=1
                )

    sent = [call.request.headers for call in router.calls]
    assert all("X-Scope-OrgID" not in headers for headers in sent)


@pytest.mark.parametrize(
    ("tenant", "recording", "traces"),
    [
        ("team-a", "multitenancy/search_org_team-a.json", 3),
        ("team-b", "multitenancy/search_org_team-b.json", 0),
        # Federation: one query over both tenants; Tempo ran twice as many jobs.
        ("team-a|team-b", "multitenancy/search_org_team-a_and_team-b.json", 3),
    ],
)
async def test_the_tenant_is_sent_as_x_scope_orgid(
    tenant: str,
    recording: str,
    traces: int,
    isolated_env: Path,
    serve: Serve,
    call_recorded: CallRecorded,
    tempo_url: str,
    team_a: dict[str, Any],
) -> None:
    with respx.mock() as router:
        route = serve(router, recording)  # answers only when X-Scope-OrgID is the recorded one
        async with build_tempo_client(settings(tempo_url, tempo_tenant=tenant)) as client:
            result = await call_recorded(client, recording)

    assert route.calls.last.request.headers["X-Scope-OrgID"] == tenant
    assert len(result.traces) == traces
    assert all(team_a[t.trace_id]["error"] for t in result.traces)


async def test_a_trace_is_found_only_in_its_own_tenant(
    isolated_env: Path, serve: Serve, tempo_url: str, team_a: dict[str, Any]
) -> None:
    with respx.mock() as router:
        serve(router, "multitenancy/trace_v2_org_team-a.json")
        async with build_tempo_client(settings(tempo_url, tempo_tenant="team-a")) as client:
            batch = await client.trace(TEAM_A_TRACE)
    with respx.mock() as router:
        serve(router, "multitenancy/trace_v2_org_team-b.json")
        async with build_tempo_client(settings(tempo_url, tempo_tenant="team-b")) as client:
            with pytest.raises(TraceNotFound):
                await client.trace(TEAM_A_TRACE)

    assert len(batch.spans) == team_a[TEAM_A_TRACE]["span_count"] == 28


async def test_tenant_tag_values_and_metrics(
    isolated_env: Path, serve: Serve, call_recorded: CallRecorded, tempo_url: str
) -> None:
    names = [
        "multitenancy/search_tag_values_v2_org_team-a.json",
        "multitenancy/metrics_query_range_org_team-a.json",
    ]
    with respx.mock() as router:
        for name in names:
            serve(router, name)
        async with build_tempo_client(settings(tempo_url, tempo_tenant="team-a")) as client:
            values, metrics = [await call_recorded(client, name) for name in names]

    assert "checkout" in {v.value for v in values}
    (series,) = metrics.series
    assert series.labels == {"__name__": "rate"}
    assert len(series.exemplars) == 6


@pytest.mark.parametrize(
    ("credentials", "authorization"),
    [
        ({"tempo_token": "s3cret"}, "Bearer s3cret"),
        (
            {"tempo_username": "user", "tempo_password": "pw"},
            "Basic " + base64.b64encode(b"user:pw").decode(),
        ),
        # Grafana Cloud: the instance id as username, the access token as password.
        (
            {"tempo_username": "123456", "tempo_token": "glc_token"},
            "Basic " + base64.b64encode(b"123456:glc_token").decode(),
        ),
        ({}, None),
    ],
)
async def test_credentials_become_the_authorization_header(
    credentials: dict[str, str],
    authorization: str | None,
    isolated_env: Path,
    recorded: Callable[[str], httpx.Response],
    tempo_url: str,
) -> None:
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/api/status/buildinfo").mock(
            return_value=recorded("buildinfo.json")
        )
        async with build_tempo_client(settings(tempo_url, **credentials)) as client:
            await client.build_info()

    assert route.calls.last.request.headers.get("Authorization") == authorization


async def test_timeouts_come_from_settings(
    isolated_env: Path, recorded: Callable[[str], httpx.Response], tempo_url: str
) -> None:
    config = settings(tempo_url, tempo_connect_timeout_s=2.5, tempo_read_timeout_s=42)
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/api/status/buildinfo").mock(
            return_value=recorded("buildinfo.json")
        )
        async with build_tempo_client(config) as client:
            await client.build_info()

    timeout = route.calls.last.request.extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (2.5, 42)


async def test_a_gateway_path_prefix_is_kept(
    isolated_env: Path, recorded: Callable[[str], httpx.Response]
) -> None:
    with respx.mock() as router:
        route = router.get("https://gateway.test/tempo/api/status/buildinfo").mock(
            return_value=recorded("buildinfo.json")
        )
        async with build_tempo_client(settings("https://gateway.test/tempo")) as client:
            await client.build_info()

    assert route.call_count == 1


def test_no_tempo_url_is_not_configured(isolated_env: Path) -> None:
    with pytest.raises(NotConfigured, match="SPANWISE_TEMPO_URL"):
        build_tempo_client(Settings())


async def test_the_factory_takes_a_transport(isolated_env: Path, tempo_url: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="echo\n")

    transport = httpx.MockTransport(answer)
    async with build_tempo_client(settings(tempo_url), transport=transport) as client:
        assert await client.echo() == "echo"
