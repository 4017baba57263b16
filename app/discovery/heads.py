"""Every pattern's head: identity, graph edges, counts and p50/p99, without decoding it whole.

``PatternStore.load`` decodes every pattern whole: sample spans, duration sketches and
timelines, about 3 s for 10,000 patterns, most of it for data a list never shows. A head
reads only the leading fields of the stored statistics (``app.discovery.store``'s
``_StoredStats``) and computes the two quantiles from the encoded sketch buckets
(``encode_sketch``) without building a ``DDSketch``: about 0.3 s for 10,000 patterns. The
numbers are those of ``pattern_row`` to the last digit (a test compares every pattern).
Lists read heads: the API's ``GET /api/patterns`` and the explorer's pages.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import msgspec

from app.discovery.sketches import _FORMAT, _MAPPING, _codec_decoder, decode_sketch
from app.discovery.store import PatternStore, StoredStatsHead

_head_decoder = msgspec.msgpack.Decoder(StoredStatsHead)


@dataclass(frozen=True, slots=True)
class PatternHead:
    """A pattern as lists, the service map and links need it: no samples, no sketch."""

    id: int
    name: str
    service: str
    span_kind: str
    family: str
    operation: str
    matcher_fields: tuple[str, ...]
    merged_into: int | None
    parents: Mapping[int, int]
    children: Mapping[int, int]
    hints: Mapping[str, str]
    """What the operation was read from: ``system``, ``peer``, ``target``..."""
    count: int
    error_count: int
    first_seen_unix_nano: int
    last_seen_unix_nano: int
    p50_ms: float
    p99_ms: float

    @property
    def live(self) -> bool:
        """Not merged away, and seen at least once (a split empties the pattern split)."""
        return self.merged_into is None and self.count > 0

    @property
    def error_rate(self) -> float:
        return self.error_count / self.count if self.count else 0.0

    def row(self) -> dict[str, Any]:
        """The short form of ``app.discovery.documents.pattern_row``, for lists."""
        return {
            "name": self.name,
            "service": self.service,
            "span_kind": self.span_kind,
            "operation": self.operation,
            "count": self.count,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "error_rate": round(self.error_rate, 6),
        }


_HEAD_COLUMNS = (
    "SELECT id, name, service, span_kind, family, operation, matcher_fields, merged_into, "
    "parents, children, hints, stats FROM patterns"
)


def heads_where(
    store: PatternStore, where: str, params: Sequence[object] = ()
) -> list[PatternHead]:
    """The heads of the patterns an SQL ``WHERE`` clause over the patterns table picks."""
    return _heads(store, f"{_HEAD_COLUMNS} WHERE {where}", params)


def stored_count(stats: bytes) -> int:
    """The span count of a pattern's stored statistics, read without decoding the rest."""
    return _head_decoder.decode(stats).count


def read_heads(store: PatternStore) -> list[PatternHead]:
    """Every pattern, merged ones included, by id."""
    return _heads(store, f"{_HEAD_COLUMNS} ORDER BY id")


def read_heads_by_id(store: PatternStore, ids: Iterable[int]) -> dict[int, PatternHead]:
    wanted = sorted(set(ids))
    found: dict[int, PatternHead] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for head in _heads(store, f"{_HEAD_COLUMNS} WHERE id IN ({marks})", chunk):
            found[head.id] = head
    return found


def _heads(store: PatternStore, query: str, params: Sequence[object] = ()) -> list[PatternHead]:
    heads = []
    for row in store.connection.execute(query, params):
        stats = _head_decoder.decode(row[11])
        p50, p99 = encoded_quantiles_ms(stats.sketch, (0.5, 0.99))
        heads.append(
            PatternHead(
                id=int(row[0]),
                name=str(row[1]),
                service=str(row[2]),
                span_kind=str(row[3]),
                family=str(row[4]),
                operation=str(row[5]),
                matcher_fields=_fields_decoder.decode(row[6]),
                merged_into=None if row[7] is None else int(row[7]),
                parents=_edges_decoder.decode(row[8]),
                children=_edges_decoder.decode(row[9]),
                hints=_hints_decoder.decode(row[10]),
                count=stats.count,
                error_count=stats.error_count,
                first_seen_unix_nano=stats.first_seen_unix_nano,
                last_seen_unix_nano=stats.last_seen_unix_nano,
                p50_ms=round(p50, 3),
                p99_ms=round(p99, 3),
            )
        )
    return heads


_edges_decoder = msgspec.json.Decoder(dict[int, int])
_hints_decoder = msgspec.json.Decoder(dict[str, str])
_fields_decoder = msgspec.json.Decoder(tuple[str, ...])


def encoded_quantiles_ms(data: bytes, quantiles: tuple[float, ...]) -> list[float]:
    """Quantiles of an encoded duration sketch, as ``DDSketch.get_quantile_value`` gives them.

    DDSketch's rule: the value at rank ``q * (count - 1)`` is the zero bucket's while the
    rank is below its count, else the value of the first bucket whose running count passes
    it. Sketches in DDSketch's protobuf (written before Spanwise's own encoding) are decoded.
    """
    if not data.startswith(_FORMAT):
        sketch = decode_sketch(data)
        return [float(sketch.get_quantile_value(q) or 0.0) for q in quantiles]
    zero_count, buckets = _codec_decoder.decode(data[len(_FORMAT) :])
    if not buckets:
        return [0.0 for _ in quantiles]
    running = list(accumulate((count for _, count in buckets), initial=zero_count))
    total = running[-1]
    found = []
    for quantile in quantiles:
        rank = quantile * (total - 1)
        if rank < zero_count:
            found.append(0.0)
            continue
        # the first bucket whose running count passes the rank: running[i + 1] > rank
        index = min(bisect_right(running, rank) - 1, len(buckets) - 1)
        found.append(float(_MAPPING.value(buckets[index][0])))
    return found
