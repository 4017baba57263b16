"""Spans of the traces in flight, held until each trace is done: what time profiles need.

A parent's critical path needs all its children (``app.discovery.time_profile``), and the
spans of one trace arrive in several batches: each service's SDK exports its own, seconds
apart. A trace is taken as done once ``close_after_spans`` spans have arrived since its last
one, or at the end of a run. Memory stays bounded whatever the stream: the buffer holds at
most ``max_spans`` spans (the traces touched longest ago close first) and keeps the first
``max_trace_spans`` of a trace.

A trace is held as one flat list, ``FIELDS`` entries per span (``spans_of`` reads them
back): strings and ints, which the garbage collector does not track, where a tuple per span
would be tracked, and tens of thousands of them alive would make its full collections
frequent. Past ``IN_FULL_SPANS``, only a sample of traces is held: time profiles are means,
and a sample of one trace in 16 keeps them sound at a sixteenth of the cost. The clusterer
appends to ``traces`` inline (a method call per span would cost
more than the append); ``batch_done`` is told which traces a batch touched.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator

HeldTrace = list[str | int | None]
"""Per span: span id, parent span id (or None), pattern id, start ns, end ns."""
HeldSpan = tuple[str, str | None, int, int, int]
FIELDS = 5

IN_FULL_SPANS = 100_000
"""Every trace is held until this many spans have been seen; then one in 2, 4, 8 and at
most ``MAX_SAMPLING`` (by a hash of its id, so each trace whole or not at all)."""
MAX_SAMPLING = 16
CLOSE_AFTER_SPANS = 20_000
MAX_SPANS = 100_000
MAX_TRACE_SPANS = 2_000
_LENGTH_BITS = 32


def spans_of(held: HeldTrace) -> Iterator[HeldSpan]:
    fields = iter(held)
    return zip(fields, fields, fields, fields, fields, strict=True)  # type: ignore[arg-type]


class TraceBuffer:
    def __init__(
        self,
        *,
        close_after_spans: int = CLOSE_AFTER_SPANS,
        max_spans: int = MAX_SPANS,
        max_trace_spans: int = MAX_TRACE_SPANS,
    ) -> None:
        self.traces: dict[str, HeldTrace] = {}
        self.max_fields = max_trace_spans * FIELDS
        """A trace's list stops growing at this length."""
        self._close_after = close_after_spans
        self._max_fields = max_spans * FIELDS
        self._touched: OrderedDict[str, int] = OrderedDict()
        """Trace id: the spans seen when it was last touched, shifted left by
        ``_LENGTH_BITS``, or'ed with its length then (an int: no tuple for the collector);
        least recently touched first."""
        self._held = 0
        self._seen = 0

    @property
    def sampling_mask(self) -> int:
        """A trace is held when the CRC-32 of its id has none of these bits set.

        Its bits only grow (1, 3, 7, 15), so a trace held at one step is held at every
        step before it: one whose spans span a step keeps the spans that came before it.
        """
        every = 1
        while every < MAX_SAMPLING and every * IN_FULL_SPANS < self._seen:
            every *= 2
        return every - 1

    @property
    def held(self) -> int:
        """Spans held (as of the last ``batch_done``)."""
        return self._held // FIELDS

    def batch_done(self, trace_ids: Iterable[str], spans: int) -> list[HeldTrace]:
        """Note the traces a batch of ``spans`` spans touched; the traces done now."""
        self._seen += spans
        touched, traces = self._touched, self.traces
        mask = (1 << _LENGTH_BITS) - 1
        for trace_id in trace_ids:
            held = traces.get(trace_id)
            if held is None:
                continue
            had = touched.pop(trace_id, 0) & mask
            self._held += len(held) - had
            touched[trace_id] = self._seen << _LENGTH_BITS | len(held)
        done: list[HeldTrace] = []
        oldest = self._seen - self._close_after
        while touched:
            trace_id, mark = next(iter(touched.items()))
            if mark >> _LENGTH_BITS > oldest and self._held <= self._max_fields:
                break
            done.append(self._close(trace_id))
        return done

    def close_all(self) -> list[HeldTrace]:
        return [self._close(trace_id) for trace_id in list(self._touched)]

    def _close(self, trace_id: str) -> HeldTrace:
        mark = self._touched.pop(trace_id)
        held = self.traces.pop(trace_id)
        self._held -= mark & ((1 << _LENGTH_BITS) - 1)
        return held
