"""Root cause across services on every fault the sample system injects: top-1 and top-3 of
Spanwise's ranking (each service's own change, not passed up from what it calls) against the
baseline a few lines give (services by their median server-span duration in the window over
the window before), both computed in the same run on the same spans.

Each fault runs alone, in its own window, on several seeds; the truth is the services of the
operations the fault targets. Printed per fault kind, then overall.

    python benchmarks/root_cause.py [--seeds 23 42 7 19 5] [--traces 1500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from app.classify.run import live_patterns
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.facts.activity import ActivityIndex
from app.facts.root_cause import root_causes
from app.sample import faults_by_name
from app.sample.faults import TARGETS, FaultName

END_NS = 1_795_274_715_000_000_000
SPREAD_S = 900.0


def ranked(store: PatternStore, fault: FaultName) -> tuple[list[str], list[str], float]:
    every = store.load()
    live = [p for p in live_patterns(every) if p.stats.count]
    seen = (
        min(p.stats.first_seen_unix_nano for p in live) // 10**9,
        max(p.stats.last_seen_unix_nano for p in live) // 10**9 + 1,
    )
    index = ActivityIndex(store.load_activity(), seen)
    (placed,) = faults_by_name([fault.value])
    start, end = (moment // 10**9 for moment in placed.window_ns(END_NS, SPREAD_S))
    reference = (max(2 * start - end, seen[0]), start)
    tick = time.perf_counter()
    result = root_causes(index, {p.id: p for p in every}, start, end, reference)
    seconds = time.perf_counter() - tick
    return [r.service for r in result.ranked], [s for s, _ in result.baseline], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[23, 42, 7, 19, 5])
    parser.add_argument("--traces", type=int, default=1500)
    args = parser.parse_args()
    faults = [name for name in FaultName if name is not FaultName.PROMPT_INJECTION]
    rows = []
    timings = []
    with tempfile.TemporaryDirectory() as directory:
        for fault in faults:
            truth = {label.split("|")[0] for label in TARGETS[fault]}
            hits = [0, 0, 0, 0]  # ours top-1, top-3; baseline top-1, top-3
            for seed in args.seeds:
                path = Path(directory) / f"{fault.value}-{seed}" / "patterns.sqlite"
                path.parent.mkdir()
                store = PatternStore(path)
                discover_sample(store, seed, args.traces, faults_by_name([fault.value]))
                ours, baseline, seconds = ranked(store, fault)
                store.close()
                timings.append(seconds)
                hits[0] += bool(ours) and ours[0] in truth
                hits[1] += bool(set(ours[:3]) & truth)
                hits[2] += bool(baseline) and baseline[0] in truth
                hits[3] += bool(set(baseline[:3]) & truth)
            rows.append((fault.value, hits))
    runs = len(args.seeds)
    print(f"{'fault':24} {'top-1':>7} {'top-3':>7}   {'baseline top-1':>14} {'top-3':>7}")
    totals = [0, 0, 0, 0]
    for name, hits in rows:
        totals = [t + h for t, h in zip(totals, hits, strict=True)]
        print(
            f"{name:24} {hits[0]:>3}/{runs:<3} {hits[1]:>3}/{runs:<3}   "
            f"{hits[2]:>10}/{runs:<3} {hits[3]:>3}/{runs:<3}"
        )
    every = runs * len(rows)
    print(
        f"{'all':24} {totals[0] / every:>7.0%} {totals[1] / every:>7.0%}   "
        f"{totals[2] / every:>14.0%} {totals[3] / every:>7.0%}"
    )
    timings.sort()
    print(f"ranking time per window: median {timings[len(timings) // 2] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
