"""The pattern explorer's pages over 10,000 stored patterns: server time and browser load.

Patterns: built as ``benchmarks/chat.py`` builds them (the sample system with the
slow_query fault, copied under other service names until ``--patterns`` exist, classified
offline, in a real pattern store). The app runs under uvicorn as ``spanwise serve`` runs it.
First, the patterns page right after start and right after a correction, when the
explorer reads every pattern's head from the store (``app.web.catalog.Snapshots``). Then
for each page: the time until the whole HTML has arrived over HTTP (median and slowest of
``--repeat``), its size, and, when Debian's Chromium is installed, the time headless
Chromium takes from navigation to the load event (Navigation Timing), which adds parsing,
the stylesheet, the scripts and layout. Aim: every page under 1 s. The benchmark records one
correction (a description set to what it already says).

    python benchmarks/explorer.py [--patterns 10000] [--repeat 5] [--data-dir DIR]

``--data-dir`` keeps the built store there and reuses it on the next run.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from app.api.server import create_app
from app.discovery.heads import read_heads
from app.discovery.run import pattern_store_path
from app.discovery.store import PatternStore
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parents[1]))  # for the tests' Chromium, as they drive it
from chat import build  # noqa: E402  (the chat benchmark's store of N patterns)

from tests.headless_chromium import chromium_missing, start_chromium  # noqa: E402


def pages(store: PatternStore) -> list[tuple[str, str]]:
    """(label, path) of the pages to time, chosen from the store's own patterns."""
    heads = [h for h in read_heads(store) if h.live]
    busiest = max(heads, key=lambda h: h.count)
    linked = max(heads, key=lambda h: len(h.parents) + len(h.children))
    service = busiest.service
    trace = ""
    for pattern in store.load_ids([busiest.id]).values():
        trace = pattern.stats.slowest_spans()[0].trace_id
    return [
        ("patterns, grouped by service", "/"),
        ("patterns, one list by p99", "/?sort=p99&group=none"),
        ("patterns, by error rate, page 20", "/?sort=errors&group=none&page=20"),
        ("patterns, words search", "/?q=select+products"),
        ("patterns, client kind, keep", "/?kind=client&verdict=keep"),
        ("patterns, one service", f"/?service={service}"),
        ("pattern, the busiest", f"/patterns/{busiest.name}"),
        ("pattern, most graph links", f"/patterns/{linked.name}"),
        ("trace waterfall", f"/traces/{trace}"),
        ("service map", "/services"),
        ("chat page", "/chat"),
        ("@ autocomplete", "/chat/names?q=postgres_query_sel"),
    ]


def serve(data_dir: Path) -> tuple[str, uvicorn.Server, threading.Thread]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    summary = IngestSummary()
    app = create_app(Settings(data_dir=data_dir), SpanPipeline([summary]), summary)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


def browser_load_ms(base: str, paths: list[str], repeat: int) -> dict[str, list[float]] | None:
    if chromium_missing():
        return None
    driver = start_chromium(Path(tempfile.mkdtemp(prefix="explorer-bench-")))
    found: dict[str, list[float]] = {}
    try:
        for path in paths:
            for _ in range(repeat):
                driver.get(base + path)  # returns once the load event has fired
                entry = driver.execute_script(
                    "const n = performance.getEntriesByType('navigation')[0];"
                    "return [n.startTime, n.responseEnd, n.loadEventEnd];"
                )
                found.setdefault(path, []).append(float(entry[2]) - float(entry[0]))
    finally:
        driver.quit()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        path = pattern_store_path(data_dir)
        started = time.perf_counter()
        if path.exists():
            store = PatternStore(path)
            print(f"reusing {path}: {store.count():,} patterns")
        else:
            store = build(data_dir, args.patterns)
            print(f"{store.count():,} patterns stored in {time.perf_counter() - started:.0f} s")
        chosen = pages(store)
        store.close()

        base, server, thread = serve(data_dir)
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                tick = time.perf_counter()
                client.get("/").raise_for_status()
                first_ms = (time.perf_counter() - tick) * 1000
                print(f"\nfirst patterns page after start (reads every pattern): {first_ms:.0f} ms")
                busiest = chosen[6][1].removeprefix("/patterns/")
                description = client.get(f"/api/patterns/{busiest}").json()["classification"]
                client.post(
                    f"/api/patterns/{busiest}/corrections",
                    json={"field": "description", "value": description["description"]},
                ).raise_for_status()
                tick = time.perf_counter()
                client.get("/").raise_for_status()
                changed_ms = (time.perf_counter() - tick) * 1000
                print(f"patterns page after a correction (reads them again): {changed_ms:.0f} ms")
                print(f"\n{'page':34} {'server p50':>11} {'slowest':>9} {'size':>9}")
                for label, page in chosen:
                    timings = []
                    size = 0
                    for _ in range(args.repeat):
                        tick = time.perf_counter()
                        answer = client.get(page)
                        timings.append((time.perf_counter() - tick) * 1000)
                        answer.raise_for_status()
                        size = len(answer.content)
                    print(
                        f"{label:34} {statistics.median(timings):8.0f} ms "
                        f"{max(timings):6.0f} ms {size / 1024:6.0f} KB"
                    )
            loads = browser_load_ms(base, [page for _, page in chosen], args.repeat)
            if loads is None:
                print("\nno Chromium at /usr/bin/chromium: browser load times not measured")
            else:
                print(f"\n{'page, in headless Chromium':34} {'load p50':>11} {'slowest':>9}")
                for label, page in chosen:
                    times = loads[page]
                    print(f"{label:34} {statistics.median(times):8.0f} ms {max(times):6.0f} ms")
        finally:
            server.should_exit = True
            thread.join(timeout=10)


if __name__ == "__main__":
    main()
