"""The patterns API through FastAPI's real request handling, on a real pattern store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.server import create_app
from app.classify.run import PatternModel, Progress, classify_patterns
from app.classify.store import CORRECTABLE, ClassificationStore, Usage
from app.discovery.normalize import normalize
from app.discovery.patterns import SpanPattern
from app.discovery.run import DiscoveryRun, pattern_store_path, sample_batches, sample_source
from app.discovery.store import PatternStore
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings

SEED, TRACES = 5, 300
SECRET = "sk_live_51FAKE"
"""How the sample system's Stripe key starts; payment sends it in a captured header."""


def discover(path: Path, *, classify: bool) -> None:
    store = PatternStore(path)
    run = DiscoveryRun(store, normalize, source=sample_source(SEED, TRACES))
    for batch in sample_batches(SEED, TRACES):
        run.accept(batch)
    run.finish()
    if classify:
        classify_patterns(store)
    store.close()


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Stores built once per module; each test works on its own copy."""
    folder = tmp_path_factory.mktemp("templates")
    built = {"discovered": folder / "discovered.sqlite", "classified": folder / "classified.sqlite"}
    discover(built["discovered"], classify=False)
    discover(built["classified"], classify=True)
    return built


def app_on(data_dir: Path) -> TestClient:
    summary = IngestSummary()
    return TestClient(create_app(Settings(data_dir=data_dir), SpanPipeline([summary]), summary))


def client_for(tmp_path: Path, template: Path) -> Iterator[TestClient]:
    shutil.copy(template, pattern_store_path(tmp_path))
    with app_on(tmp_path) as client:
        yield client


@pytest.fixture
def client(tmp_path: Path, templates: dict[str, Path]) -> Iterator[TestClient]:
    yield from client_for(tmp_path, templates["classified"])


@pytest.fixture
def unclassified(tmp_path: Path, templates: dict[str, Path]) -> Iterator[TestClient]:
    yield from client_for(tmp_path, templates["discovered"])


def rows(client: TestClient, **params: str) -> list[dict[str, Any]]:
    answer = client.get("/api/patterns", params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def busiest(client: TestClient, service: str, kind: str) -> dict[str, Any]:
    return max(
        (r for r in rows(client, service=service) if r["span_kind"] == kind),
        key=lambda r: r["count"],
    )


def correct(client: TestClient, name: str, **body: str) -> Any:
    return client.post(f"/api/patterns/{name}/corrections", json=body)


def test_list_has_live_patterns_with_their_classification(client: TestClient) -> None:
    everything = rows(client)
    assert everything and all(r["count"] > 0 for r in everything)
    assert all(r["verdict"] in ("keep", "noise") and r["description"] for r in everything)
    payment = rows(client, service="payment")
    assert payment and {r["service"] for r in payment} == {"payment"}
    assert {r["name"] for r in payment} < {r["name"] for r in everything}


def test_an_unclassified_pattern_shows_without_classification_and_cannot_be_corrected(
    unclassified: TestClient,
) -> None:
    row = busiest(unclassified, "frontend", "server")
    assert row["verdict"] is None and row["description"] is None
    answer = unclassified.get(f"/api/patterns/{row['name']}")
    assert answer.status_code == 200
    assert answer.json()["classification"] is None and answer.json()["aliases"] == []

    answer = correct(unclassified, row["name"], field="verdict", value="noise", reason="probe")
    assert answer.status_code == 409
    assert "run `spanwise classify`" in answer.json()["detail"]
    assert unclassified.get("/api/corrections").json() == []


def test_an_unknown_name_is_a_404_that_suggests_close_names(client: TestClient) -> None:
    name = busiest(client, "frontend", "server")["name"]
    for answer in (
        client.get(f"/api/patterns/{name[:-1]}"),
        correct(client, name[:-1], field="verdict", value="noise", reason="probe"),
    ):
        assert answer.status_code == 404
        assert answer.json()["detail"].startswith(f"no pattern named {name[:-1]!r}")
        assert name in answer.json()["detail"]
    answer = client.get("/api/patterns/zzzz_nothing_like_it")
    assert answer.status_code == 404 and "did you mean" not in answer.json()["detail"]


def test_samples_are_redacted(client: TestClient, tmp_path: Path) -> None:
    store = PatternStore(pattern_store_path(tmp_path))
    stored = [p for p in store.load() if p.service == "payment"]
    store.close()
    # the point of the test: the raw samples in the store do hold the key
    assert any(SECRET in repr(p.stats.typical + p.stats.errors) for p in stored)
    for pattern in stored:
        if pattern.stats.count:
            answer = client.get(f"/api/patterns/{pattern.name}")
            assert answer.status_code == 200
            assert SECRET not in answer.text
    assert SECRET not in client.get("/api/patterns").text


def test_a_correction_answers_201_and_survives_a_restart(
    client: TestClient, tmp_path: Path
) -> None:
    name = busiest(client, "frontend", "server")["name"]
    answer = correct(
        client,
        name,
        field="verdict",
        value="noise",
        reason="only the load balancer calls it",
        author="sre-on-call",
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["correction"]["pattern"] == name
    assert body["correction"]["field"] == "verdict" and body["correction"]["value"] == "noise"
    assert body["correction"]["author"] == "sre-on-call"
    assert body["correction"]["reason"] == "only the load balancer calls it"
    assert body["correction"]["created_at"]
    assert body["pattern"]["classification"]["verdict"] == "noise"
    # The person's reason is the verdict's reasoning now, and kept as theirs.
    assert body["pattern"]["classification"]["person_fields"] == ["reasoning", "verdict"]
    assert body["pattern"]["classification"]["reasoning"] == "only the load balancer calls it"

    with app_on(tmp_path) as restarted:
        again = restarted.get(f"/api/patterns/{name}").json()["classification"]
        assert again["verdict"] == "noise"
        assert again["person_fields"] == ["reasoning", "verdict"]
        listed = restarted.get("/api/corrections").json()
        assert [(c["pattern"], c["author"], c["reason"]) for c in listed] == [
            (name, "sre-on-call", "only the load balancer calls it")
        ]
    store = PatternStore(pattern_store_path(tmp_path))
    corrections = ClassificationStore(store).corrections()
    store.close()
    assert [(c.field, c.value, c.author) for c in corrections] == [
        ("verdict", "noise", "sre-on-call")
    ]


class RewritingModel(PatternModel):
    """A model that answers every pattern the same way, unlike the offline rules."""

    model = "fake-model"
    prompt_version = "test"

    def classify(
        self,
        patterns: list[SpanPattern],
        graph: Mapping[int, SpanPattern],
        usage: Usage,
        on_progress: Progress | None = None,
    ) -> dict[int, dict[str, str]]:
        return {
            p.id: {
                "name": f"model_pattern_{p.id}",
                "description": f"The model's description of {p.operation}.",
                "category": "internal",
                "verdict": "keep",
                "reasoning": "The model's reasoning.",
            }
            for p in patterns
        }


def test_fields_a_person_set_survive_a_later_classification_and_the_rest_update(
    client: TestClient, tmp_path: Path
) -> None:
    corrected = busiest(client, "frontend", "server")["name"]
    other = busiest(client, "payment", "server")["name"]
    for field, value in (
        ("verdict", "noise"),
        ("description", "The storefront's product page."),
        ("name", "frontend_product_page"),
    ):
        assert correct(client, corrected, field=field, value=value, reason="r").status_code == 201
        corrected = "frontend_product_page" if field == "name" else corrected

    store = PatternStore(pattern_store_path(tmp_path))
    classify_patterns(store, model=RewritingModel())
    store.close()

    kept = client.get(f"/api/patterns/{corrected}").json()["classification"]
    assert kept["name"] == "frontend_product_page"
    assert kept["verdict"] == "noise"
    assert kept["description"] == "The storefront's product page."
    assert kept["reasoning"] == "r"  # the person's reason for their verdict
    assert kept["category"] == "internal"  # not set by a person: updated
    assert kept["source"] == "model"
    assert kept["person_fields"] == ["description", "name", "reasoning", "verdict"]
    updated = client.get(f"/api/patterns/{other}").json()["classification"]
    assert updated["description"].startswith("The model's description of")
    assert updated["name"] == other  # classified before: a name stays


def test_a_renamed_pattern_keeps_its_old_name_and_no_one_else_can_take_it(
    client: TestClient,
) -> None:
    old = busiest(client, "frontend", "server")["name"]
    other = busiest(client, "payment", "server")["name"]
    answer = correct(client, old, field="name", value="frontend_product_page", author="ana")
    assert answer.status_code == 201, answer.text
    assert answer.json()["pattern"]["name"] == "frontend_product_page"
    assert old in answer.json()["pattern"]["aliases"]

    by_old = client.get(f"/api/patterns/{old}")
    assert by_old.status_code == 200
    assert by_old.json()["name"] == "frontend_product_page"
    assert old not in {r["name"] for r in rows(client)}

    taken = correct(client, other, field="name", value=old)
    assert taken.status_code == 409
    assert taken.json()["detail"] == (
        f"{old!r} is an old name of frontend_product_page and keeps meaning it; choose another name"
    )
    taken = correct(client, other, field="name", value="frontend_product_page")
    assert taken.status_code == 409 and "already another pattern's name" in taken.json()["detail"]
    # a correction through an old name reaches the pattern
    assert correct(client, old, field="category", value="client").status_code == 201
    after = client.get("/api/patterns/frontend_product_page").json()["classification"]
    assert after["category"] == "client"


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"field": "colour", "value": "red"}, 422, "Input should be 'name'"),
        ({"field": "verdict", "value": "maybe", "reason": "r"}, 400, "not one of keep, noise"),
        ({"field": "verdict", "value": "noise"}, 400, "say why in `reason`"),
        ({"field": "verdict", "value": "noise", "reason": "  "}, 400, "say why in `reason`"),
        ({"field": "category", "value": "database"}, 400, "'database' is not one of"),
        ({"field": "name", "value": "Product Page"}, 400, "is not a valid name"),
        # snake_case means single underscores
        ({"field": "name", "value": "product__page"}, 400, "is not a valid name"),
        ({"field": "description", "value": "   "}, 400, "a description cannot be empty"),
        ({"field": "reasoning", "value": ""}, 400, "a reasoning cannot be empty"),
        ({"field": "description", "value": "x" * 401}, 422, "at most 400 characters"),
        ({"field": "verdict"}, 422, "Field required"),
        # a misspelt key is refused, not ignored
        ({"field": "verdict", "value": "noise", "reasno": "r"}, 422, "Extra inputs"),
    ],
)
def test_a_correction_spanwise_cannot_make_is_refused_and_changes_nothing(
    client: TestClient, body: dict[str, str], status: int, detail: str
) -> None:
    name = busiest(client, "frontend", "server")["name"]
    before = client.get(f"/api/patterns/{name}").json()
    answer = correct(client, name, **body)
    assert answer.status_code == status, answer.text
    assert detail in str(answer.json()["detail"])
    assert client.get(f"/api/patterns/{name}").json() == before
    assert client.get("/api/corrections").json() == []


def test_the_schema_documents_the_bodies(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/api/patterns/{name}/corrections"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/CorrectionIn"
    )
    assert {"201", "400", "404", "409", "422"} <= set(post["responses"])
    fields = schema["components"]["schemas"]["CorrectionIn"]["properties"]["field"]
    assert sorted(fields["enum"]) == sorted(CORRECTABLE)


def test_the_api_says_whether_it_runs_offline(tmp_path: Path) -> None:
    offline = Settings(data_dir=tmp_path)
    app = create_app(offline, SpanPipeline([]), IngestSummary())
    body = TestClient(app).get("/api/status").json()
    assert body["mode"] == "offline" and "OPENAI_API_KEY" in body["note"]

    local = Settings(data_dir=tmp_path, model_base_url="http://ollama.local:11434/v1")
    body = TestClient(create_app(local, SpanPipeline([]), IngestSummary())).get("/api/status")
    assert body.json() == {
        "mode": "model",
        "model": "gpt-4o-mini",
        "endpoint": "ollama.local:11434",
    }
