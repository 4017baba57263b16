"""Prometheus metrics of Spanwise itself, served at ``/metrics``.

Defined once per process in prometheus_client's default registry. Label values are kept
to small sets (route templates, never raw paths; error class names; ``prompt`` or
``completion``), so the number of series stays bounded whatever the traffic.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "spanwise_http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "spanwise_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CHAT_ANSWERS = Counter(
    "spanwise_chat_answers",
    "Questions answered: offline (the facts written out) or by a model.",
    ["mode"],
)
MODEL_CALLS = Counter(
    "spanwise_model_calls",
    "Calls to the language model, by purpose (classify, answer, judge) and outcome.",
    ["purpose", "outcome"],
)
MODEL_TOKENS = Counter(
    "spanwise_model_tokens",
    "Tokens the model read (prompt) and wrote (completion), by purpose.",
    ["purpose", "kind"],
)
MODEL_COST = Counter(
    "spanwise_model_cost_usd",
    "Estimated cost of model calls in US dollars, from the configured prices per token.",
    ["purpose"],
)
MODEL_REFUSED = Counter(
    "spanwise_model_calls_refused",
    "Model calls refused because too many were running and waiting (answered 429).",
)
DISCOVERY_SPANS = Counter("spanwise_discovery_spans", "Spans discovery has read.")
DISCOVERY_SPANS_PER_SECOND = Gauge(
    "spanwise_discovery_spans_per_second", "Spans per second of the last discovery run."
)
PATTERNS = Gauge("spanwise_patterns", "Live span patterns after the last discovery run.")
TEMPO_ERRORS = Counter(
    "spanwise_tempo_errors", "Errors talking to Tempo, by kind (the error's class).", ["kind"]
)


def record_model_call(
    purpose: str,
    outcome: str,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    *,
    usd_per_million: tuple[float, float] = (0.0, 0.0),
) -> None:
    """One model call: its outcome, its tokens and what they cost at the given prices."""
    MODEL_CALLS.labels(purpose, outcome).inc()
    if prompt_tokens:
        MODEL_TOKENS.labels(purpose, "prompt").inc(prompt_tokens)
    if completion_tokens:
        MODEL_TOKENS.labels(purpose, "completion").inc(completion_tokens)
    cost = (prompt_tokens * usd_per_million[0] + completion_tokens * usd_per_million[1]) / 1e6
    if cost:
        MODEL_COST.labels(purpose).inc(cost)
