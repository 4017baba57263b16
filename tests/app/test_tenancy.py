"""Tenants end to end: the CLI works on one tenant's store, and Tempo is asked as that tenant."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import respx
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.api.server import create_app
from app.auth.tokens import Role, TokenStore, auth_store_path
from app.cli.main import cli
from app.discovery.run import pattern_store_path
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings
from app.tenancy import tenant_settings, tenant_store_path

WIDE = {"COLUMNS": "250"}
TEMPO_URL = "http://tempo.test:3200"
TRACE = "6bcdcf547014b2fce1ecfcf814833575"


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=WIDE)
    return result.exit_code, result.output


def app_for(settings: Settings) -> TestClient:
    summary = IngestSummary()
    return TestClient(create_app(settings, SpanPipeline([summary]), summary))


def test_the_cli_discovers_into_the_tenant_it_is_told_and_the_api_shows_it_to_that_tenant(
    tmp_path: Path,
) -> None:
    code, output = run(tmp_path, "--tenant", "team-a", "discover", "--sample", "--traces", "60")
    assert code == 0, output
    settings = Settings(data_dir=tmp_path, auth_required=True)
    assert tenant_store_path(settings, "team-a").exists()
    assert not pattern_store_path(tmp_path).exists()  # the default tenant got nothing

    code, output = run(tmp_path, "--tenant", "team-a", "patterns", "list")
    assert code == 0 and "checkout" in output
    code, output = run(tmp_path, "patterns", "list")
    assert code == 1 and "no patterns yet" in output
    code, output = run(tmp_path, "--tenant", "../up", "patterns", "list")
    assert code == 2 and "cannot name a tenant" in output

    tokens = TokenStore(auth_store_path(tmp_path))
    team_a = tokens.create("team-a", Role.READ)[1]
    default = tokens.create("default", Role.READ)[1]
    with app_for(settings) as client:
        seen = client.get("/api/patterns", headers={"Authorization": f"Bearer {team_a}"})
        unseen = client.get("/api/patterns", headers={"Authorization": f"Bearer {default}"})
    assert seen.status_code == 200 and len(seen.json()) > 10
    assert unseen.json() == []


def test_tempo_is_asked_with_the_tenants_own_org_id(
    tmp_path: Path,
    no_network: respx.MockRouter,
    serve: Callable[[respx.MockRouter, str], respx.Route],
) -> None:
    # Real answers of a multi-tenant Tempo: each recording answers only its X-Scope-OrgID.
    team_a = serve(no_network, "multitenancy/trace_v2_org_team-a.json")
    team_b = serve(no_network, "multitenancy/trace_v2_org_team-b.json")
    settings = Settings(
        data_dir=tmp_path,
        tempo_url=TEMPO_URL,
        tempo_tenant="ops",
        tempo_tenants={"blue": "team-b"},
        auth_required=True,
    )
    assert tenant_settings(settings, "default").tempo_tenant == "ops"
    tokens = TokenStore(auth_store_path(tmp_path))
    as_team_a = {"Authorization": f"Bearer {tokens.create('team-a', Role.READ)[1]}"}
    as_blue = {"Authorization": f"Bearer {tokens.create('blue', Role.READ)[1]}"}
    with app_for(settings) as client:
        a = client.get(f"/api/traces/{TRACE}", params={"source": "tempo"}, headers=as_team_a)
        assert a.status_code == 200, a.text
        assert team_a.call_count == 1 and team_b.call_count == 0
        # blue is team-b in Tempo, where this trace does not exist: Tempo itself says so
        b = client.get(f"/api/traces/{TRACE}", params={"source": "tempo"}, headers=as_blue)
        assert b.status_code == 404 and "Tempo has no trace" in b.json()["detail"]
        assert team_b.call_count == 1 and team_a.call_count == 1
