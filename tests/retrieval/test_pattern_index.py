"""The sample system's described patterns in a real Chroma on a temporary directory."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from chromadb.api import ClientAPI
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.api.types import Documents, Embedding, EmbeddingFunction, Embeddings, Space

from app.classify.run import live_patterns
from app.classify.verdict import Classification, Verdict
from app.discovery.patterns import SpanPattern
from app.discovery.rederive import merge
from retrieval.embeddings import MiniLMInt8
from retrieval.pattern_index import (
    PatternIndex,
    collection_name,
    described,
    document_text,
    persistent_client,
)

Described = list[tuple[SpanPattern, Classification]]


class CountingMiniLM(EmbeddingFunction[Documents]):
    """The shared MiniLM, counting the texts Chroma asks it to embed.

    Vectors are remembered by text across tests (the model gives the same text the same
    vector), which keeps this module fast: each test embeds the sample system afresh.
    """

    model_id = MiniLMInt8.model_id

    def __init__(self, inner: MiniLMInt8, memo: dict[str, Embedding]) -> None:
        self.inner = inner
        self.memo = memo
        self.texts: list[str] = []

    def __call__(self, input: Documents) -> Embeddings:
        self.texts.extend(input)
        new = [text for text in dict.fromkeys(input) if text not in self.memo]
        if new:
            self.memo.update(zip(new, self.inner(new), strict=True))
        return [self.memo[text] for text in input]

    @staticmethod
    def name() -> str:
        return MiniLMInt8.name()

    def get_config(self) -> dict[str, Any]:
        return self.inner.get_config()

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMInt8:
        return MiniLMInt8.build_from_config(config)

    def default_space(self) -> Space:
        return "cosine"


class OtherModel(CountingMiniLM):
    """Vectors of another model: not comparable with MiniLM's."""

    model_id = "another-model"


@pytest.fixture
def client(tmp_path: Path) -> ClientAPI:
    return persistent_client(tmp_path)


@pytest.fixture(scope="module")
def memo() -> dict[str, Embedding]:
    return {}


@pytest.fixture
def counting(minilm: MiniLMInt8, memo: dict[str, Embedding]) -> CountingMiniLM:
    return CountingMiniLM(minilm, memo)


@pytest.fixture
def patterns(sample: Any) -> list[SpanPattern]:
    """Every pattern, copied: a test may merge or rename them."""
    return copy.deepcopy(sample.patterns)


def live_described(patterns: list[SpanPattern], sample: Any) -> Described:
    return described(live_patterns(patterns), sample.classifications)


def named(pairs: Described, name: str) -> tuple[SpanPattern, Classification]:
    return next(pair for pair in pairs if pair[0].name == name)


def test_first_sync_embeds_every_described_pattern_once(
    client: ClientAPI, counting: CountingMiniLM, patterns: list[SpanPattern], sample: Any
) -> None:
    pairs = live_described(patterns, sample)
    index = PatternIndex(client, embedding_function=counting)

    report = index.sync(pairs)

    assert report.added == len(pairs) == len(counting.texts) == index.count() > 100
    assert (report.updated, report.relabeled, report.removed) == (0, 0, 0)
    pattern, classification = named(pairs, "http_call_stripe_post_charges")
    stored = index.collection.get(ids=[str(pattern.id)], include=["documents", "metadatas"])
    assert stored["documents"] == [document_text(pattern, classification)]
    assert stored["metadatas"] is not None
    assert {k: v for k, v in stored["metadatas"][0].items() if k != "text_sha256"} == {
        "name": "http_call_stripe_post_charges",
        "service": "payment",
        "kind": "client",
        "category": "http_call",
        "verdict": "keep",
    }


def test_the_document_is_name_description_service_operation_and_category(
    patterns: list[SpanPattern], sample: Any
) -> None:
    pattern, classification = named(live_described(patterns, sample), "postgres_query_commit")
    assert document_text(pattern, classification) == (
        "postgres_query_commit\n"
        f"{classification.description}\n"
        "service: inventory; operation: postgresql COMMIT; category: db_query"
    )


def test_a_second_sync_embeds_nothing(
    client: ClientAPI, counting: CountingMiniLM, patterns: list[SpanPattern], sample: Any
) -> None:
    pairs = live_described(patterns, sample)
    index = PatternIndex(client, embedding_function=counting)
    index.sync(pairs)
    counting.texts.clear()

    report = index.sync(pairs)

    assert counting.texts == []
    assert report.unchanged == len(pairs) and report.embedded == 0


def test_a_changed_description_embeds_only_that_pattern(
    client: ClientAPI, counting: CountingMiniLM, patterns: list[SpanPattern], sample: Any
) -> None:
    pairs = live_described(patterns, sample)
    index = PatternIndex(client, embedding_function=counting)
    index.sync(pairs)
    counting.texts.clear()
    pattern, classification = named(pairs, "http_call_stripe_post_charges")
    corrected = classification.model_copy(
        update={"description": "Charges the customer's card at Stripe."}
    )
    changed = [(p, corrected if p is pattern else c) for p, c in pairs]

    report = index.sync(changed)

    assert counting.texts == [document_text(pattern, corrected)]
    assert (report.updated, report.added, report.removed) == (1, 0, 0)
    assert index.search("charge the customer's card at Stripe", 1)[0].pattern_id == pattern.id


def test_a_new_verdict_updates_metadata_without_embedding(
    client: ClientAPI, counting: CountingMiniLM, patterns: list[SpanPattern], sample: Any
) -> None:
    pairs = live_described(patterns, sample)
    index = PatternIndex(client, embedding_function=counting)
    index.sync(pairs)
    counting.texts.clear()
    pattern, classification = named(pairs, "http_server_frontend_get_readyz")
    kept = classification.model_copy(update={"verdict": Verdict.KEEP})

    report = index.sync([(p, kept if p is pattern else c) for p, c in pairs])

    assert counting.texts == [] and report.relabeled == 1
    hits = index.search("readiness probe", 20, where={"verdict": "noise"})
    assert pattern.id not in {hit.pattern_id for hit in hits}


def test_merged_patterns_leave_the_index(
    client: ClientAPI, counting: CountingMiniLM, patterns: list[SpanPattern], sample: Any
) -> None:
    index = PatternIndex(client, embedding_function=counting)
    index.sync(live_described(patterns, sample))
    source = next(p for p in patterns if p.name == "redis_cache_get_search")
    counting.texts.clear()

    merge(patterns, [source.name], into="redis_cache_setex_search")
    report = index.sync(live_described(patterns, sample))

    assert report.removed == 1 and counting.texts == []
    assert index.collection.get(ids=[str(source.id)])["ids"] == []
    assert source.id not in {hit.pattern_id for hit in index.search("search cache", 20)}


def test_tenants_are_isolated(
    client: ClientAPI, counting: CountingMiniLM, patterns: list[SpanPattern], sample: Any
) -> None:
    pairs = live_described(patterns, sample)
    payment = [pair for pair in pairs if pair[0].service == "payment"]
    cart = [pair for pair in pairs if pair[0].service == "cart"]
    team_a = PatternIndex(client, "team-a", embedding_function=counting)
    team_b = PatternIndex(client, "team_a", embedding_function=counting)  # one character apart
    team_a.sync(payment)
    team_b.sync(cart)

    assert team_a.collection_name != team_b.collection_name
    assert (team_a.count(), team_b.count()) == (len(payment), len(cart))
    assert {hit.metadata["service"] for hit in team_b.search("charge a card at Stripe", 50)} == {
        "cart"
    }
    # Syncing one tenant never removes another's patterns, though their ids overlap.
    team_b.sync(payment)
    assert team_a.count() == len(payment)


def test_the_index_persists_across_a_new_client(
    tmp_path: Path, counting: CountingMiniLM, patterns: list[SpanPattern], sample: Any
) -> None:
    pairs = live_described(patterns, sample)
    PatternIndex(persistent_client(tmp_path), embedding_function=counting).sync(pairs)
    counting.texts.clear()
    SharedSystemClient.clear_system_cache()  # the next client opens the files afresh

    reopened = PatternIndex(persistent_client(tmp_path), embedding_function=counting)

    assert (tmp_path / "chroma" / "chroma.sqlite3").is_file()
    assert reopened.count() == len(pairs)
    assert reopened.sync(pairs).embedded == 0 and counting.texts == []
    assert reopened.search("publish placed orders to kafka", 1)[0].name == (
        "kafka_publish_orders_placed"
    )


def test_another_embedding_model_starts_the_collection_again(
    client: ClientAPI, counting: CountingMiniLM, patterns: list[SpanPattern], sample: Any
) -> None:
    pairs = live_described(patterns, sample)
    PatternIndex(client, embedding_function=counting).sync(pairs)

    other = OtherModel(counting.inner, counting.memo)
    index = PatternIndex(client, embedding_function=other)

    assert index.count() == 0
    assert index.sync(pairs).added == len(pairs) == len(other.texts)
    assert PatternIndex(client, embedding_function=other).count() == len(pairs)


def test_semantic_search_finds_the_stripe_charge(
    client: ClientAPI, counting: CountingMiniLM, patterns: list[SpanPattern], sample: Any
) -> None:
    index = PatternIndex(client, embedding_function=counting)
    index.sync(live_described(patterns, sample))

    hits = index.search("payment provider charge card", 3)

    assert "http_call_stripe_post_charges" in [hit.name for hit in hits]
    assert [hit.distance for hit in hits] == sorted(hit.distance for hit in hits)
    hnsw = index.collection.configuration["hnsw"]
    assert hnsw is not None and hnsw["space"] == "cosine"


def test_search_filters_on_metadata(
    client: ClientAPI, counting: CountingMiniLM, patterns: list[SpanPattern], sample: Any
) -> None:
    index = PatternIndex(client, embedding_function=counting)
    index.sync(live_described(patterns, sample))

    noise = index.search("health check", 50, where={"verdict": "noise"})
    payment_calls = index.search(
        "customers", 50, where={"$and": [{"service": "payment"}, {"category": "http_call"}]}
    )

    assert noise and all(
        hit.name.endswith(("healthz", "readyz", "liveness", "readiness", "static")) for hit in noise
    )
    assert {hit.name for hit in payment_calls} >= {
        "http_call_stripe_post_charges",
        "http_call_stripe_get_customers",
    }
    assert all(hit.metadata["service"] == "payment" for hit in payment_calls)


def test_an_empty_index_finds_nothing(client: ClientAPI, counting: CountingMiniLM) -> None:
    index = PatternIndex(client, "empty", embedding_function=counting)
    assert index.search("anything") == []
    assert index.sync([]).removed == 0


@pytest.mark.parametrize(
    ("tenant", "name"),
    [
        ("default", "patterns_default"),
        ("Team_A", "patterns_Team_A"),
        ("team-a", "patterns_team-2da"),  # '-' escapes, so it is never confused with "team_a"
        ("a.b", "patterns_a-2eb"),
        ("a/b", "patterns_a-2fb"),
        ("ops_", "patterns_ops-5f"),  # a name must end with a letter or digit
        ("équipe", "patterns_-c3-a9quipe"),
        ("x" * 503, "patterns_" + "x" * 503),
    ],
)
def test_tenant_collection_names(tenant: str, name: str, client: ClientAPI) -> None:
    assert collection_name(tenant) == name
    client.create_collection(name, embedding_function=None)  # Chroma accepts it


@pytest.mark.parametrize("tenant", ["", "x" * 504, "é" * 200])
def test_tenants_that_cannot_name_a_collection_are_refused(tenant: str) -> None:
    with pytest.raises(ValueError, match="tenant"):
        collection_name(tenant)
