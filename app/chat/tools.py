"""The tools a model may call to answer, as plain functions over one chat service (and the
process's Tempo client, when a Tempo is configured).

Each returns a JSON-ready dict, and raises ``ToolInputError`` with a sentence saying what to
fix when its arguments cannot be used. The lookups are the offline answers' own computation
(``ChatService.lookup``): a pattern's facts, a comparison and "what changed" are exactly what
Spanwise says without a model, so a model cannot be told something the facts would not say.
Arguments are checked before they are used: a pattern name is a name, a window must read as
a window, a trace id is hex. Span data in the results is redacted as the facts always are;
the agent fences it as data (``app.chat.agent``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.chat.time_window import TimeWindow, WindowProblem, window_asked
from app.tempo_runner import TempoRunner, tempo_trace

if TYPE_CHECKING:
    from app.chat.service import ChatAnswer, ChatService

NAME = re.compile(r"@?([A-Za-z0-9_.\-]{1,200})")
TRACE_ID = re.compile(r"[0-9a-fA-F]{1,32}")
MAX_FOUND = 10
MAX_TRACES = 20
MAX_SERIES = 20
MAX_TRACE_SPANS = 60
"""Spans of a fetched trace shown to a model: the first ones by start, and how many more."""


class ToolInputError(ValueError):
    """Arguments a tool cannot use; the message says what to send instead."""


class ChatTools:
    def __init__(
        self,
        service: ChatService,
        tempo: TempoRunner | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._service = service
        self._tempo = tempo
        self._clock = clock

    @property
    def has_tempo(self) -> bool:
        return self._tempo is not None

    def find_patterns(self, words: str, limit: int = 5) -> dict[str, Any]:
        """Patterns whose names, services or descriptions match ``words``."""
        if not words.strip():
            raise ToolInputError("words is empty: give a few words, like 'checkout payments'")
        found = self._service.find_patterns(words, max(1, min(limit, MAX_FOUND)))
        return {"patterns": found, "found": len(found)}

    def pattern_facts(self, name: str, window: str | None = None) -> dict[str, Any]:
        """One pattern's facts: latency, errors, callers, callees, where its time goes;
        its numbers in ``window`` against the window before, when one is given."""
        return self._looked_up(f"@{_name(name)} {self._window_words(window)}")

    def compare_patterns(self, names: list[str], window: str | None = None) -> dict[str, Any]:
        if not 2 <= len(names) <= 3:
            raise ToolInputError(f"names holds {len(names)} names: compare 2 or 3 patterns")
        mentions = " and ".join(f"@{_name(name)}" for name in names)
        return self._looked_up(f"compare {mentions} {self._window_words(window)}")

    def what_changed(
        self, window: str | None = None, include_noise: bool = False
    ) -> dict[str, Any]:
        noise = " including noise" if include_noise else ""
        return self._looked_up(f"what changed {self._window_words(window)}{noise}")

    def root_cause(self, window: str | None = None, reference: str | None = None) -> dict[str, Any]:
        """Which service a window's change started in, against the window before it or
        ``reference`` ("yesterday", "14:00 to 14:30")."""
        against = ""
        if reference is not None and reference.strip():
            if not re.fullmatch(r"[\w:.\- ]{1,80}", reference.strip()):
                raise ToolInputError(f"reference {reference!r} is not a time: try 'yesterday'")
            against = f" compared with {reference.strip()}"
        return self._looked_up(f"root cause {self._window_words(window)}{against}")

    def search_traces(
        self, traceql: str, window: str = "last 1 hour", limit: int = 10
    ) -> dict[str, Any]:
        """Traces matching a TraceQL query in Tempo, in ``window``."""
        runner = self._need_tempo()
        if not traceql.strip().startswith("{"):
            raise ToolInputError(
                'traceql must be a TraceQL query, like { resource.service.name = "checkout" }'
            )
        start, end = self._window_bounds(window)

        async def search(client: Any) -> Any:
            return await client.search(
                traceql, start=start, end=end, limit=max(1, min(limit, MAX_TRACES))
            )

        result = runner.run(search)
        return {
            "traceql": traceql,
            "window": {"start_unix_s": start, "end_unix_s": end},
            "traces": [
                {
                    "trace_id": trace.trace_id,
                    "root_service": trace.root_service_name,
                    "root_name": trace.root_trace_name,
                    "start_unix_s": trace.start_unix_nano // 1_000_000_000,
                    "duration_ms": trace.duration_ms,
                }
                for trace in result.traces
            ],
        }

    def traceql_metrics(self, query: str, window: str = "last 1 hour") -> dict[str, Any]:
        """A TraceQL metrics query over ``window`` in Tempo, one value per series."""
        runner = self._need_tempo()
        if "|" not in query or not query.strip().startswith("{"):
            raise ToolInputError(
                "query must be a TraceQL metrics query: a span set, then | rate(), "
                "| count_over_time() or | quantile_over_time(duration, .99)"
            )
        start, end = self._window_bounds(window)

        async def ask(client: Any) -> Any:
            return await client.metrics_instant(query, start=start, end=end)

        result = runner.run(ask)
        return {
            "query": query,
            "window": {"start_unix_s": start, "end_unix_s": end},
            "series": [
                {"labels": dict(series.labels), "value": series.value}
                for series in result.series[:MAX_SERIES]
            ],
            "series_not_shown": max(len(result.series) - MAX_SERIES, 0),
        }

    def fetch_trace(self, trace_id: str) -> dict[str, Any]:
        """A whole trace from Tempo: its spans in start order, redacted."""
        runner = self._need_tempo()
        if not TRACE_ID.fullmatch(trace_id.strip()):
            raise ToolInputError(f"{trace_id!r} is not a trace id: up to 32 hex digits")
        wanted = trace_id.strip().lower().rjust(32, "0")
        spans = tempo_trace(runner, wanted)
        return {
            "trace_id": wanted,
            "spans": spans[:MAX_TRACE_SPANS],
            "spans_not_shown": max(len(spans) - MAX_TRACE_SPANS, 0),
        }

    # -- helpers -----------------------------------------------------------------------------

    def _looked_up(self, question: str) -> dict[str, Any]:
        answer: ChatAnswer = self._service.lookup(question.strip())
        if not answer.facts and not answer.citations:
            raise ToolInputError(answer.answer)  # no pattern by that name, a window not read
        return {
            "window": answer.window,
            "facts": answer.facts,
            "summary": answer.answer,
        }

    def _window_words(self, window: str | None) -> str:
        """The window as words the lookup reads back the same way; a window that cannot
        be read is an error, not a window ignored."""
        if window is None or not window.strip():
            return ""
        asked = window_asked(window, self._clock())
        if isinstance(asked, WindowProblem):
            raise ToolInputError(asked.message)
        if asked is None:
            raise ToolInputError(
                f"window {window!r} is not a time window: write it like 'last 10 minutes', "
                "'15:18 to 15:22', 'yesterday' or '2026-11-21T15:18Z to 2026-11-21T15:22Z'"
            )
        return _as_words(asked)

    def _window_bounds(self, window: str) -> tuple[int, int]:
        asked = window_asked(window, self._clock())
        if isinstance(asked, WindowProblem):
            raise ToolInputError(asked.message)
        if asked is None:
            raise ToolInputError(f"window {window!r} is not a time window: try 'last 1 hour'")
        return asked.start_s, asked.end_s

    def _need_tempo(self) -> TempoRunner:
        if self._tempo is None:
            raise ToolInputError("no Tempo is configured: use the pattern tools instead")
        return self._tempo


def _name(text: str) -> str:
    found = NAME.fullmatch(text.strip())
    if found is None:
        raise ToolInputError(
            f"{text!r} is not a pattern name: names are like postgres_query_select_orders "
            "(find_patterns finds them)"
        )
    return found.group(1)


def _as_words(window: TimeWindow) -> str:
    """A window as words that read back as exactly it: ISO times, unless the words were
    relative to now and are read the same way again."""
    iso = "%Y-%m-%dT%H:%M:%SZ"
    start = time.strftime(iso, time.gmtime(window.start_s))
    end = time.strftime(iso, time.gmtime(window.end_s))
    if window.clock_only:
        return window.said  # let the lookup move bare clock times to a day with spans
    return f"from {start} to {end}"
