"""One discovery run over a Tempo window, for callers that are not the CLI (the API).

The CLI's ``discover`` does the same with a progress bar; both pull through
``TempoClient.pull`` (a sample per slice, or every trace) and feed ``DiscoveryRun``.
"""

from __future__ import annotations

from contextlib import aclosing

from app.discovery.normalize import normalize
from app.discovery.run import DiscoveryRun, RunReport
from app.discovery.store import PatternStore
from app.factory import build_tempo_client
from app.settings import Settings
from connectors.tempo_sample import SamplePlan


async def discover_tempo_window(
    settings: Settings,
    store: PatternStore,
    window: tuple[int, int],
    *,
    query: str = "{}",
    plan: SamplePlan | None = None,
) -> RunReport:
    """Pull the window (sampled per ``plan``, or every trace) and discover its patterns."""
    run = DiscoveryRun(store, normalize)
    run.source = {
        "kind": "tempo",
        "url": settings.tempo_url,
        "tenant": settings.tempo_tenant,
        "query": query,
        "start": window[0],
        "end": window[1],
        "sample": None if plan is None else [plan.slice_s, plan.traces_per_slice],
    }
    async with build_tempo_client(settings) as client:
        traces = client.pull(query, start=window[0], end=window[1], sample=plan)
        async with aclosing(traces):
            async for _trace_id, spans in traces:
                run.accept(spans)
    return run.finish()
