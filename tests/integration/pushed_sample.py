"""The sample system's spans, pushed to a real Tempo as an SDK exporter would push them.

The spans carry current timestamps (ending a moment ago), so that Tempo makes them searchable
within seconds and its metrics-generator, which keeps only recent spans, counts them; fixed
older timestamps would wait some 75 s for a block to be cut and flushed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.ingest.otlp_sender import export_spans
from app.sample import SampleConfig, generate_traces
from app.sample.unfamiliar import UnfamiliarConfig
from app.sample.unfamiliar import generate_traces as generate_unfamiliar
from connectors.otlp import encode_otlp_json
from connectors.spans import Span
from tests.integration.tempo_oracle import instant_count, org_id_headers, poll, search_trace_ids
from tests.integration.tempo_process import TempoInstance

SPANS_PER_REQUEST = 1000
ENDS_BEFORE_NOW_S = 2
INGEST_TIMEOUT_S = 120
"""Searchable in 10-15 s on a 2-core machine; a loaded CI machine gets much more room."""


@dataclass(frozen=True)
class PushedSample:
    """What went into Tempo: every trace's spans, and a window holding all of them."""

    traces: dict[str, list[Span]]
    start_s: int
    end_s: int
    """Every span starts and ends in ``[start_s, end_s)`` (unix seconds)."""
    org_id: str | None = None

    @property
    def spans(self) -> Iterator[Span]:
        for spans in self.traces.values():
            yield from spans

    @property
    def span_count(self) -> int:
        return sum(len(spans) for spans in self.traces.values())

    @property
    def window_options(self) -> list[str]:
        """``--start``/``--end`` for the CLI."""
        return ["--start", str(self.start_s), "--end", str(self.end_s)]

    def differences(self, pulled: Mapping[str, list[Span]]) -> list[str]:
        """What a pull of these traces got wrong: traces missing or never pushed, spans
        missing, added or changed on the way (Tempo keeps every field OTLP carries)."""
        if self.traces.keys() != pulled.keys():
            return [
                f"{len(self.traces.keys() - pulled.keys())} pushed traces missing, "
                f"{len(pulled.keys() - self.traces.keys())} traces never pushed"
            ]
        found: list[str] = []
        for trace_id, spans in self.traces.items():
            pushed = {span.span_id: span for span in spans}
            came = {span.span_id: span for span in pulled[trace_id]}
            if pushed.keys() != came.keys():
                found.append(f"trace {trace_id}: spans {sorted(pushed.keys() ^ came.keys())}")
                continue
            found.extend(
                f"span {span_id} was pushed as {span}, came back as {came[span_id]}"
                for span_id, span in pushed.items()
                if came[span_id] != span
            )
        return found

    def write_otlp_json_lines(self, path: Path) -> Path:
        """One OTLP/JSON document per trace per line, as ``spanwise tempo pull`` writes."""
        with path.open("wb") as sink:
            for spans in self.traces.values():
                sink.write(encode_otlp_json(spans) + b"\n")
        return path


def push_sample(
    tempo: TempoInstance, *, seed: int, traces: int, spread_s: float, org_id: str | None = None
) -> PushedSample:
    """Generate the sample system's traces, ending now, and POST them to Tempo's OTLP/HTTP
    receiver with Spanwise's own exporter, protobuf and JSON in turn, gzipped."""
    config = SampleConfig(
        seed=seed,
        traces=traces,
        end_time_unix_nano=time.time_ns() - ENDS_BEFORE_NOW_S * 10**9,
        spread_s=spread_s,
    )
    return push_traces(tempo, [t.spans for t in generate_traces(config)], org_id)


def push_unfamiliar(
    tempo: TempoInstance, *, seed: int, traces: int, spread_s: float, org_id: str | None = None
) -> PushedSample:
    """As ``push_sample``, a system the discovery code never saw (``app.sample.unfamiliar``):
    ids of shapes no rule knows, which discovery has to learn."""
    config = UnfamiliarConfig(
        seed=seed,
        traces=traces,
        end_time_unix_nano=time.time_ns() - ENDS_BEFORE_NOW_S * 10**9,
        spread_s=spread_s,
    )
    return push_traces(tempo, [t.spans for t in generate_unfamiliar(config)], org_id)


def push_traces(
    tempo: TempoInstance, traces: list[list[Span]], org_id: str | None = None
) -> PushedSample:
    """POST the traces to Tempo's OTLP/HTTP receiver, protobuf and JSON in turn, gzipped."""
    by_trace = {spans[0].trace_id: spans for spans in traces}
    assert len(by_trace) == len(traces), "a trace id came twice"
    with httpx.Client(headers=org_id_headers(org_id), timeout=30) as http:
        for number, batch in enumerate(_whole_traces(by_trace.values())):
            result = export_spans(
                http, f"{tempo.otlp_http}/v1/traces", batch, protobuf=number % 2 == 0, compress=True
            )
            assert result.rejected == 0, f"Tempo rejected spans: {result.error_message}"
    spans = [span for trace_spans in by_trace.values() for span in trace_spans]
    return PushedSample(
        traces=by_trace,
        start_s=min(span.start_unix_nano for span in spans) // 10**9,
        end_s=max(span.end_unix_nano for span in spans) // 10**9 + 1,
        org_id=org_id,
    )


def _whole_traces(traces: Iterable[list[Span]]) -> Iterator[list[Span]]:
    """Batches of about ``SPANS_PER_REQUEST`` spans that never split a trace: once Tempo's
    search finds a trace, all of its spans are in Tempo, and a pull gets it whole."""
    batch: list[Span] = []
    for spans in traces:
        batch.extend(spans)
        if len(batch) >= SPANS_PER_REQUEST:
            yield batch
            batch = []
    if batch:
        yield batch


def wait_until_searchable(tempo: TempoInstance, sample: PushedSample) -> None:
    """Poll Tempo's search until it finds every pushed trace in the window."""
    pushed = set(sample.traces)

    def found() -> set[str]:
        return search_trace_ids(
            tempo, sample.start_s, sample.end_s, limit=2 * len(pushed) + 100, org_id=sample.org_id
        )

    poll(
        found,
        lambda ids: pushed <= ids,
        timeout_s=INGEST_TIMEOUT_S,
        failure=lambda ids: (
            f"Tempo's search finds {len(pushed & ids)} of the {len(pushed)} "
            f"pushed traces (see {tempo.log})"
        ),
    )


def wait_until_counted(tempo: TempoInstance, sample: PushedSample) -> None:
    """Poll Tempo's TraceQL metrics until they count every pushed span in the window: the
    metrics-generator sees spans a little after search does."""
    expected = sample.span_count
    counted = poll(
        lambda: instant_count(tempo, "{ }", sample.start_s, sample.end_s, org_id=sample.org_id),
        lambda counted: counted >= expected,
        timeout_s=INGEST_TIMEOUT_S,
        failure=lambda counted: (
            f"Tempo's metrics count {counted} of the {expected} pushed spans (see {tempo.log})"
        ),
    )
    assert counted == expected, f"Tempo's metrics count {counted} spans; {expected} were pushed"
