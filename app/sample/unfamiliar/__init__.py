"""Traces of a system nobody shaped to fit discovery: composed at random from a seed.

``generate_traces(UnfamiliarConfig(...))`` yields the traces of five to eight services with
varied names and instrumentation habits, whose ids take shapes that shape rules do not know
(lower-case words, slugs, tenants, shards, nanoids, user names), each with many values. Each
span carries its ground-truth operation (``service|kind|what``) in ``trace.truth`` and the id
value at each variable position in ``trace.values``; ``true_operations`` lists every
operation the system can perform, with its positions, stable values and literal siblings.
``write_otlp_jsonl`` writes traces as OTLP/JSON lines for ``spanwise discover --file``.
"""

from app.sample.unfamiliar.generator import (
    UnfamiliarConfig,
    UnfamiliarTrace,
    compose,
    generate_spans,
    generate_traces,
    id_positions,
    position_descriptions,
    true_operations,
    write_otlp_jsonl,
)
from app.sample.unfamiliar.ids import IdPool, IdShape
from app.sample.unfamiliar.system import Operation, Position

__all__ = [
    "IdPool",
    "IdShape",
    "Operation",
    "Position",
    "UnfamiliarConfig",
    "UnfamiliarTrace",
    "compose",
    "generate_spans",
    "generate_traces",
    "id_positions",
    "position_descriptions",
    "true_operations",
    "write_otlp_jsonl",
]
