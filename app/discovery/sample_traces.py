"""The stored sample spans of one trace: what answers, pages and Slack show of a cited trace.

Discovery keeps sample spans per pattern (typical, slowest, erroring). A trace id found
among them is shown from them, each span with the service and pattern it belongs to, its
attributes redacted. Only the statistics whose bytes hold the trace id (ids are stored as
text) are decoded, and only as far as their samples: a trace is found among 10,000
patterns without decoding their sketches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from app.discovery.documents import sample_document
from app.discovery.store import PatternStore, StoredStatsSamples

_samples_decoder = msgspec.msgpack.Decoder(StoredStatsSamples)


def sample_trace(store: PatternStore, trace_id: str) -> list[dict[str, Any]]:
    """The stored sample spans of a trace, redacted, each with its service and pattern.

    What ``GET /api/traces/{trace_id}`` answers from the samples, in the same order: only
    the statistics whose bytes hold the trace id (ids are stored as text) are decoded, and
    only as far as their samples.
    """
    needle = trace_id.encode()
    cursor = store.connection.execute("SELECT name, service, stats FROM patterns ORDER BY id")
    found: dict[str, dict[str, Any]] = {}
    for name, service, data in cursor:
        if needle not in data:
            continue
        stats = _samples_decoder.decode(data)
        slowest = sorted(
            stats.slowest,
            key=lambda span: (span.end_unix_nano - span.start_unix_nano, span.span_id),
            reverse=True,
        )  # as ``PatternStats.slowest_spans`` orders them
        for span in [*stats.typical, *slowest, *stats.errors]:
            if span.trace_id == trace_id and span.span_id not in found:
                found[span.span_id] = {
                    **sample_document(span),
                    "service": str(service),
                    "pattern": str(name),
                }
    return sorted(found.values(), key=lambda span: span["start_unix_nano"])


def stored_trace(path: Path, trace_id: str) -> list[dict[str, Any]]:
    """``sample_trace`` in the store at ``path``; nothing when there is no store yet."""
    if not path.exists():
        return []
    store = PatternStore(path)
    try:
        return sample_trace(store, trace_id)
    finally:
        store.close()
