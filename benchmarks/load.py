"""A bounded load test of ``spanwise serve`` on loopback: concurrent chat users, no model.

Starts the real server (a subprocess, tokens required as off loopback) on the sample
system's patterns, gives each simulated user a read token of its own, and has every user
ask questions back to back for ``--seconds``: @mentions, misspelt mentions and questions
naming a service. Prints how many answers were 2xx, 429 (over the per-token question rate,
``SPANWISE_CHAT_REQUESTS_PER_MINUTE``) and 5xx, and the latency of the answered ones.
No 5xx and no hang is the bar; 429s show the limit at work.

    python benchmarks/load.py [--users 50] [--seconds 60] [--per-minute 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from app.auth.tokens import Role, TokenStore, auth_store_path
from app.classify.run import classify_patterns
from app.discovery.normalize import normalize
from app.discovery.run import DiscoveryRun, pattern_store_path, sample_batches, sample_source
from app.discovery.store import PatternStore
from app.sample import faults_by_name


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(data_dir: Path) -> list[str]:
    store = PatternStore(pattern_store_path(data_dir))
    faults = faults_by_name(["slow_query"])
    run = DiscoveryRun(store, normalize, source=sample_source(42, 1000, faults))
    for batch in sample_batches(42, 1000, faults):
        run.accept(batch)
    run.finish()
    classify_patterns(store)
    names = [p.name for p in store.load(sketches=False) if p.stats.count]
    store.close()
    return names


def questions(names: list[str], rng: random.Random) -> str:
    name = rng.choice(names)
    return rng.choice(
        [
            f"@{name} why is this slow?",
            f"@{name} what's the error rate?",
            f"@{name[:-1]} who calls it?",
            "why is checkout slow?",
            "what does payment call?",
        ]
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def user(
    base: str, token: str, names: list[str], until: float, seed: int
) -> tuple[Counter[int], list[float]]:
    rng = random.Random(seed)
    codes: Counter[int] = Counter()
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                answer = await client.post("/api/chat", json={"question": questions(names, rng)})
            except httpx.TimeoutException:
                codes[0] += 1  # a hang: counted apart
                continue
            codes[answer.status_code] += 1
            if answer.status_code == 200:
                latencies.append(time.perf_counter() - started)
            elif answer.status_code == 429:
                await asyncio.sleep(min(float(answer.headers.get("retry-after", "1")), 1.0))
    return codes, latencies


async def load(base: str, tokens: list[str], names: list[str], seconds: float) -> None:
    until = time.monotonic() + seconds
    results = await asyncio.gather(
        *(user(base, token, names, until, seed) for seed, token in enumerate(tokens))
    )
    codes: Counter[int] = Counter()
    latencies: list[float] = []
    for user_codes, user_latencies in results:
        codes.update(user_codes)
        latencies.extend(user_latencies)
    total = sum(codes.values())
    fives = sum(n for code, n in codes.items() if code >= 500)
    print(
        f"{len(tokens)} users for {seconds:.0f} s: {total:,} requests, "
        f"{codes[200]:,} answered, {codes[429]:,} refused with 429, {fives} 5xx, "
        f"{codes[0]} timed out"
    )
    print(
        f"answered latency: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms "
        f"({codes[200] / seconds:.0f} answers/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--per-minute", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        names = prepare(data_dir)
        store = TokenStore(auth_store_path(data_dir))
        tokens = [store.create("default", Role.READ, f"user {n}")[1] for n in range(args.users)]
        store.close()
        port = free_port()
        env = {
            **os.environ,
            "SPANWISE_AUTH_REQUIRED": "true",
            "SPANWISE_CHAT_REQUESTS_PER_MINUTE": str(args.per_minute),
        }
        command = [sys.executable, "-c", "from app.cli.main import main; main()"]
        command += ["--data-dir", str(data_dir), "serve", "--port", str(port)]
        server = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            print(f"{len(names)} patterns; limit {args.per_minute} questions/min per token")
            asyncio.run(load(base, tokens, names, args.seconds))
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
