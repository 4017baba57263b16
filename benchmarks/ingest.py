"""How fast OTLP bytes become Spanwise spans, against the bare decode of the same bytes.

Prints spans/s for OTLP/JSON and protobuf: end to end into the span model, and the bare
rate of the fastest decoder of the same bytes (msgspec into typed OTLP-shaped structs for
JSON, the protobuf runtime for protobuf), with stdlib ``json.loads`` for reference. The bare
rate is the ceiling; the end-to-end rate should be at least 40% of it.

    python benchmarks/ingest.py [--spans 200000] [--batch 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app.sample import SampleConfig, generate_spans
from connectors.otlp import (
    decode_otlp_json,
    decode_otlp_protobuf,
    encode_otlp_json,
    encode_otlp_protobuf,
)
from connectors.otlp.json_schema import document_decoder


def make_batches(span_count: int, batch_size: int) -> tuple[list[bytes], list[bytes], int]:
    spans = []
    for span in generate_spans(SampleConfig(seed=7, traces=span_count)):
        spans.append(span)
        if len(spans) >= span_count:
            break
    chunks = [spans[i : i + batch_size] for i in range(0, len(spans), batch_size)]
    return (
        [encode_otlp_json(c) for c in chunks],
        [encode_otlp_protobuf(c) for c in chunks],
        len(spans),
    )


def best_rate(
    span_count: int, bodies: list[bytes], decode: Callable[[bytes], object], repeat: int
) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        for body in bodies:
            decode(body)
        best = min(best, time.perf_counter() - started)
    return span_count / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500, help="spans per OTLP document")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    json_bodies, pb_bodies, count = make_batches(args.spans, args.batch)
    mb_json = sum(map(len, json_bodies)) / 1e6
    mb_pb = sum(map(len, pb_bodies)) / 1e6
    print(
        f"{count} spans of the sample system in documents of {args.batch}: "
        f"{mb_json:.1f} MB as OTLP/JSON, {mb_pb:.1f} MB as protobuf; best of {args.repeat}"
    )

    rows = [
        ("json", "bare msgspec typed OTLP structs", document_decoder.decode, json_bodies),
        ("json", "bare stdlib json.loads", json.loads, json_bodies),
        ("json", "end to end into Span", decode_otlp_json, json_bodies),
        (
            "protobuf",
            "bare ExportTraceServiceRequest.FromString",
            ExportTraceServiceRequest.FromString,
            pb_bodies,
        ),
        ("protobuf", "end to end into Span", decode_otlp_protobuf, pb_bodies),
    ]
    rates: dict[tuple[str, str], float] = {}
    for fmt, label, decode, bodies in rows:
        rate = best_rate(count, bodies, decode, args.repeat)
        rates[(fmt, label)] = rate
        print(f"  {fmt:9} {label:45} {rate:>12,.0f} spans/s")
    json_share = (
        rates[("json", "end to end into Span")] / rates[("json", "bare msgspec typed OTLP structs")]
    )
    pb_share = (
        rates[("protobuf", "end to end into Span")]
        / rates[("protobuf", "bare ExportTraceServiceRequest.FromString")]
    )
    print(f"end to end / bare: json {json_share:.0%}, protobuf {pb_share:.0%} (aim: at least 40%)")


if __name__ == "__main__":
    main()
