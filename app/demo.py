"""The main job on built-in data: the sample system sent through Spanwise's own receiver.

It runs exactly what a real deployment runs: the sample system's spans leave as OTLP/HTTP
(protobuf and JSON, gzip, as SDK exporters send them), cross a real socket into the
receiver, are decoded and handed to the pipeline, where discovery turns them into span
patterns saved in the data directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from app.api.background import serve_in_background
from app.api.server import create_app
from app.discovery.normalize import normalize
from app.discovery.patterns import SpanPattern
from app.discovery.run import DiscoveryRun, RunReport, pattern_store_path, sample_source
from app.discovery.store import PatternStore
from app.ingest.otlp_sender import export_spans
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.sample import Fault, SampleConfig, generate_traces
from app.settings import Settings
from connectors.spans import Span

ProgressCallback = Callable[[float, int, int], None]
"""Called with (share of the sample's time window sent, traces sent, spans sent).

The sample system adds traces of its own (Kafka consumers, health checks) to the requests
it was asked for, so the share of its time window is the honest measure of progress.
"""

SPANS_PER_REQUEST = 1000


@dataclass
class DemoReport:
    traces_sent: int
    spans_sent: int
    spans_accepted: int
    spans_rejected: int
    seconds: float
    receiver_url: str
    summary: dict[str, Any]
    """The receiver's ``/api/ingest/summary`` answer, as JSON."""
    discovery: RunReport
    patterns: list[SpanPattern]
    store_path: str


def run_demo(
    settings: Settings,
    http: httpx.Client,
    *,
    traces: int,
    seed: int,
    faults: tuple[Fault, ...] = (),
    on_progress: ProgressCallback | None = None,
) -> DemoReport:
    summary = IngestSummary()
    store = PatternStore(pattern_store_path(settings.data_dir))
    # The spans arrive through the receiver, but they are the sample system's: replayable.
    discovery = DiscoveryRun(store, normalize, source=sample_source(seed, traces, faults))
    pipeline = SpanPipeline([summary, discovery])
    app = create_app(settings, pipeline, summary)
    started = time.perf_counter()
    traces_sent = spans_sent = accepted = rejected = 0
    requests_sent = 0
    with serve_in_background(app) as base_url:
        url = f"{base_url}/v1/traces"

        def flush(batch: list[Span]) -> None:
            nonlocal accepted, rejected, requests_sent
            # Alternate encodings so both of the receiver's decoders are exercised.
            result = export_spans(http, url, batch, protobuf=requests_sent % 2 == 0, compress=True)
            requests_sent += 1
            accepted += result.accepted
            rejected += result.rejected

        batch: list[Span] = []
        config = SampleConfig(seed=seed, traces=traces, faults=faults)
        window_start_ns = config.end_time_unix_nano - int(config.spread_s * 1e9)
        window_ns = max(int(config.spread_s * 1e9), 1)
        share = 0.0
        for trace in generate_traces(config):
            batch.extend(trace.spans)
            traces_sent += 1
            spans_sent += len(trace.spans)
            if len(batch) >= SPANS_PER_REQUEST:
                flush(batch)
                batch = []
                if on_progress is not None:
                    root_start = min(span.start_unix_nano for span in trace.spans)
                    share = min(max((root_start - window_start_ns) / window_ns, share), 1.0)
                    on_progress(share, traces_sent, spans_sent)
        if batch:
            flush(batch)
        if on_progress is not None:
            on_progress(1.0, traces_sent, spans_sent)
        answer = http.get(f"{base_url}/api/ingest/summary")
        answer.raise_for_status()
        arrived = answer.json()
    found = discovery.finish()
    store.close()
    return DemoReport(
        traces_sent=traces_sent,
        spans_sent=spans_sent,
        spans_accepted=accepted,
        spans_rejected=rejected,
        seconds=time.perf_counter() - started,
        receiver_url=url,
        summary=arrived,
        discovery=found,
        patterns=discovery.patterns,
        store_path=str(store.path),
    )
