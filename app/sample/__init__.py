"""The sample shop: a seeded generator of realistic OpenTelemetry traces, with faults.

``generate_traces(SampleConfig(...))`` yields the traces of a seven-service shop lazily, each
with the ground-truth operation label of every span; ``faults_by_name`` turns names such as
``slow_query`` into faults that change the shop's behaviour during a window.
"""

from app.sample.faults import (
    DEFAULT_WINDOWS,
    DESCRIPTIONS,
    Fault,
    FaultName,
    faults_by_name,
)
from app.sample.generator import GeneratedTrace, SampleConfig, generate_spans, generate_traces
from app.sample.topology import OPERATIONS, SERVICES, Operation

__all__ = [
    "DEFAULT_WINDOWS",
    "DESCRIPTIONS",
    "OPERATIONS",
    "SERVICES",
    "Fault",
    "FaultName",
    "GeneratedTrace",
    "Operation",
    "SampleConfig",
    "faults_by_name",
    "generate_spans",
    "generate_traces",
]
