"""Described span patterns in Chroma, one collection per tenant, searched by meaning.

A pattern's document is its name, description, service, operation and category; its
metadata carries service, kind, category, verdict and name, for filtering, and the sha256
of the document. ``PatternIndex.sync`` compares that hash with the stored one, so a
pattern is embedded again only when its text changed; a verdict changing alone updates the
metadata and embeds nothing. Ids are pattern ids as strings.

The collection remembers the embedding model that filled it; opening it with another
model (OpenAI after MiniLM, say) empties it, since vectors of two models cannot be
compared, and the next sync embeds everything again.

chromadb is imported inside the functions that need it (about a second), so importing this
module for its types is cheap.

Errors: ``ValueError`` for a tenant or server URL Chroma cannot use; Chroma's own errors
(``chromadb.errors.ChromaError`` and subclasses, ``ValueError`` for a server that answers
but refuses) pass through unchanged; an embedding function's errors too
(``retrieval.embeddings``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import httpx

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import Documents, EmbeddingFunction, Metadata

    from app.classify.store import StoredClassification
    from app.classify.verdict import Classification
    from app.discovery.patterns import SpanPattern

COLLECTION_PREFIX = "patterns_"
_MAX_COLLECTION_NAME = 512
_KEPT_IN_NAMES = re.compile(r"[A-Za-z0-9_]")
_PAGE = 1000
"""Ids read or written per Chroma call."""


@dataclass(frozen=True)
class SyncReport:
    added: int = 0
    updated: int = 0
    """Patterns whose text changed: embedded again."""
    relabeled: int = 0
    """Patterns whose metadata alone changed (a verdict, say): nothing embedded."""
    unchanged: int = 0
    removed: int = 0
    """Patterns no longer live: merged into others, or gone from the store."""

    @property
    def embedded(self) -> int:
        return self.added + self.updated


@dataclass(frozen=True)
class Hit:
    pattern_id: int
    name: str
    distance: float
    """Cosine distance: 0 is the same direction, 1 unrelated."""
    document: str
    metadata: Mapping[str, str]


def document_text(pattern: SpanPattern, classification: Classification) -> str:
    """What is embedded for a pattern: the words a person would search it by."""
    return (
        f"{pattern.name}\n{classification.description}\n"
        f"service: {pattern.service}; operation: {pattern.operation}; "
        f"category: {classification.category.value}"
    )


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pattern_metadata(
    pattern: SpanPattern, classification: Classification, text: str
) -> dict[str, str]:
    return {
        "name": pattern.name,
        "service": pattern.service,
        "kind": pattern.span_kind,
        "category": classification.category.value,
        "verdict": classification.verdict.value,
        "text_sha256": text_sha256(text),
    }


def described(
    patterns: Iterable[SpanPattern], classifications: Mapping[int, StoredClassification]
) -> list[tuple[SpanPattern, Classification]]:
    """The patterns that have a classification, with it: what ``PatternIndex.sync`` takes.

    Pass live patterns (``app.classify.run.live_patterns``): a merged pattern left out here
    is removed from the index by the next sync.
    """
    return [(p, classifications[p.id].classification) for p in patterns if p.id in classifications]


def collection_name(tenant: str) -> str:
    """``patterns_<tenant>``, within Chroma's rules for names, and never shared by two tenants.

    Letters, digits and ``_`` stay; any other character (and a last ``_``, since a name must
    end with a letter or digit) becomes ``-`` and the hex of its UTF-8 bytes, so ``team-a``
    is ``patterns_team-2da``. Each name decodes to one tenant only.
    """
    if not tenant:
        raise ValueError("a tenant is a non-empty string")
    parts: list[str] = []
    for position, char in enumerate(tenant):
        last = position == len(tenant) - 1
        if _KEPT_IN_NAMES.fullmatch(char) and not (last and char == "_"):
            parts.append(char)
        else:
            parts.extend(f"-{byte:02x}" for byte in char.encode("utf-8"))
    name = COLLECTION_PREFIX + "".join(parts)
    if len(name) > _MAX_COLLECTION_NAME:
        raise ValueError(
            f"tenant {tenant[:40]!r}... is too long for a Chroma collection name "
            f"({len(name)} characters of at most {_MAX_COLLECTION_NAME} once encoded)"
        )
    return name


def model_id(embedding_function: EmbeddingFunction[Documents]) -> str:
    """What identifies the vectors a function makes: its ``model_id``, else its name."""
    return str(getattr(embedding_function, "model_id", None) or embedding_function.name())


class PatternIndex:
    """One tenant's described patterns in a Chroma collection (cosine space)."""

    def __init__(
        self,
        client: ClientAPI,
        tenant: str = "default",
        embedding_function: EmbeddingFunction[Documents] | None = None,
    ) -> None:
        if embedding_function is None:
            from retrieval.embeddings import MiniLMInt8

            embedding_function = MiniLMInt8()
        self.tenant = tenant
        self.collection_name = collection_name(tenant)
        self.model_id = model_id(embedding_function)
        self._client = client
        self._embedding_function = embedding_function
        self.collection = self._open()

    def _open(self) -> Collection:
        from chromadb.errors import NotFoundError

        try:
            existing = self._client.get_collection(self.collection_name, embedding_function=None)
        except NotFoundError:
            existing = None
        if existing is not None and (existing.metadata or {}).get("model_id") != self.model_id:
            self._client.delete_collection(self.collection_name)
        # The function's default space (cosine for both of ours) becomes the collection's.
        return self._client.get_or_create_collection(
            self.collection_name,
            metadata={"tenant": self.tenant, "model_id": self.model_id},
            # Chroma types the parameter as a function of texts or images, which a function
            # of texts alone does not satisfy (its own examples ignore this too).
            embedding_function=self._embedding_function,  # type: ignore[arg-type]
        )

    def count(self) -> int:
        return self.collection.count()

    def stored(self) -> dict[str, Mapping[str, Any]]:
        """Every stored pattern's metadata, by id."""
        found: dict[str, Mapping[str, Any]] = {}
        offset = 0
        while True:
            page = self.collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            metadatas = page["metadatas"] or []
            found.update(zip(page["ids"], (m or {} for m in metadatas), strict=True))
            if len(page["ids"]) < _PAGE:
                return found
            offset += _PAGE

    def sync(self, patterns: Iterable[tuple[SpanPattern, Classification]]) -> SyncReport:
        """Make the collection hold exactly ``patterns``, embedding only changed text.

        ``patterns`` is every live described pattern of the tenant (``described``): stored
        ids not among them are removed. A sync that fails part way (an embedding model's
        error) keeps what it stored, and the next one embeds only the rest.
        """
        wanted: dict[str, tuple[str, dict[str, str]]] = {}
        for pattern, classification in patterns:
            text = document_text(pattern, classification)
            wanted[str(pattern.id)] = (text, pattern_metadata(pattern, classification, text))
        stored = self.stored()

        added: list[str] = []
        updated: list[str] = []
        relabeled: list[str] = []
        for pattern_id, (_, metadata) in wanted.items():
            before = stored.get(pattern_id)
            if before is None:
                added.append(pattern_id)
            elif before.get("text_sha256") != metadata["text_sha256"]:
                updated.append(pattern_id)
            elif any(before.get(key) != value for key, value in metadata.items()):
                relabeled.append(pattern_id)
        removed = [pattern_id for pattern_id in stored if pattern_id not in wanted]

        for batch in _batches(removed):
            self.collection.delete(ids=batch)
        for batch in _batches(added + updated):
            self.collection.upsert(
                ids=batch,
                documents=[wanted[i][0] for i in batch],
                metadatas=[cast("Metadata", wanted[i][1]) for i in batch],
            )
        for batch in _batches(relabeled):
            self.collection.update(
                ids=batch, metadatas=[cast("Metadata", wanted[i][1]) for i in batch]
            )
        return SyncReport(
            added=len(added),
            updated=len(updated),
            relabeled=len(relabeled),
            unchanged=len(wanted) - len(added) - len(updated) - len(relabeled),
            removed=len(removed),
        )

    def search(self, text: str, n: int = 5, where: Mapping[str, Any] | None = None) -> list[Hit]:
        """The ``n`` patterns nearest in meaning to ``text``, nearest first.

        ``where`` filters on metadata with Chroma's operators, e.g. ``{"verdict": "keep"}``
        or ``{"$and": [{"service": "payment"}, {"category": "http_call"}]}``.
        """
        size = self.collection.count()
        if n < 1 or size == 0:
            return []
        result = self.collection.query(
            query_texts=[text],
            n_results=min(n, size),
            where=cast(Any, where),
            include=["metadatas", "documents", "distances"],
        )
        ids = result["ids"][0]
        distances = (result["distances"] or [[]])[0]
        documents = (result["documents"] or [[]])[0]
        metadatas = (result["metadatas"] or [[]])[0]
        return [
            Hit(
                pattern_id=int(pattern_id),
                name=str(metadata.get("name", "")),
                distance=float(distance),
                document=document,
                metadata={key: str(value) for key, value in metadata.items()},
            )
            for pattern_id, distance, document, metadata in zip(
                ids, distances, documents, metadatas, strict=True
            )
        ]


def _batches(ids: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _PAGE):
        yield list(ids[start : start + _PAGE])


def _settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


def persistent_client(data_dir: Path) -> ClientAPI:
    """Chroma in ``data_dir/chroma``, in this process: the default, for one machine."""
    import chromadb

    return chromadb.PersistentClient(path=data_dir / "chroma", settings=_settings())


def server_address(url: str) -> tuple[str, int, bool]:
    """(host, port, TLS) of a Chroma server URL; the port defaults to 8000, or 443 with https."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"a Chroma server URL is http(s)://host[:port], not {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"a Chroma server URL has no path or query: {url!r}")
    ssl = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if ssl else 8000), ssl


CHROMA_CONNECT_TIMEOUT_S = 5.0
CHROMA_TIMEOUT_S = 60.0


def http_client(url: str, token: str | None = None) -> ClientAPI:
    """A Chroma server, for deployments; ``token`` is sent as a bearer token.

    Chroma's client waits for its server without a time limit: a server that stopped
    answering would hang every search. So the server's heartbeat is asked first, within
    ``CHROMA_CONNECT_TIMEOUT_S``, and the client's own HTTP session gets timeouts before
    any search goes through it. Chroma checks the server, its default tenant and database
    when the client is made.
    """
    import chromadb

    host, port, ssl = server_address(url)
    headers = {"Authorization": f"Bearer {token}"} if token else None
    heartbeat = f"{'https' if ssl else 'http'}://{host}:{port}/api/v2/heartbeat"
    try:
        httpx.get(heartbeat, headers=headers, timeout=CHROMA_CONNECT_TIMEOUT_S).raise_for_status()
    except httpx.HTTPError as exc:
        raise ConnectionError(
            f"the Chroma server at {url} does not answer its heartbeat ({type(exc).__name__}): "
            "check SPANWISE_CHROMA_URL, or unset it to keep embeddings in the data directory"
        ) from exc
    client = chromadb.HttpClient(
        host=host, port=port, ssl=ssl, headers=headers, settings=_settings()
    )
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(CHROMA_TIMEOUT_S, connect=CHROMA_CONNECT_TIMEOUT_S)
    return client
