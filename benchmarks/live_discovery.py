"""What folding pushed spans into patterns costs while ``spanwise serve`` runs.

A store of ``--patterns`` patterns (the chat benchmark's: the sample system's, copied under
other service names), then folds of ``--spans`` sample spans each, as the receiver's live
discovery makes them every 30 s: the first fold opens the store (loads every pattern), the
later ones reuse it and cost the new spans and a save. Known spans make no new pattern, so
no fold here classifies; the time of classifying new patterns is the classify benchmark's.

    python benchmarks/live_discovery.py [--patterns 10000] [--spans 20000] [--folds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from app.discovery.run import sample_batches
from app.ingest.live_discovery import LiveDiscovery
from app.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from chat import build  # noqa: E402  (the chat benchmark's store of N patterns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", type=int, default=10_000)
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    spans = [span for batch in sample_batches(9, 4000) for span in batch][: args.spans]
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        build(Path(directory), args.patterns).close()
        print(f"{args.patterns:,} patterns stored in {time.perf_counter() - started:.0f} s")
        settings = Settings(data_dir=Path(directory), live_buffer_spans=10 * len(spans))
        live = LiveDiscovery(settings, embed=False)
        timings = []
        for _ in range(args.folds + 1):
            live.accept("default", spans)
            tick = time.perf_counter()
            (report,) = live.fold()
            timings.append(time.perf_counter() - tick)
            assert report.new_patterns == 0 or len(timings) == 1
        live.close()
    first, later = timings[0], timings[1:]
    p50 = statistics.median(later)
    print(f"first fold (opens the store, loads {args.patterns:,} patterns): {first:.2f} s")
    print(
        f"later folds of {len(spans):,} spans: p50 {p50:.2f} s, max {max(later):.2f} s "
        f"({len(spans) / p50:,.0f} spans/s); at one fold every 30 s that is "
        f"{p50 / 30:.1%} of a core"
    )


if __name__ == "__main__":
    main()
