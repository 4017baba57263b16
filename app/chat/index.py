"""The pattern index of the settings (``retrieval``), kept in step with classifications.

Built lazily: Chroma and the embedding model take a second or two to load, which only
commands that embed or search should pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import httpx

from app.classify.run import live_patterns
from app.classify.store import ClassificationStore
from app.discovery.store import PatternStore
from app.factory import tls_context
from app.settings import Settings

if TYPE_CHECKING:
    from retrieval.pattern_index import PatternIndex, SyncReport


class Retriever(Protocol):
    """``retrieve(text, n)``: ids of the patterns whose descriptions mean most like
    ``text``, nearest first; with ``max_distance``, only those that near (cosine)."""

    def __call__(self, text: str, n: int, max_distance: float = 2.0) -> list[int]: ...


def pattern_index(settings: Settings, tenant: str = "default") -> PatternIndex:
    from retrieval.embeddings import embedding_function
    from retrieval.pattern_index import PatternIndex, http_client, persistent_client

    if settings.chroma_url:
        token = settings.chroma_token.get_secret_value() if settings.chroma_token else None
        client = http_client(settings.chroma_url, token)
    else:
        client = persistent_client(settings.data_dir)
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    function = embedding_function(
        embedding_model=settings.embedding_model,
        api_key=key,
        base_url=settings.model_base_url,
        http_client=httpx.Client(timeout=settings.model_timeout_s, verify=tls_context()),
    )
    return PatternIndex(client, tenant, function)


def sync_index(settings: Settings, store: PatternStore, tenant: str = "default") -> SyncReport:
    """Embed the patterns whose description changed; drop the ones merged away."""
    from retrieval.pattern_index import described

    patterns = live_patterns(store.load(sketches=False))
    current = ClassificationStore(store).current(patterns)
    return pattern_index(settings, tenant).sync(described(patterns, current))


def retriever(settings: Settings, store: PatternStore, tenant: str = "default") -> Retriever:
    """Search by meaning; on first use the index opens and catches up with the store."""
    opened: list[PatternIndex] = []

    def retrieve(text: str, n: int, max_distance: float = 2.0) -> list[int]:
        if not opened:
            from retrieval.pattern_index import described

            index = pattern_index(settings, tenant)
            patterns = live_patterns(store.load(sketches=False))
            index.sync(described(patterns, ClassificationStore(store).current(patterns)))
            opened.append(index)
        hits = opened[0].search(text, n)
        return [hit.pattern_id for hit in hits if hit.distance <= max_distance]

    return retrieve
