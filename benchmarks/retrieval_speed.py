"""Offline embedding speed and Chroma query latency on the sample system's patterns.

1. Embedding: ``--texts`` pattern documents (default 2,000) made from the sample system's
   described patterns, each copy with another service name, pattern name and figures, are
   embedded by the offline MiniLM (int8, onnxruntime). Times tokenizing and the model, not
   loading it (timed on its own); prints texts per second and milliseconds per text.
2. Queries: a persistent Chroma collection of ``--items`` (default 10,000) is filled with
   those vectors, each reused with a little noise (renormalized) so that embedding 10,000
   texts does not dominate the run; insertion is timed and printed. Then ``--queries``
   questions are asked: p50/p99 of a whole ``PatternIndex.search`` (embedding the question
   plus Chroma's search) and of Chroma's search alone given the question's vector.

    python benchmarks/retrieval_speed.py [--texts 2000] [--items 10000] [--queries 200]
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from app.classify.run import classify_patterns, live_patterns
from app.classify.store import ClassificationStore
from app.classify.verdict import Classification
from app.discovery.normalize import normalize
from app.discovery.patterns import SpanPattern
from app.discovery.run import DiscoveryRun, sample_batches, sample_source
from app.discovery.store import PatternStore
from retrieval.embeddings import MINILM_DIMENSIONS, MiniLMInt8
from retrieval.pattern_index import (
    PatternIndex,
    described,
    document_text,
    pattern_metadata,
    persistent_client,
)

QUESTIONS = [
    "payment provider charge card",
    "which calls go to stripe",
    "refund an order",
    "slow database queries on orders",
    "redis cache for the shopping cart",
    "publish order placed events to kafka",
    "send the order confirmation email",
    "health checks and readiness probes",
    "reserve inventory stock over grpc",
    "search products in elasticsearch",
]
REGIONS = ["eu", "us", "ap", "sa", "af"]


def sample_described(work: Path) -> list[tuple[SpanPattern, Classification]]:
    store = PatternStore(work / "patterns.sqlite")
    run = DiscoveryRun(store, normalize, source=sample_source(8, 120))
    for batch in sample_batches(8, 120):
        run.accept(batch)
    run.finish()
    classify_patterns(store)
    live = live_patterns(store.load())
    pairs = described(live, ClassificationStore(store).current(live))
    store.close()
    return pairs


def variations(
    pairs: list[tuple[SpanPattern, Classification]], count: int, seed: int = 7
) -> list[tuple[str, dict[str, str]]]:
    """``count`` (document, metadata): the sample's patterns as if run in many regions."""
    rng = random.Random(seed)
    made: list[tuple[str, dict[str, str]]] = []
    for number in range(count):
        pattern, classification = pairs[number % len(pairs)]
        copy_number = number // len(pairs)
        if copy_number:
            region = f"{REGIONS[copy_number % len(REGIONS)]}{copy_number // len(REGIONS)}"
            pattern = copy.copy(pattern)
            pattern.service = f"{pattern.service}-{region}"
            pattern.name = f"{pattern.name}_{region}"
            description = classification.description.replace(
                "About", f"In {region}, about", 1
            ).replace("p95", f"p95 {rng.randint(1, 900)} ms, p99", 1)
            classification = classification.model_copy(update={"description": description})
        text = document_text(pattern, classification)
        made.append((text, pattern_metadata(pattern, classification, text)))
    return made


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        pairs = sample_described(work)
        documents = variations(pairs, args.texts)
        texts = [text for text, _ in documents]

        started = time.perf_counter()
        model = MiniLMInt8(batch_size=args.batch_size)
        model(["load"])
        load_s = time.perf_counter() - started
        tokens = model.token_counts(texts)

        started = time.perf_counter()
        vectors = np.asarray(model(texts), dtype=np.float32)
        embed_s = time.perf_counter() - started
        print(
            f"model load: {load_s:.2f} s; embedded {len(texts):,} pattern documents "
            f"(mean {statistics.mean(tokens):.0f} tokens, max {max(tokens)}) in {embed_s:.1f} s: "
            f"{len(texts) / embed_s:,.0f} texts/s, {1000 * embed_s / len(texts):.1f} ms/text "
            f"(batch {args.batch_size})"
        )

        client = persistent_client(work)
        index = PatternIndex(client, "benchmark", embedding_function=model)
        rng = np.random.default_rng(7)
        started = time.perf_counter()
        for start in range(0, args.items, 1_000):
            rows = range(start, min(start + 1_000, args.items))
            chosen = vectors[[row % len(vectors) for row in rows]]
            noisy = chosen + rng.normal(0, 0.01, (len(rows), MINILM_DIMENSIONS))
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            index.collection.add(
                ids=[str(row) for row in rows],
                embeddings=noisy.astype(np.float32),
                documents=[documents[row % len(documents)][0] for row in rows],
                metadatas=[documents[row % len(documents)][1] for row in rows],
            )
        insert_s = time.perf_counter() - started
        print(f"inserted {index.count():,} items with their vectors in {insert_s:.1f} s")

        questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.queries)]
        whole: list[float] = []
        for question in questions:
            started = time.perf_counter()
            index.search(question, 5)
            whole.append(1000 * (time.perf_counter() - started))
        query_vectors = model(QUESTIONS)
        chroma_only: list[float] = []
        for number in range(args.queries):
            started = time.perf_counter()
            index.collection.query(
                query_embeddings=[query_vectors[number % len(QUESTIONS)]], n_results=5
            )
            chroma_only.append(1000 * (time.perf_counter() - started))
        for label, values in (
            ("search (embed question + Chroma)", whole),
            ("Chroma query alone", chroma_only),
        ):
            print(
                f"{label} over {index.count():,} items, top 5, {len(values)} queries: "
                f"p50 {percentile(values, 0.5):.1f} ms, p99 {percentile(values, 0.99):.1f} ms"
            )
        hits = index.search("payment provider charge card", 3)
        print("top 3 for 'payment provider charge card':", ", ".join(h.name for h in hits))


if __name__ == "__main__":
    main()
