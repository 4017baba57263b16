"""Typed answers of Tempo's HTTP API, modelled on bodies recorded from Tempo 2.10.8.

Tempo writes its answers with Go's protobuf JSON mapping, which explains three habits:
64-bit numbers come as strings (``"startTimeUnixNano": "1795274804770916851"``,
``"inspectedBytes": "853936"``); fields at their zero value are left out (a metrics sample
whose value is 0 has no ``value``, a search metric that is 0 is absent); and attribute values
are OTLP ``AnyValue`` objects. Search results and exemplars also drop a trace id's leading
zeros, so every id here is padded back to 32 characters.

The ``_Wire*`` structs mirror the JSON; ``parse_*`` turns them into the public structs.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

import msgspec

from connectors.otlp import InvalidId, normalize_trace_id
from connectors.spans import Attributes

# --- public results -------------------------------------------------------------------


class BuildInfo(msgspec.Struct, frozen=True):
    version: str
    revision: str = ""
    branch: str = ""
    build_user: str = ""
    build_date: str = ""
    go_version: str = ""


class Readiness(msgspec.Struct, frozen=True):
    """``/ready``: 200 ``ready`` once Tempo serves queries, 503 and a reason before."""

    is_ready: bool
    detail: str


class SearchSpan(msgspec.Struct, frozen=True, gc=False):
    """A span that matched a search: only its id and timing, plus ``select()``-ed attributes."""

    span_id: str
    start_unix_nano: int
    duration_ns: int
    attributes: Attributes


class SpanSet(msgspec.Struct, frozen=True):
    spans: list[SearchSpan]
    matched: int
    """How many spans matched; ``spans`` holds at most ``spss`` of them."""
    attributes: Attributes
    """Aggregates such as ``count()`` for queries that compute them."""


class ServiceStats(msgspec.Struct, frozen=True):
    span_count: int
    error_count: int


class TraceSummary(msgspec.Struct, frozen=True):
    """One trace of a search result."""

    trace_id: str
    root_service_name: str
    root_trace_name: str
    start_unix_nano: int
    duration_ms: int
    """Whole milliseconds, truncated by Tempo (a 20.757 ms trace says 20)."""
    span_sets: list[SpanSet]
    service_stats: dict[str, ServiceStats]

    @property
    def start_s(self) -> int:
        return self.start_unix_nano // 1_000_000_000


class QueryMetrics(msgspec.Struct, frozen=True):
    """How much work Tempo did; Tempo leaves out any that is 0."""

    inspected_traces: int = 0
    inspected_bytes: int = 0
    inspected_spans: int = 0
    total_blocks: int = 0
    completed_jobs: int = 0
    total_jobs: int = 0
    total_block_bytes: int = 0


class SearchResult(msgspec.Struct, frozen=True):
    traces: list[TraceSummary]
    metrics: QueryMetrics


class TagScope(msgspec.Struct, frozen=True):
    """Tag names of one scope: resource, span, event, link, instrumentation or intrinsic."""

    name: str
    tags: list[str]


class TagValue(msgspec.Struct, frozen=True):
    """A v2 tag value; ``type`` is string, int, float, bool, duration, status or keyword."""

    type: str
    value: str


class Sample(msgspec.Struct, frozen=True, gc=False):
    timestamp_ms: int
    value: float | None
    """None where Tempo sent no value: nothing counted in that step, or exactly 0 (protobuf
    JSON cannot tell the two apart)."""


class Exemplar(msgspec.Struct, frozen=True):
    labels: Attributes
    value: float | None
    timestamp_ms: int

    @property
    def trace_id(self) -> str | None:
        """The exemplar's trace, zero-padded (Tempo strips the leading zeros here too)."""
        raw = self.labels.get("trace:id")
        return _padded_or_none(raw) if isinstance(raw, str) else None


class MetricsSeries(msgspec.Struct, frozen=True):
    labels: Attributes
    samples: list[Sample]
    exemplars: list[Exemplar]


class MetricsRangeResult(msgspec.Struct, frozen=True):
    series: list[MetricsSeries]
    metrics: QueryMetrics


class InstantSeries(msgspec.Struct, frozen=True):
    labels: Attributes
    value: float | None


class MetricsInstantResult(msgspec.Struct, frozen=True):
    series: list[InstantSeries]
    metrics: QueryMetrics


# --- the JSON as Tempo writes it -----------------------------------------------------


class _WireKeyValue(msgspec.Struct):
    key: str
    value: dict[str, Any] = msgspec.field(default_factory=dict)


class _WireBuildInfo(msgspec.Struct, rename="camel"):
    version: str
    revision: str = ""
    branch: str = ""
    build_user: str = ""
    build_date: str = ""
    go_version: str = ""


class _WireSearchSpan(msgspec.Struct):
    span_id: str = msgspec.field(name="spanID")
    start_unix_nano: int = msgspec.field(name="startTimeUnixNano", default=0)
    duration_nanos: int = msgspec.field(name="durationNanos", default=0)
    attributes: list[_WireKeyValue] = msgspec.field(default_factory=list)


class _WireSpanSet(msgspec.Struct):
    spans: list[_WireSearchSpan] = msgspec.field(default_factory=list)
    matched: int = 0
    attributes: list[_WireKeyValue] = msgspec.field(default_factory=list)


class _WireServiceStats(msgspec.Struct, rename="camel"):
    span_count: int = 0
    error_count: int = 0


class _WireTrace(msgspec.Struct):
    trace_id: str = msgspec.field(name="traceID")
    root_service_name: str = msgspec.field(name="rootServiceName", default="")
    root_trace_name: str = msgspec.field(name="rootTraceName", default="")
    start_unix_nano: int = msgspec.field(name="startTimeUnixNano", default=0)
    duration_ms: int = msgspec.field(name="durationMs", default=0)
    span_set: _WireSpanSet | None = msgspec.field(name="spanSet", default=None)
    span_sets: list[_WireSpanSet] | None = msgspec.field(name="spanSets", default=None)
    service_stats: dict[str, _WireServiceStats] = msgspec.field(
        name="serviceStats", default_factory=dict
    )


class _WireMetrics(msgspec.Struct, rename="camel"):
    inspected_traces: int = 0
    inspected_bytes: int = 0
    inspected_spans: int = 0
    total_blocks: int = 0
    completed_jobs: int = 0
    total_jobs: int = 0
    total_block_bytes: int = 0


class _WireSearch(msgspec.Struct):
    traces: list[_WireTrace] = msgspec.field(default_factory=list)
    metrics: _WireMetrics = msgspec.field(default_factory=_WireMetrics)


class _WireTagNames(msgspec.Struct, rename="camel"):
    tag_names: list[str] = msgspec.field(default_factory=list)


class _WireTagScope(msgspec.Struct):
    name: str
    tags: list[str] = msgspec.field(default_factory=list)


class _WireTagScopes(msgspec.Struct):
    scopes: list[_WireTagScope] = msgspec.field(default_factory=list)


class _WireTagValuesV1(msgspec.Struct, rename="camel"):
    tag_values: list[str] = msgspec.field(default_factory=list)


class _WireTagValue(msgspec.Struct):
    type: str = ""
    value: str = ""


class _WireTagValuesV2(msgspec.Struct, rename="camel"):
    tag_values: list[_WireTagValue] = msgspec.field(default_factory=list)


class _WireSample(msgspec.Struct, rename="camel"):
    timestamp_ms: int = 0
    value: float | None = None


class _WireExemplar(msgspec.Struct, rename="camel"):
    labels: list[_WireKeyValue] = msgspec.field(default_factory=list)
    value: float | None = None
    timestamp_ms: int = 0


class _WireSeries(msgspec.Struct):
    labels: list[_WireKeyValue] = msgspec.field(default_factory=list)
    samples: list[_WireSample] = msgspec.field(default_factory=list)
    exemplars: list[_WireExemplar] = msgspec.field(default_factory=list)
    value: float | None = None


class _WireMetricsResult(msgspec.Struct):
    series: list[_WireSeries] = msgspec.field(default_factory=list)
    metrics: _WireMetrics = msgspec.field(default_factory=_WireMetrics)


_Wire = TypeVar("_Wire")


class MalformedBody(ValueError):
    """A body that is not the JSON shape Tempo answers with."""


# --- parsing ----------------------------------------------------------------------------


def parse_build_info(body: bytes) -> BuildInfo:
    wire = _decode(body, _WireBuildInfo)
    return BuildInfo(
        version=wire.version,
        revision=wire.revision,
        branch=wire.branch,
        build_user=wire.build_user,
        build_date=wire.build_date,
        go_version=wire.go_version,
    )


def parse_search(body: bytes) -> SearchResult:
    wire = _decode(body, _WireSearch)
    return SearchResult(traces=[_trace(t) for t in wire.traces], metrics=_metrics(wire.metrics))


def parse_tag_names(body: bytes) -> list[str]:
    return _decode(body, _WireTagNames).tag_names


def parse_tag_scopes(body: bytes) -> list[TagScope]:
    return [TagScope(s.name, s.tags) for s in _decode(body, _WireTagScopes).scopes]


def parse_tag_values(body: bytes) -> list[str]:
    return _decode(body, _WireTagValuesV1).tag_values


def parse_typed_tag_values(body: bytes) -> list[TagValue]:
    return [TagValue(v.type, v.value) for v in _decode(body, _WireTagValuesV2).tag_values]


def parse_metrics_range(body: bytes) -> MetricsRangeResult:
    wire = _decode(body, _WireMetricsResult)
    series = [
        MetricsSeries(
            labels=_attributes(s.labels),
            samples=[Sample(p.timestamp_ms, p.value) for p in s.samples],
            exemplars=[
                Exemplar(_attributes(e.labels), e.value, e.timestamp_ms) for e in s.exemplars
            ],
        )
        for s in wire.series
    ]
    return MetricsRangeResult(series=series, metrics=_metrics(wire.metrics))


def parse_metrics_instant(body: bytes) -> MetricsInstantResult:
    wire = _decode(body, _WireMetricsResult)
    series = [InstantSeries(_attributes(s.labels), s.value) for s in wire.series]
    return MetricsInstantResult(series=series, metrics=_metrics(wire.metrics))


def _decode(body: bytes, wire_type: type[_Wire]) -> _Wire:
    try:
        # strict=False reads protobuf JSON's quoted 64-bit integers and "NaN" as numbers.
        return msgspec.json.decode(body, type=wire_type, strict=False)
    except msgspec.ValidationError as exc:
        raise MalformedBody(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise MalformedBody(f"not JSON: {exc}") from None


def _trace(wire: _WireTrace) -> TraceSummary:
    if wire.span_sets is not None:
        span_sets = wire.span_sets
    else:
        span_sets = [wire.span_set] if wire.span_set is not None else []
    try:
        trace_id = normalize_trace_id(wire.trace_id)
    except InvalidId as exc:
        raise MalformedBody(f"$.traces[].traceID: {exc}") from None
    return TraceSummary(
        trace_id=trace_id,
        root_service_name=wire.root_service_name,
        root_trace_name=wire.root_trace_name,
        start_unix_nano=wire.start_unix_nano,
        duration_ms=wire.duration_ms,
        span_sets=[_span_set(s) for s in span_sets],
        service_stats={
            name: ServiceStats(stats.span_count, stats.error_count)
            for name, stats in wire.service_stats.items()
        },
    )


def _span_set(wire: _WireSpanSet) -> SpanSet:
    return SpanSet(
        spans=[
            SearchSpan(s.span_id, s.start_unix_nano, s.duration_nanos, _attributes(s.attributes))
            for s in wire.spans
        ],
        matched=wire.matched,
        attributes=_attributes(wire.attributes),
    )


def _metrics(wire: _WireMetrics) -> QueryMetrics:
    return QueryMetrics(
        inspected_traces=wire.inspected_traces,
        inspected_bytes=wire.inspected_bytes,
        inspected_spans=wire.inspected_spans,
        total_blocks=wire.total_blocks,
        completed_jobs=wire.completed_jobs,
        total_jobs=wire.total_jobs,
        total_block_bytes=wire.total_block_bytes,
    )


def _attributes(pairs: list[_WireKeyValue]) -> Attributes:
    return {pair.key: _any_value(pair.value) for pair in pairs}


def _any_value(value: dict[str, Any]) -> Any:
    """An OTLP AnyValue in protobuf JSON as a plain Python value (None when empty).

    Lenient on purpose: a value Spanwise cannot convert stays as Tempo wrote it rather than
    failing a whole search over one attribute.
    """
    for kind, raw in value.items():
        if kind == "intValue":
            try:
                return int(raw)
            except (TypeError, ValueError):
                return raw
        if kind == "doubleValue":
            try:
                return float(raw)
            except (TypeError, ValueError):
                return raw
        if kind == "bytesValue" and isinstance(raw, str):
            try:
                return base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                return raw
        if kind == "arrayValue" and isinstance(raw, dict):
            return [_any_value(v) for v in raw.get("values", []) if isinstance(v, dict)]
        if kind == "kvlistValue" and isinstance(raw, dict):
            return {
                kv["key"]: _any_value(kv.get("value", {}))
                for kv in raw.get("values", [])
                if isinstance(kv, dict) and "key" in kv
            }
        return raw
    return None


def _padded_or_none(raw: str) -> str | None:
    try:
        return normalize_trace_id(raw)
    except InvalidId:
        return None
