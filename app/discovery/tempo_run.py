"""One discovery run over a Tempo window, for callers that are not the CLI (the API).

The CLI's ``discover`` does the same with a progress bar; both pull through
``TempoClient.pull`` (a sample per slice, or every trace) and feed ``DiscoveryRun``.
"""

from __future__ import annotations

from contextlib import aclosing

from app.discovery.counted import uncounted_pieces
from app.discovery.failed_traces import write_failed
from app.discovery.normalize import normalize
from app.discovery.run import DiscoveryRun, RunReport, tempo_source
from app.discovery.store import PatternStore
from app.factory import build_tempo_client
from app.settings import Settings
from connectors.tempo_sample import SamplePlan
from connectors.tempo_window import PullProgress


async def discover_tempo_window(
    settings: Settings,
    store: PatternStore,
    window: tuple[int, int],
    *,
    query: str = "{}",
    plan: SamplePlan | None = None,
) -> RunReport:
    """Pull the parts of the window no earlier run of this Tempo and query counted (sampled
    per ``plan``, or every trace), and discover their patterns (``app.discovery.counted``)."""
    source = tempo_source(settings, query, plan)
    counted = [recorded for recorded, _ in store.runs()]
    pieces = uncounted_pieces(counted, source, window)
    run = DiscoveryRun(store, normalize)
    if not pieces:
        run.report.seconds = 0.0
        return run.report  # all of it counted before: nothing to pull, nothing to save
    run.source = pieces[0].record(source)
    failed: list[tuple[str, str]] = []
    async with build_tempo_client(settings) as client:
        for piece in pieces:
            start, end, at_end = piece.pull_window()
            progress = PullProgress()

            def remember(counts: PullProgress) -> None:
                nonlocal progress
                progress = counts

            traces = client.pull(
                query,
                start=start,
                end=end,
                sample=plan,
                before=piece.before,
                at_end=at_end,
                on_progress=remember,
            )
            async with aclosing(traces):
                async for _trace_id, spans in traces:
                    run.accept(spans)
            failed += progress.traces_failed
    report = run.finish()
    if failed:  # the rest is saved; these are kept for a resume, and said
        write_failed(store.path, failed, query)
        report.problems.append(
            f"{len(failed):,} traces could not be fetched after retries (first: "
            f"{failed[0][0]}: {failed[0][1]}); `spanwise discover --resume` fetches them"
        )
    for piece in pieces[1:]:
        store.record_run(piece.record(source), 0)
    return report
