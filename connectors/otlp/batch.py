"""What decoding an OTLP document yields: the good spans and the reasons for the bad ones."""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.spans import Span

MAX_SPAN_DURATION_NS = 24 * 3600 * 10**9
"""Spans longer than this are rejected, as spans with their end before their start are: a
span 292 years long (an end of 2**63-1) is a broken clock, and would skew max and p99.
``spanwise`` sets it from ``SPANWISE_MAX_SPAN_DURATION_S`` (``set_max_span_duration``)."""


def set_max_span_duration(seconds: float) -> None:
    global MAX_SPAN_DURATION_NS
    MAX_SPAN_DURATION_NS = int(seconds * 10**9)


def duration_problem(start: int, end: int) -> str | None:
    """Why a span's times cannot be those of a real span; None when they can."""
    if end < start:
        return "before startTimeUnixNano"
    if end - start > MAX_SPAN_DURATION_NS:
        hours = (end - start) / 3.6e12
        limit = MAX_SPAN_DURATION_NS / 3.6e12
        return (
            f"the span lasts {hours:,.0f} h, over the {limit:g} h a span may last "
            "(SPANWISE_MAX_SPAN_DURATION_S)"
        )
    return None


class OtlpDecodeError(ValueError):
    """A document that cannot be read as OTLP at all; nothing of it was kept.

    ``path`` points at the first problem in the document's own terms, for example
    ``resourceSpans[3].scopeSpans[0].spans[12].kind``; ``$`` is the document itself.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path != "$" else reason)
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RejectedSpan:
    """One span left out of an otherwise readable document, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(slots=True)
class DecodedBatch:
    spans: list[Span] = field(default_factory=list)
    rejected: list[RejectedSpan] = field(default_factory=list)

    def error_message(self, most: int = 5) -> str:
        """A short summary of the rejections, as OTLP's ``partialSuccess.errorMessage``."""
        if not self.rejected:
            return ""
        shown = "; ".join(str(r) for r in self.rejected[:most])
        more = len(self.rejected) - most
        suffix = f"; and {more} more" if more > 0 else ""
        return f"{len(self.rejected)} span(s) rejected: {shown}{suffix}"
