"""Spanwise traces its own work: model calls with the GenAI conventions, discovery stages,
exported over OTLP when configured, to any OTLP receiver, Spanwise's own included."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import respx
import uvicorn
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.api.server import create_app
from app.chat.model_answer import answerer_from_settings
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings
from connectors.spans import Span
from tests.openai_replies import chat_completion

MODEL = "http://model.test/v1"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def exported() -> InMemorySpanExporter:
    """An in-memory exporter behind the process's tracer provider (set once per process)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


def test_a_model_call_is_a_client_span_with_the_genai_attributes(
    exported: InMemorySpanExporter, tmp_path: Path, no_network: respx.MockRouter
) -> None:
    no_network.post(f"{MODEL}/chat/completions").mock(
        return_value=chat_completion("Fine.", prompt_tokens=321, completion_tokens=12, model="m")
    )
    exported.clear()
    answerer = answerer_from_settings(
        Settings(data_dir=tmp_path, model_base_url=MODEL, model_name="local-llama")
    )
    assert answerer is not None
    answerer.answer("how is it?", [], [{"pattern": "x"}], [])
    spans = [s for s in exported.get_finished_spans() if s.name == "chat local-llama"]
    assert len(spans) == 1
    attributes = dict(spans[0].attributes or {})
    assert spans[0].kind is trace.SpanKind.CLIENT
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "local-llama"
    assert attributes["gen_ai.usage.input_tokens"] == 321
    assert attributes["gen_ai.usage.output_tokens"] == 12


class _Collected:
    def __init__(self) -> None:
        self.spans: list[Span] = []

    def accept(self, spans: Sequence[Span]) -> None:
        self.spans.extend(spans)


def test_spanwise_exports_its_own_traces_to_an_otlp_receiver_its_own_included(
    tmp_path: Path,
) -> None:
    collected = _Collected()
    summary = IngestSummary()
    app = create_app(Settings(data_dir=tmp_path), SpanPipeline([summary, collected]), summary)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        env = {
            **os.environ,
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_SERVICE_NAME": "spanwise-under-test",
        }
        script = (
            "import sys\n"
            "from pathlib import Path\n"
            "from opentelemetry import trace\n"
            "from app.telemetry.tracing import configure_tracing\n"
            "from app.discovery.run import discover_sample\n"
            "from app.discovery.store import PatternStore\n"
            "assert configure_tracing()\n"
            "discover_sample(PatternStore(Path(sys.argv[1])), 1, 30)\n"
            "trace.get_tracer_provider().shutdown()\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "p.sqlite")],
            cwd=REPO,
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
    finally:
        server.should_exit = True
        thread.join(10)
    own = [s for s in collected.spans if s.service_name == "spanwise-under-test"]
    names = {s.name for s in own}
    assert {"discovery.cluster", "discovery.save"} <= names
    assert all(s.attributes.get("spanwise.spans", 1) > 0 for s in own)
