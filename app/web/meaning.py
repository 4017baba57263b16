"""Search by meaning for the patterns page, kept in step with the store.

The pattern index (Chroma and the embedding model) takes a second or two to open, so each
tenant's is opened once, on the first search, and kept. Before each search it catches up
with the store when another connection has committed since the last one (a correction
changed a description, a discovery run added patterns): only changed text is embedded again
(``PatternIndex.sync``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.chat.index import pattern_index
from app.classify.run import live_patterns
from app.classify.store import ClassificationStore
from app.discovery.store import PatternStore
from app.settings import Settings
from app.tenancy import tenant_store_path

if TYPE_CHECKING:
    from retrieval.pattern_index import PatternIndex


@dataclass
class _Opened:
    store: PatternStore
    index: PatternIndex
    synced_version: int | None = None


class MeaningSearch:
    """``search(tenant, text, n)``: ids of the live patterns nearest in meaning, nearest first."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._opened: dict[str, _Opened] = {}
        self._lock = threading.Lock()

    def search(self, tenant: str, text: str, n: int) -> list[int]:
        with self._lock:
            opened = self._opened.get(tenant)
            if opened is None:
                store = PatternStore(tenant_store_path(self._settings, tenant))
                opened = _Opened(store, pattern_index(self._settings, tenant))
                self._opened[tenant] = opened
            version = opened.store.data_version()
            if opened.synced_version != version:
                from retrieval.pattern_index import described

                patterns = live_patterns(opened.store.load(sketches=False))
                current = ClassificationStore(opened.store).current(patterns)
                opened.index.sync(described(patterns, current))
                opened.synced_version = version
            return [hit.pattern_id for hit in opened.index.search(text, n)]
