"""OpenTelemetry traces of Spanwise's own work, exported by OTLP when configured.

Set ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) and
``configure_tracing`` installs a tracer provider that sends spans over OTLP/HTTP, with the
standard ``OTEL_*`` variables read by the SDK (headers, service name, sampler). Without
them the API's no-op tracer is left in place: a span costs next to nothing. Spans cover
discovery stages, retrieval and model calls; model calls carry the GenAI semantic
conventions (``gen_ai.operation.name``, ``gen_ai.request.model``, ``gen_ai.usage.*``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_configured: list[bool] = []


def tracer() -> trace.Tracer:
    return trace.get_tracer("spanwise")


def configure_tracing(service_name: str = "spanwise") -> bool:
    """Export spans when an OTLP endpoint is configured; whether it is. Safe to call twice."""
    if _configured:
        return _configured[0]
    if not any(os.environ.get(name) for name in _ENDPOINT_VARIABLES):
        _configured.append(False)
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured.append(True)
    return True


@contextmanager
def model_call_span(operation: str, model: str, purpose: str) -> Iterator[Span]:
    """A client span of one model call, named as the GenAI conventions ask."""
    with tracer().start_as_current_span(
        f"{operation} {model}",
        kind=SpanKind.CLIENT,
        attributes={
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": model,
            "spanwise.purpose": purpose,
        },
    ) as span:
        yield span


def record_usage(span: Span, prompt_tokens: int, completion_tokens: int) -> None:
    span.set_attribute("gen_ai.usage.input_tokens", prompt_tokens)
    span.set_attribute("gen_ai.usage.output_tokens", completion_tokens)
