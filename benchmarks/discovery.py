"""Discovery speed and quality on the sample system, next to drain3 on the same spans.

Times normalize + cluster + statistics (span generation and decoding excluded) and, in the
same run, drain3's TemplateMiner on the same spans rendered as one log line each; prints
both rates and both cluster counts next to the true operation count. With ``--stream N`` it
then streams N spans through discovery alone and prints the peak resident memory.
``--system unfamiliar`` runs a system the discovery code never saw (``app.sample.unfamiliar``:
ids of shapes no rule knows, which discovery learns) instead of the sample system.

    python benchmarks/discovery.py [--spans 1000000] [--stream 10000000] [--system unfamiliar]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Iterator

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from app.discovery.cluster import PatternClusterer
from app.discovery.normalize import normalize
from app.sample import SampleConfig, generate_traces
from app.sample.unfamiliar import UnfamiliarConfig
from app.sample.unfamiliar import generate_traces as generate_unfamiliar
from connectors.spans import Span

_LINE_ATTRIBUTES = (
    "http.request.method",
    "http.method",
    "http.route",
    "url.full",
    "http.url",
    "url.path",
    "http.target",
    "server.address",
    "db.system",
    "db.query.text",
    "db.statement",
    "messaging.system",
    "messaging.destination.name",
    "messaging.operation",
    "rpc.service",
    "rpc.method",
)


def batches(
    span_count: int, seed: int, system: str = "sample"
) -> Iterator[tuple[list[Span], list[str]]]:
    """Batches of (spans, true labels) from the sample system (or the unfamiliar one), up to
    ``span_count`` spans."""
    produced = 0
    spans: list[Span] = []
    labels: list[str] = []
    if system == "unfamiliar":
        traces = generate_unfamiliar(
            UnfamiliarConfig(seed=seed, traces=span_count // 9 + 1, spread_s=86_400)
        )
    else:
        traces = generate_traces(SampleConfig(seed=seed, traces=span_count, spread_s=86_400))
    for trace in traces:
        for span in trace.spans:
            spans.append(span)
            labels.append(trace.truth[span.span_id])
        if len(spans) >= 20_000:
            yield spans, labels
            produced += len(spans)
            spans, labels = [], []
            if produced >= span_count:
                return
    if spans:
        yield spans, labels


def as_log_line(span: Span) -> str:
    """What a log-template miner gets to see of a span: its identity and semantic fields."""
    parts = [span.service_name, span.kind.label, span.name]
    attributes = span.attributes
    for key in _LINE_ATTRIBUTES:
        value = attributes.get(key)
        if value is not None:
            parts.append(f"{key}={value}")
    return " ".join(parts)


_DRAIN3_EXAMPLE_MASKING = (
    # drain3's own examples/drain3.ini, without its shell-command rule
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
)


def drain3_miners() -> dict[str, TemplateMiner]:
    """drain3 as it comes, and with the masking rules of its own example configuration."""
    plain = TemplateMinerConfig()
    plain.profiling_enabled = False
    masked = TemplateMinerConfig()
    masked.profiling_enabled = False
    masked.masking_instructions = [
        MaskingInstruction(pattern, mask) for pattern, mask in _DRAIN3_EXAMPLE_MASKING
    ]
    return {
        "drain3, default config": TemplateMiner(config=plain),
        "drain3, example masking": TemplateMiner(config=masked),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--stream", type=int, default=0, help="then stream this many spans")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--system", choices=["sample", "unfamiliar"], default="sample")
    args = parser.parse_args()

    clusterer = PatternClusterer(normalize)
    miners = drain3_miners()
    ours_s = 0.0
    drain_s = dict.fromkeys(miners, 0.0)
    total = 0
    truth: set[str] = set()
    for spans, labels in batches(args.spans, args.seed, args.system):
        lines = [as_log_line(span) for span in spans]
        started = time.perf_counter()
        clusterer.accept(spans)
        ours_s += time.perf_counter() - started
        for label, miner in miners.items():
            started = time.perf_counter()
            for line in lines:
                miner.add_log_message(line)
            drain_s[label] += time.perf_counter() - started
        total += len(spans)
        truth.update(labels)
    started = time.perf_counter()
    clusterer.finish()
    ours_s += time.perf_counter() - started

    print(f"{total:,} {args.system} spans, {len(truth)} true operations")
    ours = total / ours_s
    found = sum(1 for p in clusterer.patterns if p.merged_into is None)
    print(f"  {'spanwise discovery':<26} {ours:>10,.0f} spans/s {found:>6} patterns")
    for label, miner in miners.items():
        rate = total / drain_s[label]
        clusters = len(miner.drain.clusters)
        print(f"  {label:<26} {rate:>10,.0f} lines/s {clusters:>6} clusters")
    fastest = min(drain_s.values())
    if args.system == "sample":
        print(f"  speed ratio: {fastest / ours_s:.2f}x the faster drain3 (aim: at least 2x)")
    else:  # drain3's clusters are not operations here: its speed is no aim
        for label, seconds in drain_s.items():
            print(f"  speed ratio: {seconds / ours_s:.2f}x {label}")
    print(f"  peak RSS so far: {peak_rss_mb():,.0f} MB")

    if args.stream:
        streamed = 0
        clusterer = PatternClusterer(normalize)
        started = time.perf_counter()
        busy = 0.0
        for spans, _labels in batches(args.stream, args.seed + 1, args.system):
            tick = time.perf_counter()
            clusterer.accept(spans)
            busy += time.perf_counter() - tick
            streamed += len(spans)
        tick = time.perf_counter()
        clusterer.finish()
        busy += time.perf_counter() - tick
        wall = time.perf_counter() - started
        print(
            f"streamed {streamed:,} spans in {wall:,.0f} s "
            f"(discovery {streamed / busy:,.0f} spans/s): "
            f"{sum(1 for p in clusterer.patterns if p.merged_into is None)} patterns, "
            f"peak RSS {peak_rss_mb():,.0f} MB (aim: at most 500 MB)"
        )


if __name__ == "__main__":
    main()
