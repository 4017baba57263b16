"""Who may do what through the API: tokens off loopback, roles, tenants kept apart.

The app is built as ``spanwise serve --host 10.1.2.3`` builds it (an address that is not
loopback), and driven through FastAPI's real request handling.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.server import create_app
from app.auth.tokens import Role, TokenStore, auth_store_path
from app.classify.run import classify_patterns
from app.discovery.normalize import normalize
from app.discovery.run import DiscoveryRun, sample_batches, sample_source
from app.discovery.store import PatternStore
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings
from app.tenancy import tenant_store_path

SEED, TRACES = 7, 200
PUBLIC = {"/healthz", "/readyz"}


@pytest.fixture(scope="module")
def classified(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("acme") / "patterns.sqlite"
    store = PatternStore(path)
    run = DiscoveryRun(store, normalize, source=sample_source(SEED, TRACES))
    for batch in sample_batches(SEED, TRACES):
        run.accept(batch)
    run.finish()
    classify_patterns(store)
    store.close()
    return path


def build(data_dir: Path, **settings: Any) -> TestClient:
    summary = IngestSummary()
    options: dict[str, Any] = {"data_dir": data_dir, "host": "10.1.2.3", **settings}
    return TestClient(create_app(Settings(**options), SpanPipeline([summary]), summary))


@pytest.fixture
def served(tmp_path: Path, classified: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app off loopback; acme holds patterns, globex none; a token of each kind."""
    settings = Settings(data_dir=tmp_path)
    acme = tenant_store_path(settings, "acme")
    acme.parent.mkdir(parents=True)
    shutil.copy(classified, acme)
    tokens = TokenStore(auth_store_path(tmp_path))
    made = {
        "read": tokens.create("acme", Role.READ)[1],
        "write": tokens.create("acme", Role.WRITE)[1],
        "ingest": tokens.create("acme", Role.INGEST)[1],
        "globex": tokens.create("globex", Role.WRITE)[1],
    }
    tokens.close()
    with build(tmp_path) as client:
        yield client, made


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def concrete(path: str) -> str:
    return path.replace("{name}", "some_pattern").replace("{trace_id}", "0af7651916cd43dd")


def test_every_route_without_a_token_answers_401(served: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = served
    schema: dict[str, dict[str, Any]] = client.app.openapi()  # type: ignore[attr-defined]
    routes = [(m.upper(), path) for path, item in schema["paths"].items() for m in item]
    routes += [("GET", "/docs"), ("GET", "/openapi.json"), ("GET", "/redoc")]
    assert len(routes) > 10
    for method, path in routes:
        answer = client.request(method, concrete(path), json={})
        if path in PUBLIC:
            assert answer.status_code in (200, 503), path
        elif path.startswith("/slack/"):
            assert answer.status_code != 200, path  # Slack's signature, not a token
        else:
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert "spanwise tokens create" in answer.json()["detail"]
    assert client.get("/api/patterns", headers=bearer("sw_dead_beef")).status_code == 401


def test_roles_read_browse_and_ask_write_corrects_ingest_only_pushes(
    served: tuple[TestClient, dict[str, str]],
) -> None:
    client, token = served
    rows = client.get("/api/patterns", headers=bearer(token["read"])).json()
    assert rows
    name = rows[0]["name"]
    correction = {"field": "verdict", "value": "noise", "reason": "a probe"}
    path = f"/api/patterns/{name}/corrections"

    answer = client.post(path, json=correction, headers=bearer(token["read"]))
    assert answer.status_code == 403 and "read token" in answer.json()["detail"]
    asked = client.post("/api/chat", json={"question": f"@{name}"}, headers=bearer(token["read"]))
    assert asked.status_code == 200 and asked.json()["citations"][0]["pattern"] == name

    answer = client.post(path, json=correction, headers=bearer(token["write"]))
    assert answer.status_code == 201, answer.text
    assert answer.json()["correction"]["author"] == "api"

    assert client.get("/api/patterns", headers=bearer(token["ingest"])).status_code == 403
    pushed = client.post("/v1/traces", json={"resourceSpans": []}, headers=bearer(token["ingest"]))
    assert pushed.status_code not in (401, 403)
    assert client.post("/v1/traces", json={}, headers=bearer(token["read"])).status_code == 403


def test_a_tenant_cannot_reach_another_tenants_patterns(
    served: tuple[TestClient, dict[str, str]],
) -> None:
    client, token = served
    acme = client.get("/api/patterns", headers=bearer(token["read"])).json()
    name = acme[0]["name"]
    detail = client.get(f"/api/patterns/{name}", headers=bearer(token["read"])).json()
    trace_id = next(sample["trace_id"] for sample in detail["samples"]["typical"])
    other = bearer(token["globex"])

    assert client.get("/api/patterns", headers=other).json() == []
    assert client.get(f"/api/patterns/{name}", headers=other).status_code == 404
    corrected = client.post(
        f"/api/patterns/{name}/corrections",
        json={"field": "description", "value": "mine now"},
        headers=other,
    )
    assert corrected.status_code == 404
    assert client.get("/api/corrections", headers=other).json() == []
    asked = client.post("/api/chat", json={"question": f"@{name} error rate?"}, headers=other)
    assert asked.status_code == 200
    assert asked.json()["citations"] == [] and asked.json()["facts"] == []
    assert asked.json()["mentions"][0]["kind"] == "unknown"
    answer = client.get(f"/api/traces/{trace_id}", params={"source": "samples"}, headers=other)
    assert answer.status_code == 404
    # and acme still sees its own, unchanged
    assert client.get(f"/api/traces/{trace_id}", headers=bearer(token["read"])).status_code == 200
    again = client.get(f"/api/patterns/{name}", headers=bearer(token["read"])).json()
    assert again["classification"]["description"] != "mine now"


def test_the_page_cookie_works_but_not_from_another_site(
    served: tuple[TestClient, dict[str, str]],
) -> None:
    client, token = served
    client.cookies.set("spanwise_token", token["write"])
    name = client.get("/api/patterns").json()[0]["name"]
    body = {"field": "description", "value": "Serves product pages."}
    path = f"/api/patterns/{name}/corrections"
    forged = client.post(path, json=body, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403 and "cross-site" in forged.json()["detail"]
    assert client.post(path, json=body).status_code == 403  # no Origin or Referer at all
    same = client.post(path, json=body, headers={"Origin": "http://testserver"})
    assert same.status_code == 201, same.text


def test_on_loopback_it_runs_open_but_holds_a_presented_token_to_account(
    tmp_path: Path,
) -> None:
    with build(tmp_path, host="127.0.0.1") as client:
        assert client.get("/api/patterns").status_code == 200
        assert client.get("/api/patterns", headers=bearer("sw_x_y")).status_code == 401
    with build(tmp_path, host="127.0.0.1", auth_required=True) as client:
        assert client.get("/api/patterns").status_code == 401
    with build(tmp_path, allow_open=True) as client:  # 10.1.2.3, told explicitly
        assert client.get("/api/patterns").status_code == 200


def test_a_tenant_cannot_see_another_tenants_patterns_on_the_web_page(
    served: tuple[TestClient, dict[str, str]],
) -> None:
    client, token = served
    name = client.get("/api/patterns", headers=bearer(token["read"])).json()[0]["name"]
    html = {"Accept": "text/html"}
    mine = client.get(f"/patterns/{name}", headers={**html, **bearer(token["read"])})
    assert mine.status_code == 200 and name in mine.text
    theirs = client.get(f"/patterns/{name}", headers={**html, **bearer(token["globex"])})
    assert theirs.status_code == 404
    listing = client.get("/", headers={**html, **bearer(token["globex"])})
    assert listing.status_code == 200 and name not in listing.text
    names = client.get("/chat/names", params={"q": name[:6]}, headers=bearer(token["globex"]))
    assert name not in names.text


def _otlp(service: str) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "GET /acme-only",
                                "kind": 2,
                                "startTimeUnixNano": "1795274000000000000",
                                "endTimeUnixNano": "1795274000120000000",
                            }
                        ]
                    }
                ],
            }
        ]
    }


def test_no_route_shows_a_tenant_what_another_tenant_sent_or_holds(
    served: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    """Every GET route of the API's own schema, and the pages, asked with another tenant's
    token: nothing of acme's (its services, pattern names, trace ids) in any answer."""
    client, token = served
    tokens = TokenStore(auth_store_path(tmp_path))
    acme_ingest = tokens.create("acme", Role.INGEST)[1]
    globex_read = tokens.create("globex", Role.READ)[1]
    tokens.close()
    sent = client.post("/v1/traces", json=_otlp("acme-secret-service"), headers=bearer(acme_ingest))
    assert sent.status_code == 200, sent.text
    acme = client.get("/api/patterns", headers=bearer(token["read"])).json()
    name = acme[0]["name"]
    detail = client.get(f"/api/patterns/{name}", headers=bearer(token["read"])).json()
    trace_id = next(sample["trace_id"] for sample in detail["samples"]["typical"])
    names = {row["name"] for row in acme}
    # acme sees what it sent
    own = client.get("/api/ingest/summary", headers=bearer(token["read"])).text
    assert "acme-secret-service" in own

    schema: dict[str, dict[str, Any]] = client.app.openapi()  # type: ignore[attr-defined]
    paths = [path for path, item in schema["paths"].items() if "get" in item]
    paths += ["/", "/services", "/chat"]
    asked = 0
    for path in paths:
        if path in PUBLIC or path.startswith("/slack/"):
            continue
        url = path.replace("{name}", name).replace("{trace_id}", trace_id)
        answer = client.get(url, headers=bearer(globex_read))
        asked += 1
        # what the URL itself holds may be echoed ("no pattern named ..."): nothing else
        secrets = {"acme-secret-service", trace_id, *names} - {
            part for part in (name, trace_id) if part in url
        }
        leaked = sorted(s for s in secrets if s in answer.text)
        assert not leaked, (path, answer.status_code, leaked)
    assert asked >= 10


def test_open_on_loopback_it_answers_only_to_loopback_host_names(tmp_path: Path) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends that Host."""
    summary = IngestSummary()
    settings = Settings(data_dir=tmp_path, allowed_hosts=["spanwise.internal"])
    with TestClient(create_app(settings, SpanPipeline([summary]), summary)) as client:
        foreign = {"Host": "evil.example", "Origin": "http://evil.example"}
        answer = client.get("/api/patterns", headers=foreign)
        assert answer.status_code == 400 and "DNS rebinding" in answer.json()["detail"]
        corrected = client.post(
            "/api/patterns/anything/corrections",
            json={"field": "verdict", "value": "noise"},
            headers=foreign,
        )
        assert corrected.status_code == 400
        for host in ("localhost:8765", "127.0.0.1:8765", "[::1]:8765", "spanwise.internal"):
            assert client.get("/api/patterns", headers={"Host": host}).status_code == 200, host
    # with tokens required the guard is not needed: off loopback, any name is the proxy's
    with build(tmp_path) as served:
        assert served.get("/healthz", headers={"Host": "spanwise.example.com"}).status_code == 200
