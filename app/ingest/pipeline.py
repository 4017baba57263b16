"""Where spans go once they are in: every source (receiver, Tempo pull, files) feeds this."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from connectors.spans import Span


class SpanSink(Protocol):
    """A stage that takes spans in batches: the summary now, pattern discovery next."""

    def accept(self, spans: Sequence[Span]) -> None: ...


class SpanPipeline:
    """Hands every batch to each sink in turn, one batch at a time.

    Sinks keep state that is not thread-safe (sketches, counters); the receiver decodes in
    worker threads, so batches are serialized here rather than in every sink.
    """

    def __init__(self, sinks: Sequence[SpanSink]) -> None:
        self._sinks = list(sinks)
        self._lock = threading.Lock()

    def accept(self, spans: Sequence[Span]) -> None:
        if not spans:
            return
        with self._lock:
            for sink in self._sinks:
                sink.accept(spans)
