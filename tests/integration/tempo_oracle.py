"""What Tempo itself says, asked over plain HTTP: the ground truth Spanwise is compared with.

It goes around Spanwise's ``TempoClient`` on purpose, so that a defect there cannot hide by
agreeing with itself.

Counts come from instant queries (``/api/metrics/query``), not from summing a range query's
steps: measured on Tempo 2.10.8, an instant query counts exactly the spans that *start* in
``[start, end)``, while ``/api/metrics/query_range`` aligns its steps to multiples of the
step, so a window that does not begin and end on a step boundary counts the spans of whole
steps beyond both of its ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx

from tests.integration.tempo_process import TempoInstance

T = TypeVar("T")
Labels = dict[str, object]
POLL_INTERVAL_S = 0.5


def org_id_headers(org_id: str | None) -> dict[str, str]:
    return {"X-Scope-OrgID": org_id} if org_id else {}


def poll(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout_s: float,
    failure: Callable[[T], str],
) -> T:
    """Ask ``probe`` until ``done`` says its answer is complete, and return that answer;
    fail with ``failure(last answer)`` when none is within ``timeout_s``. Never a fixed sleep:
    Tempo takes 10-15 s to make pushed spans searchable, more on a loaded machine."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = probe()
        if done(answer):
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout_s:.0f} s, {failure(answer)}")
        time.sleep(POLL_INTERVAL_S)


def search_trace_ids(
    tempo: TempoInstance, start_s: int, end_s: int, *, limit: int, org_id: str | None = None
) -> set[str]:
    """The 32-hex ids of the traces Tempo's search finds in the window (up to ``limit``)."""
    answer = httpx.get(
        f"{tempo.url}/api/search",
        params={"q": "{}", "start": start_s, "end": end_s, "limit": limit, "spss": 1},
        headers=org_id_headers(org_id),
        timeout=30,
    )
    answer.raise_for_status()
    return {trace["traceID"].rjust(32, "0") for trace in answer.json().get("traces", [])}


def instant_series(
    tempo: TempoInstance, query: str, start_s: int, end_s: int, *, org_id: str | None = None
) -> list[tuple[Labels, float]]:
    """Each series of a TraceQL metrics instant query: its labels and its value."""
    answer = httpx.get(
        f"{tempo.url}/api/metrics/query",
        params={"q": query, "start": start_s, "end": end_s},
        headers=org_id_headers(org_id),
        timeout=60,
    )
    return _series(answer, query)


def instant_count(
    tempo: TempoInstance, spanset: str, start_s: int, end_s: int, *, org_id: str | None = None
) -> int:
    """How many spans of ``spanset`` start in ``[start_s, end_s)``, by ``count_over_time``."""
    query = f"{spanset} | count_over_time()"
    return _count(instant_series(tempo, query, start_s, end_s, org_id=org_id))


async def instant_counts(
    tempo: TempoInstance,
    spansets: Sequence[str],
    start_s: int,
    end_s: int,
    *,
    concurrency: int = 4,
    org_id: str | None = None,
) -> list[int]:
    """``instant_count`` of each spanset, a few at a time (Tempo runs on two cores here)."""
    gate = asyncio.Semaphore(concurrency)
    headers = org_id_headers(org_id)
    async with httpx.AsyncClient(base_url=tempo.url, timeout=120, headers=headers) as http:

        async def one(spanset: str) -> int:
            query = f"{spanset} | count_over_time()"
            async with gate:
                answer = await http.get(
                    "/api/metrics/query", params={"q": query, "start": start_s, "end": end_s}
                )
            return _count(_series(answer, query))

        return list(await asyncio.gather(*(one(spanset) for spanset in spansets)))


def shorten(query: str, keep: int = 300) -> str:
    """A query for a failure message: SQL patterns' regexes run to kilobytes."""
    if len(query) <= keep:
        return query
    return f"{query[: keep // 2]} ...[{len(query) - keep:,} characters]... {query[-keep // 2 :]}"


def _series(answer: httpx.Response, query: str) -> list[tuple[Labels, float]]:
    if not answer.is_success:
        raise AssertionError(
            f"Tempo answered {answer.status_code} to {shorten(query)}: {answer.text[:500]}"
        )
    found: list[tuple[Labels, float]] = []
    for series in answer.json().get("series", []):
        labels = {label["key"]: _label_value(label["value"]) for label in series["labels"]}
        found.append((labels, float(series.get("value", 0))))  # Tempo leaves out a zero
    return found


def _label_value(value: dict[str, Any]) -> object:
    """``{"doubleValue": 0.5}`` -> 0.5: the one typed value OTLP's AnyValue holds."""
    return next(iter(value.values()), None)


def _count(series: list[tuple[Labels, float]]) -> int:
    total = sum(value for _, value in series)
    if not float(total).is_integer():
        raise AssertionError(f"a count that is not whole: {series}")
    return int(total)
